// The Python runtime inside a real worker process (src/worker/main.ts, bundled with esbuild as
// `npm run build` does): a crashed interpreter must end the worker so the leader sees it and
// replaces it, with the interpreter's own returncode.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, test } from 'vitest';
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
    child.on('exit', (code, signal) => resolve({ code, signal })),
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
    const end = Date.now() + 5000;
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
