// The resource monitor inside a real run: perf files and metrics samples (a killed worker's
// explanation: kill-explanations.test.ts).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeJob, prs, tempDir } from '../helpers';

describe('resource monitor in a run', () => {
  it('writes the perf files at resource_monitor_interval and keeps every sample', async () => {
    const dir = tempDir();
    const script = `export async function run(b) { await new Promise((r) => setTimeout(r, 700)); return b; }`;
    const spec = nodeJob(dir, {
      script,
      // ~5 s of work on 2 workers: several 1 s samples whatever the machine's speed.
      files: 14,
      spec: { resource_monitor_interval: 1, mini_batch_size: 1 },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    const perf = path.join(r.json!.run_dir, 'logs/perf/0');
    const node = readFileSync(path.join(perf, 'node_resource_usage.csv'), 'utf8').trim().split('\n');
    expect(node[0]).toMatch(/^time,cpu_percent,memory_used_bytes/);
    expect(node.length).toBeGreaterThanOrEqual(3);
    const procs = readFileSync(path.join(perf, 'processes_resource_usage.csv'), 'utf8');
    expect(procs).toMatch(/process000,\d+,/);
    expect(readFileSync(path.join(perf, 'node_disk_usage.csv'), 'utf8')).toMatch(/^time,path,total_bytes/);
    const hours = readdirSync(path.join(perf, 'os'));
    expect(hours[0]).toMatch(/^\d{10}$/);
    expect(readdirSync(path.join(perf, 'os', hours[0]!)).some((f) => /^processes_\d\d$/.test(f))).toBe(true);
    const samples = readFileSync(path.join(perf, 'samples.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(
      samples.some((s) =>
        s.processes.some(
          (p: { process: string; rssBytes: number }) => p.process === 'process000' && p.rssBytes > 0,
        ),
      ),
    ).toBe(true);
  });

  it('resource_monitor_interval 0 writes no perf CSVs', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: 'export function run(b) { return b; }',
      files: 2,
      spec: { resource_monitor_interval: 0 },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(existsSync(path.join(r.json!.run_dir, 'logs/perf/0/node_resource_usage.csv'))).toBe(false);
  });
});
