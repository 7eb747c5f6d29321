import { describe, expect, it } from 'vitest';
import type { NodeSample } from '../../src/common/events';
import { SampleHistory } from '../../src/engine/monitor/history';

const node = (t: number): NodeSample => ({
  t,
  cpuPercent: 0,
  memUsedBytes: 0,
  memTotalBytes: 0,
  diskUsedBytes: 0,
  diskTotalBytes: 0,
  gpus: [],
});

describe('SampleHistory', () => {
  it('keeps everything below its size', () => {
    const h = new SampleHistory(100);
    for (let t = 0; t < 50; t++) h.push(node(t), [{ process: 'p', pid: 1, cpuPercent: t, rssBytes: 0 }]);
    expect(h.get().node.map((n) => n.t)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(h.get().processes[49][0].cpuPercent).toBe(49);
  });

  it('thins out evenly beyond its size, covering the whole run', () => {
    const h = new SampleHistory(10);
    for (let t = 0; t < 1000; t++) h.push(node(t), []);
    const ts = h.get().node.map((n) => n.t);
    expect(ts.length).toBeLessThan(10);
    expect(ts.length).toBeGreaterThanOrEqual(4);
    expect(ts[0]).toBe(0);
    const steps = new Set(ts.slice(1).map((t, i) => t - ts[i]));
    expect(steps.size).toBe(1); // evenly spaced
    const [step] = [...steps];
    expect(1000 - ts[ts.length - 1]).toBeLessThanOrEqual(step); // up to the end of the run
    expect(h.get().processes).toHaveLength(ts.length);
  });
});
