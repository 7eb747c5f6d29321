// One worker lifecycle (src/runtime/lifecycle.ts) for both hosts: a worker process (forked, running
// the built worker bundle: run `npm run build` first) and the leader's inline Python worker answer
// the same messages the same way, with real interpreters; and the lifecycle itself, in this process
// with the real Node runtime and a host that records what it is told.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { MiniBatch } from '../../src/common/minibatch';
import type { WorkerConfig, WorkerMessage } from '../../src/common/protocol';
import { InlinePythonWorker } from '../../src/engine/inlinePython';
import { ForkLauncher, type ExitInfo, type WorkerProcess } from '../../src/engine/launcher';
import { WorkerLifecycle } from '../../src/runtime/lifecycle';
import { NodeRuntime } from '../../src/runtime/nodeRuntime';
import { makeJob, tempDir, waitFor, workerConfig } from './helpers';

function batch(id: number, files: string[]): MiniBatch {
  return { id, items: files.length, bytes: 0, sources: [{ kind: 'files', files }] };
}

/** What the leader hears from a worker: its messages in order (results by id and status), and its exit. */
function listen(worker: WorkerProcess): { heard: string[]; exit: Promise<ExitInfo>; stderr: () => string } {
  const heard: string[] = [];
  let stderr = '';
  worker.stdout?.resume();
  worker.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  worker.onMessage((m: WorkerMessage) => {
    if (m.t === 'results') heard.push(...m.results.map((r) => `result ${r.id} ${r.status}`));
    else heard.push(m.t);
  });
  return { heard, exit: new Promise<ExitInfo>((resolve) => worker.onExit(resolve)), stderr: () => stderr };
}

const hosts: Array<[string, (config: WorkerConfig) => WorkerProcess]> = [
  [
    'a worker process',
    (config) =>
      new ForkLauncher().launch({
        name: config.processName,
        env: { ...(process.env as Record<string, string>) },
        cwd: config.sourceDirectory,
        config,
      }),
  ],
  [
    'the inline Python worker',
    (config) => new InlinePythonWorker(config, { ...(process.env as Record<string, string>) }),
  ],
];

describe.runIf(process.platform === 'linux').each(hosts)('%s', (_name, launch) => {
  test('init and mini-batches sent before ready: ready, each result in order; stop: a clean exit', async () => {
    // Before: the inline worker dropped mini-batches that came before its ready.
    const job = makeJob('def run(mb):\n    return mb\n');
    const config = workerConfig(job);
    const worker = launch(config);
    const w = listen(worker);
    worker.send({ t: 'init', config });
    worker.send({ t: 'run', batches: [batch(0, ['a']), batch(1, ['b', 'c'])] });
    await waitFor(() => w.heard.length === 3, 60_000);
    worker.send({ t: 'stop' });
    expect(await w.exit).toMatchObject({ code: 0, signal: null, reason: 'clean-exit' });
    expect(w.heard).toEqual(['ready', 'result 0 done', 'result 1 done']);
  }, 90_000);

  test('init() raises: init-failed once, the traceback on stderr, no shutdown(), exit 41', async () => {
    const job = makeJob(
      'def init():\n    raise ValueError("no model")\ndef run(mb):\n    return mb\ndef shutdown():\n    print("SHUTDOWN RAN")\n',
    );
    const config = workerConfig(job);
    const worker = launch(config);
    const w = listen(worker);
    worker.send({ t: 'init', config });
    worker.send({ t: 'stop' });
    expect(await w.exit).toMatchObject({ code: 41, reason: 'crashed', returnCode: 41 });
    expect(w.heard).toEqual(['init-failed']);
    expect(w.stderr()).toMatch(/init\(\) failed: .*ValueError: no model/s);
    expect(w.stderr()).not.toContain('SHUTDOWN RAN');
  }, 90_000);
});

// ---- the lifecycle on its own ----------------------------------------------------------------------

/** A Node entry script in a job folder, and a host that records what the lifecycle does. */
function nodeWorker(script: string) {
  const dir = tempDir();
  const src = path.join(dir, 'src');
  mkdirSync(src);
  writeFileSync(path.join(src, 'score.mjs'), script);
  const job = { script: path.join(src, 'score.mjs'), runDir: path.join(dir, 'run') };
  mkdirSync(path.join(job.runDir, 'outputs'), { recursive: true });
  const config = workerConfig(job, { runtime: 'node' });
  const told: string[] = [];
  const ends: number[] = [];
  let stderr = '';
  const lifecycle = new WorkerLifecycle(
    {
      send: (m) =>
        told.push(m.t === 'results' ? m.results.map((r) => `result ${r.id} ${r.status}`).join() : m.t),
      stderr: (text) => void (stderr += text),
      pid: () => 1234,
      end: (code) => void ends.push(code),
    },
    (c) => new NodeRuntime(c),
  );
  return { lifecycle, config, told, ends, stderr: () => stderr };
}

/** A gate the entry script's init() waits on: it runs in this process, so globalThis is shared. */
const gates = globalThis as { prsInitGate?: Promise<void>; prsShutdowns?: number };

describe('WorkerLifecycle', () => {
  test('a stop during init() waits for it, then shutdown(), then the end: no process exits', async () => {
    let open!: () => void;
    gates.prsInitGate = new Promise((resolve) => (open = resolve));
    gates.prsShutdowns = 0;
    const w = nodeWorker(
      'export async function init() { await globalThis.prsInitGate; }\n' +
        'export function run(mb) { return mb; }\n' +
        'export function shutdown() { globalThis.prsShutdowns++; }\n',
    );
    w.lifecycle.handle({ t: 'init', config: w.config });
    w.lifecycle.handle({ t: 'stop' });
    await waitFor(() => w.lifecycle.phase === 'initializing');
    expect(w.ends).toEqual([]);
    open();
    await waitFor(() => w.ends.length > 0, 30_000);
    expect(w.told).toEqual(['ready']);
    expect(gates.prsShutdowns).toBe(1);
    expect(w.ends).toEqual([0]);
    expect(w.lifecycle.phase).toBe('ended');
    // A second stop changes nothing.
    w.lifecycle.handle({ t: 'stop' });
    await new Promise((r) => setImmediate(r));
    expect(w.ends).toEqual([0]);
  });

  test('mini-batches before ready run once it is, in order; a failed one is on stderr too', async () => {
    const w = nodeWorker(
      'export function run(mb) { if (mb[0] === "bad") throw new Error("bad item"); return mb; }\n',
    );
    w.lifecycle.handle({ t: 'init', config: w.config });
    w.lifecycle.handle({ t: 'run', batches: [batch(0, ['a']), batch(1, ['bad']), batch(2, ['c'])] });
    await waitFor(() => w.told.length === 4, 30_000);
    expect(w.told).toEqual(['ready', 'result 0 done', 'result 1 failed', 'result 2 done']);
    expect(w.stderr()).toContain('mini-batch 1 failed: ');
    w.lifecycle.handle({ t: 'stop' });
    await waitFor(() => w.ends.length > 0);
    expect(w.ends).toEqual([0]);
  });

  test('mini-batches sent after a stop never start: shutdown() and the end follow', async () => {
    gates.prsShutdowns = 0;
    const w = nodeWorker(
      'export function run(mb) { return mb; }\n' +
        'export function shutdown() { globalThis.prsShutdowns++; }\n',
    );
    w.lifecycle.handle({ t: 'init', config: w.config });
    await waitFor(() => w.told.length === 1, 30_000);
    w.lifecycle.handle({ t: 'stop' });
    w.lifecycle.handle({ t: 'run', batches: [batch(0, ['late'])] });
    await waitFor(() => w.ends.length > 0, 30_000);
    expect(w.told).toEqual(['ready']);
    expect(gates.prsShutdowns).toBe(1);
    expect(w.ends).toEqual([0]);
  });

  test('init() throws: init-failed, the reason on stderr, the end with 41, and a later stop does nothing', async () => {
    gates.prsShutdowns = 0;
    const w = nodeWorker(
      'export function init() { throw new Error("no model"); }\n' +
        'export function run(mb) { return mb; }\n' +
        'export function shutdown() { globalThis.prsShutdowns++; }\n',
    );
    w.lifecycle.handle({ t: 'init', config: w.config });
    await waitFor(() => w.ends.length > 0, 30_000);
    w.lifecycle.handle({ t: 'stop' });
    await new Promise((r) => setImmediate(r));
    expect(w.told).toEqual(['init-failed']);
    expect(w.stderr()).toMatch(/^init\(\) failed: .*no model/s);
    expect(w.ends).toEqual([41]);
    expect(gates.prsShutdowns).toBe(0);
    expect(w.lifecycle.phase).toBe('ended');
  });
});
