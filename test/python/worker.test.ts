// The Python runtime inside a real worker process (src/worker/main.ts, bundled with esbuild as
// `npm run build` does): a crashed interpreter must end the worker so the leader sees it and
// replaces it, with the interpreter's own returncode.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { build } from 'esbuild';
import { beforeAll, describe, expect, test } from 'vitest';
import type { MiniBatch } from '../../src/common/minibatch';
import type { WorkerMessage } from '../../src/common/protocol';
import { makeJob, workerConfig } from './helpers';

// Below the package root, so the bundle finds resources/python the way out/node/worker.js does.
const outDir = path.resolve('node_modules/.tmp/prs-python-worker-test');
const workerJs = path.join(outDir, 'worker.js');

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: { worker: 'src/worker/main.ts' },
    outdir: outDir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
});

interface Worker {
  child: ChildProcess;
  messages: WorkerMessage[];
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  next: (t: WorkerMessage['t']) => Promise<WorkerMessage>;
}

function startWorker(script: string): Worker {
  const job = makeJob(script);
  const child = fork(workerJs, ['process000'], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    cwd: path.dirname(job.script),
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const messages: WorkerMessage[] = [];
  const waiters: Array<() => void> = [];
  child.on('message', (m) => {
    messages.push(m as WorkerMessage);
    for (const w of waiters.splice(0)) w();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close', not 'exit': it comes once the child's pipes are drained, so stdout and stderr are all
    // there (after 'exit' the last of them may still be on the way).
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  child.send({ t: 'init', config: workerConfig(job) });
  const next = async (t: WorkerMessage['t']): Promise<WorkerMessage> => {
    for (;;) {
      const found = messages.find((m) => m.t === t);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { child, messages, stdout: () => out, stderr: () => err, exit, next };
}

// Both shapes of the run message (one mini-batch, or several), so the test holds across the
// protocol's revisions: a worker reads the one it knows.
const batch = (id: number, files: string[]) => {
  const b = { id, items: files.length, bytes: 0, sources: [{ kind: 'files' as const, files }] };
  return { t: 'run' as const, batch: b, batches: [b] };
};

interface Finished {
  id: number;
  ok: boolean;
  itemsSucceeded?: number;
  lines?: string[];
}

/** Finished mini-batches, from 'done'/'failed' messages or from batched 'results' messages. */
function finished(messages: unknown[]): Finished[] {
  const out: Finished[] = [];
  for (const raw of messages) {
    const m = raw as Record<string, unknown>;
    const items = (m.t === 'results' ? m.results : m.t === 'done' || m.t === 'failed' ? [m] : []) as Array<
      Record<string, unknown>
    >;
    for (const r of items) {
      out.push({
        id: r.id as number,
        ok: r.status === 'done' || r.t === 'done',
        itemsSucceeded: r.itemsSucceeded as number | undefined,
        lines: r.lines as string[] | undefined,
      });
    }
  }
  return out;
}

describe('a Python worker process', () => {
  test('runs pipelined mini-batches and stops cleanly with exit code 0', async () => {
    const w = startWorker(
      'def run(mb):\n    print("got", mb)\n    return mb\ndef shutdown():\n    print("bye from shutdown")\n',
    );
    await w.next('ready');
    w.child.send(batch(0, ['a']));
    w.child.send(batch(1, ['b', 'c']));
    while (finished(w.messages).length < 2) await new Promise((r) => setTimeout(r, 10));
    w.child.send({ t: 'stop' });
    const exit = await w.exit;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(finished(w.messages).map((m) => [m.id, m.itemsSucceeded, m.lines])).toEqual([
      [0, 1, ['a']],
      [1, 2, ['b', 'c']],
    ]);
    expect(w.stdout()).toContain("got ['b', 'c']");
    expect(w.stdout()).toContain('bye from shutdown');
  });

  test('os._exit(7) in run() ends the worker with code 7', async () => {
    const w = startWorker('import os\ndef run(mb):\n    os._exit(7)\n');
    await w.next('ready');
    w.child.send(batch(0, ['a']));
    expect(await w.exit).toEqual({ code: 7, signal: null });
    expect(w.stderr()).toContain('The Python interpreter exited with code 7 during run of mini-batch 0');
  });

  test('a segfault ends the worker by SIGSEGV, after the faulthandler trace reached stderr', async () => {
    const w = startWorker('import ctypes\ndef run(mb):\n    ctypes.string_at(0)\n');
    await w.next('ready');
    w.child.send(batch(0, ['a']));
    const exit = await w.exit;
    // Where V8's trap handler swallows a SIGSEGV sent by kill(), the worker exits 128+11 instead.
    expect(exit.signal === 'SIGSEGV' || exit.code === 139).toBe(true);
    expect(w.stderr()).toContain('Fatal Python error: Segmentation fault');
    expect(w.stderr()).toContain('returncode -11');
  });

  test('SIGKILL of the interpreter (the OOM killer) ends the worker by SIGKILL', async () => {
    const w = startWorker('import os, signal\ndef run(mb):\n    os.kill(os.getpid(), signal.SIGKILL)\n');
    await w.next('ready');
    w.child.send(batch(0, ['a']));
    expect(await w.exit).toEqual({ code: null, signal: 'SIGKILL' });
  });

  test('an init() failure is reported and the worker exits 41; killing the worker leaves no interpreter', async () => {
    const w = startWorker(
      'def init():\n    raise RuntimeError("cannot load model")\ndef run(mb):\n    return mb\n',
    );
    const failed = await w.next('init-failed');
    expect(failed.t === 'init-failed' && failed.error.message).toBe('cannot load model');
    expect((await w.exit).code).toBe(41);

    const v = startWorker(
      'import os\ndef run(mb):\n    print("pid", os.getpid())\n    import time; time.sleep(60)\n',
    );
    await v.next('ready');
    v.child.send(batch(0, ['a']));
    while (!/pid (\d+)/.test(v.stdout())) await new Promise((r) => setTimeout(r, 20));
    const pid = Number(/pid (\d+)/.exec(v.stdout())![1]);
    v.child.kill('SIGKILL');
    await v.exit;
    // The driver checks for its parent once a second: 15 s allows for a loaded machine.
    const end = Date.now() + 15_000;
    let alive = true;
    while (alive && Date.now() < end) {
      try {
        process.kill(pid, 0);
        await new Promise((r) => setTimeout(r, 50));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });
});

// As ForkLauncher starts it: its own result pipe on fd 3, and a result socket the driver writes to
// directly, so the worker process is off the path of every mini-batch.
interface DirectWorker {
  child: ChildProcess;
  /** Messages on the result socket, from the driver. */
  socket: WorkerMessage[];
  /** Messages on fd 3, from the worker process. */
  pipe: WorkerMessage[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  until: (check: () => boolean) => Promise<void>;
}

function lineReader(onMessage: (m: WorkerMessage) => void): (chunk: Buffer) => void {
  let partial = '';
  return (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line) onMessage(JSON.parse(line) as WorkerMessage);
  };
}

async function startDirectWorker(script: string): Promise<DirectWorker> {
  const job = makeJob(script);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prs-res-test-'));
  const socketPath = path.join(dir, 'results.sock');
  const socket: WorkerMessage[] = [];
  const pipe: WorkerMessage[] = [];
  const server = net.createServer((s) =>
    s.on(
      'data',
      lineReader((m) => socket.push(m)),
    ),
  );
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const child = fork(workerJs, ['process000'], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ipc'],
    cwd: path.dirname(job.script),
    env: { ...process.env, PRS_CHANNEL_FD: '3', PRS_RESULT_SOCKET: socketPath },
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.resume();
  (child.stdio[3] as Readable).on(
    'data',
    lineReader((m) => pipe.push(m)),
  );
  // 'close', not 'exit': it comes once the child's pipes are drained, so stderr is all there.
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      server.close();
      resolve({ code, signal });
    }),
  );
  child.send({ t: 'init', config: workerConfig(job) });
  const until = async (check: () => boolean) => {
    const end = Date.now() + 30_000;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { child, socket, pipe, stderr: () => err, exit, until };
}

const fileBatch = (id: number, files: string[]): MiniBatch => ({
  id,
  items: files.length,
  bytes: 0,
  sources: [{ kind: 'files', files }],
});

describe('a Python worker with a result socket (as ForkLauncher starts it)', () => {
  test('the driver reports results on the socket, in order, with their lines and times; the worker only says ready', async () => {
    const w = await startDirectWorker('def run(mb):\n    return [p.upper() for p in mb]\n');
    await w.until(() => w.pipe.some((m) => m.t === 'ready'));
    const batches = Array.from({ length: 50 }, (_, i) => fileBatch(i, [`f${i}`]));
    // In bulk, as the leader sends them, and in two messages.
    w.child.send({ t: 'run', batches: batches.slice(0, 30) });
    w.child.send({ t: 'run', batches: batches.slice(30) });
    await w.until(() => finished(w.socket).length === 50);
    expect(finished(w.socket).map((r) => [r.id, r.ok, r.lines])).toEqual(
      batches.map((b) => [b.id, true, [`F${b.id}`]]),
    );
    const first = (w.socket[0] as Extract<WorkerMessage, { t: 'results' }>).results[0]!;
    expect(first.times.startedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(first.times.elapsedMs).toBeGreaterThanOrEqual(first.times.runMs);
    expect(w.pipe.map((m) => m.t)).toEqual(['ready']);
    w.child.send({ t: 'stop' });
    expect(await w.exit).toEqual({ code: 0, signal: null });
  });

  test('a crash in the third mini-batch: the first two results have arrived, the worker names the third', async () => {
    const w = await startDirectWorker(
      'import os\ndef run(mb):\n    if mb[0] == "boom":\n        os._exit(9)\n    return mb\n',
    );
    await w.until(() => w.pipe.some((m) => m.t === 'ready'));
    w.child.send({
      t: 'run',
      batches: [fileBatch(0, ['a']), fileBatch(1, ['b']), fileBatch(2, ['boom']), fileBatch(3, ['c'])],
    });
    expect(await w.exit).toEqual({ code: 9, signal: null });
    // Sent before the crash, so read by the time the worker has gone (the socket closes after them).
    await w.until(() => finished(w.socket).length >= 2);
    expect(finished(w.socket).map((r) => r.id)).toEqual([0, 1]);
    expect(w.stderr()).toContain('The Python interpreter exited with code 9 during run of mini-batch 2');
  });

  test('a parquet mini-batch that cannot be read fails in its turn, between the others', async () => {
    const w = await startDirectWorker('def run(mb):\n    return [len(mb)]\n');
    await w.until(() => w.pipe.some((m) => m.t === 'ready'));
    const missing: MiniBatch = {
      id: 1,
      items: 3,
      bytes: 0,
      sources: [{ kind: 'parquet', file: '/nonexistent/data.parquet', columns: ['a'], rowGroups: [0] }],
    };
    w.child.send({ t: 'run', batches: [fileBatch(0, ['a']), missing, fileBatch(2, ['b', 'c'])] });
    await w.until(() => finished(w.socket).length === 3);
    const results = (w.socket as Array<Extract<WorkerMessage, { t: 'results' }>>).flatMap((m) => m.results);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      [0, 'done'],
      [1, 'failed'],
      [2, 'done'],
    ]);
    const failed = results[1]!;
    expect(failed.status === 'failed' && failed.error.type).toBe('InputReadError');
    expect(failed.status === 'failed' && failed.error.message).toContain('/nonexistent/data.parquet');
    w.child.send({ t: 'stop' });
    expect(await w.exit).toEqual({ code: 0, signal: null });
    // The worker's stderr is its own pipe, not the results' socket: read it once the worker is gone.
    expect(w.stderr()).toContain('mini-batch 1 failed');
  });
});
