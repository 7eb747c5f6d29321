// The host (src/host/runState.ts) and the app's store (src/renderer/src/store.ts) fold a run's
// events with one reducer. These tests feed both the same events, through the path each really
// takes (the host sees output; the app gets what the host forwards), and check the rules that had
// drifted between them. The store's client is a stand-in that only answers openRun with the host's
// snapshot: no engine is involved, the reducer is what is under test.

import { describe, expect, it } from 'vitest';
import type { AttemptRow, MetricsHistory, RunSnapshot } from '../../src/common/api';
import type { AppEvent } from '../../src/common/contract';
import type { ProcessSample, RunEvent, RunNode, RunSummary, WorkerInfo } from '../../src/common/events';
import type { JobSpec } from '../../src/common/spec';
import {
  foldFromSnapshot,
  MAX_METRIC_SAMPLES,
  reduceRun,
  utf8Length,
  type FoldedEvent,
} from '../../src/common/runReducer';
import { RunState, sendableSnapshot } from '../../src/host/runState';

const worker = (name: string): WorkerInfo => ({
  name,
  nodeId: '0',
  gpu: null,
  state: 'idle',
  batchesDone: 0,
});

function metrics(t: number): Extract<RunEvent, { type: 'metrics' }> {
  const p: ProcessSample = { process: 'process000', pid: 1, cpuPercent: 1, rssBytes: 1 } as ProcessSample;
  return {
    type: 'metrics',
    node: {
      t,
      cpuPercent: 5,
      memUsedBytes: 1,
      memTotalBytes: 2,
      diskUsedBytes: 1,
      diskTotalBytes: 2,
      gpus: [],
    },
    processes: [p],
  };
}

/** A run's events as the engine emits them: workers out of name order, output before an attempt. */
function engineEvents(): RunEvent[] {
  const spec = { name: 'drift' } as JobSpec;
  const events: RunEvent[] = [
    { type: 'run-started', runId: 'r1', runDir: '/runs/r1', spec, processCount: 2 },
    { type: 'plan', planned: 2, done: true },
    { type: 'worker', worker: worker('process001') },
    { type: 'worker', worker: worker('process000') },
    { type: 'output', process: 'process000', stream: 'stdout', data: 'héllo ✓\n' },
    { type: 'output', process: 'process000', stream: 'stderr', data: 'not stdout\n' },
    { type: 'attempt', miniBatchId: 0, attempt: 1, process: 'process000', status: 'running' },
    { type: 'output', process: 'process000', stream: 'stdout', data: 'more\n' },
    { type: 'attempt', miniBatchId: 1, attempt: 1, process: 'process000', status: 'running' },
    { type: 'worker', worker: { ...worker('process001'), state: 'running', batchId: 1 } },
  ];
  for (let i = 0; i <= MAX_METRIC_SAMPLES; i++) events.push(metrics(1000 + i));
  events.push({ type: 'attempt', miniBatchId: 0, attempt: 1, process: 'process000', status: 'succeeded' });
  return events;
}

/** What this test uses of the app's store (src/renderer/src/store.ts). */
interface AppStore {
  getState(): {
    run: { workers: WorkerInfo[] } | null;
    attempts: AttemptRow[];
    metrics: MetricsHistory;
    openRun(ref: { runId: string }): Promise<void>;
    handleEvent(event: AppEvent): void;
  };
  setState(partial: object): void;
}

/**
 * The renderer is a TypeScript project of its own (DOM types), so this one reaches its store at run
 * time, by a path tsc does not follow.
 */
async function appStore(): Promise<AppStore> {
  const storePath: string = '../../src/renderer/src/store';
  return ((await import(storePath)) as { useStore: AppStore }).useStore;
}

async function openInStore(useStore: AppStore, snapshot: RunSnapshot): Promise<void> {
  const client = {
    call: (method: string) => {
      if (method !== 'openRun') throw new Error(`unexpected ${method}`);
      // As over the wire: the app gets a copy, never the host's own tables.
      return Promise.resolve(structuredClone(snapshot));
    },
    ack: () => undefined,
  };
  useStore.setState({ client, run: null });
  await useStore.getState().openRun({ runId: snapshot.runId });
}

describe('one reducer of run events, host and app', () => {
  it('gives the host and the app the same workers, stdout offsets and thinned metrics', async () => {
    const useStore = await appStore();
    const host = new RunState('r1', '/runs/r1', 'drift');
    await openInStore(useStore, sendableSnapshot(host.snapshot));
    const forwarded: AppEvent = { type: 'run-events', runId: 'r1', events: [] };
    for (const e of engineEvents()) {
      const out = host.apply(e);
      if (out.type !== 'output' && out.type !== 'log') forwarded.events.push(out);
    }
    useStore.getState().handleEvent(forwarded);

    const app = useStore.getState();
    const snap = host.snapshot;
    // Workers by name on both sides, however their events arrived.
    expect(snap.workers.map((w) => w.name)).toEqual(['process000', 'process001']);
    expect(app.run?.workers.map((w) => w.name)).toEqual(['process000', 'process001']);
    expect(app.run?.workers[1]).toMatchObject({ state: 'running', batchId: 1 });
    // An attempt points into its process's stdout log where it began (UTF-8 bytes, stderr apart).
    const offsets = [utf8Length('héllo ✓\n'), utf8Length('héllo ✓\nmore\n')];
    expect(offsets).toEqual([11, 16]);
    expect(snap.attempts.map((a) => a.stdoutOffset)).toEqual(offsets);
    expect(app.attempts.map((a) => a.stdoutOffset)).toEqual(offsets);
    expect(app.attempts.map((a) => a.status)).toEqual(['succeeded', 'running']);
    // Metrics thinned past the cap on both sides alike, the newest sample kept.
    expect(snap.metrics.node.length).toBeLessThan(MAX_METRIC_SAMPLES);
    expect(app.metrics.node.map((n) => n.t)).toEqual(snap.metrics.node.map((n) => n.t));
    expect(app.metrics.processes.length).toBe(snap.metrics.processes.length);
    expect(app.metrics.node.at(-1)?.t).toBe(1000 + MAX_METRIC_SAMPLES);

    // A tab that opens the run now sees what the live tab sees.
    const late = foldFromSnapshot(sendableSnapshot(host.snapshot));
    expect(late.run.workers).toEqual(app.run?.workers);
    // (Each side times an attempt by when the event reached it.)
    const untimed = (rows: typeof app.attempts) => rows.map(({ startedAt: _s, elapsedS: _e, ...r }) => r);
    expect(untimed(late.attempts)).toEqual(untimed(app.attempts));
  });

  it("graphs one machine of several nodes: the first node's samples, every node's processes lined up with them", () => {
    const run = new RunState('r', '/runs/r', 'nodes');
    const of = (nodeId: string, t: number, cpu: number, proc: string) => {
      const e = metrics(t);
      e.nodeId = nodeId;
      e.node.cpuPercent = cpu;
      e.processes = [{ ...e.processes[0]!, process: proc }];
      return e;
    };
    // Node 1's machine (another host on a cluster) reports between node 0's samples.
    for (const e of [
      of('0', 1000, 10, 'process000'),
      of('1', 1400, 90, 'process001'),
      of('0', 2000, 11, 'process000'),
    ])
      run.apply(e);
    const m = run.snapshot.metrics;
    expect(m.machineNode).toBe('0');
    expect(m.node.map((n) => [n.t, n.cpuPercent])).toEqual([
      [1000, 10],
      [2000, 11],
    ]);
    expect(m.processes.map((p) => [p.process, p.t])).toEqual([
      ['process000', 1000],
      ['process001', 1000],
      ['process000', 2000],
    ]);
    // Thinning keeps every process row on a retained time, whichever node it came from.
    for (let i = 0; i < MAX_METRIC_SAMPLES + 10; i++) {
      run.apply(of('0', 3000 + 2 * i, 5, 'process000'));
      run.apply(of('1', 3001 + 2 * i, 50, 'process001'));
    }
    const thinned = run.snapshot.metrics;
    const times = new Set(thinned.node.map((n) => n.t));
    expect(thinned.node.every((n) => n.cpuPercent !== 50)).toBe(true);
    expect(thinned.processes.every((p) => times.has(p.t))).toBe(true);
    expect(thinned.processes.filter((p) => p.process === 'process001').length).toBeGreaterThan(
      MAX_METRIC_SAMPLES / 2,
    );
  });

  it('replaces the run it folds rather than changing it, and times attempts by the clock it is given', () => {
    const host = new RunState('r2', '/runs/r2', 'pure');
    const start = foldFromSnapshot(host.snapshot);
    const before = structuredClone(start.run);
    const events: FoldedEvent[] = [
      { type: 'worker', worker: worker('process000') },
      {
        type: 'attempt',
        miniBatchId: 3,
        attempt: 1,
        process: 'process000',
        status: 'running',
        stdoutOffset: 4,
      },
    ];
    let fold = start;
    for (const e of events) fold = reduceRun(fold, e, 10_000);
    fold = reduceRun(
      fold,
      { type: 'attempt', miniBatchId: 3, attempt: 1, process: 'x', status: 'failed', error: 'boom' },
      12_500,
    );
    expect(start.run).toEqual(before);
    expect(fold.run).not.toBe(start.run);
    expect(fold.attempts).toEqual([
      {
        miniBatchId: 3,
        attempt: 1,
        process: 'process000',
        nodeId: '0',
        status: 'failed',
        error: 'boom',
        startedAt: 10_000,
        elapsedS: 2.5,
        stdoutOffset: 4,
      },
    ]);
    expect(fold.attemptsVersion).toBe(start.attemptsVersion + 2);
  });

  it('folds node events into one entry per node id, in id order, the latest winning; a finished run leaves its live nodes', () => {
    const node = (id: string, state: RunNode['state'], beatAt: number): RunNode => ({
      id,
      name: `agent-${id}`,
      host: `h${id}`,
      processes: 2,
      gpus: [],
      state,
      beatAt,
      agent: true,
    });
    const host = new RunState('r3', '/runs/r3', 'nodes');
    for (const n of [node('10', 'live', 1), node('1', 'live', 1), node('2', 'live', 1), node('1', 'lost', 5)])
      host.apply({ type: 'node', node: n });
    expect(host.snapshot.nodes.map((n) => [n.id, n.state, n.beatAt])).toEqual([
      ['1', 'lost', 5],
      ['2', 'live', 1],
      ['10', 'live', 1],
    ]);
    // A late tab starts from the host's snapshot and gets the same nodes.
    const late = foldFromSnapshot(sendableSnapshot(host.snapshot));
    expect(late.run.nodes).toEqual(host.snapshot.nodes);
    const summary = {
      status: 'completed',
      findings: [],
      mini_batches: { total: 0, succeeded: 0, failed: 0 },
      items: { succeeded: 0, failed: 0 },
      duration_s: 1,
    } as unknown as RunSummary;
    const ended = reduceRun(late, { type: 'finished', summary }, 9);
    expect(ended.run.nodes.map((n) => n.state)).toEqual(['lost', 'left', 'left']);
  });
});
