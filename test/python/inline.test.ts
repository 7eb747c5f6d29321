// Python workers hosted by the leader's own process (src/engine/inlinePython.ts): the same
// WorkerProcess contract and exits as a worker process, with the interpreter as a direct child, and
// nothing left open in the host once a worker has ended, however it ended.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { MiniBatch } from '../../src/common/minibatch';
import type { WorkerMessage } from '../../src/common/protocol';
import { InlinePythonLauncher, InlinePythonWorker } from '../../src/engine/inlinePython';
import type { ExitInfo, LaunchOptions, WorkerLauncher, WorkerProcess } from '../../src/engine/launcher';
import { makeJob, parentOf, waitFor, workerConfig } from './helpers';

interface Started {
  worker: InlinePythonWorker;
  messages: WorkerMessage[];
  stdout: () => string;
  stderr: () => string;
  exit: Promise<ExitInfo>;
}

function start(script: string): Started {
  const job = makeJob(script);
  const worker = new InlinePythonWorker(workerConfig(job), { ...(process.env as Record<string, string>) });
  const messages: WorkerMessage[] = [];
  let out = '';
  let err = '';
  worker.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  worker.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  worker.onMessage((m) => messages.push(m));
  const exit = new Promise<ExitInfo>((resolve) => worker.onExit(resolve));
  worker.send({ t: 'init', config: workerConfig(job) });
  return { worker, messages, stdout: () => out, stderr: () => err, exit };
}

function batch(id: number, files: string[]): MiniBatch {
  return { id, items: files.length, bytes: 0, sources: [{ kind: 'files', files }] };
}

function results(messages: WorkerMessage[]): Array<[number, string]> {
  return messages.flatMap((m) => (m.t === 'results' ? m.results.map((r) => [r.id, r.status]) : [])) as Array<
    [number, string]
  >;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(process.platform === 'linux')('a Python worker in the leader process', () => {
  test('its interpreter is a child of this process; mini-batches run in order; stop exits 0', async () => {
    const w = start('def run(mb):\n    print("got", mb)\n    return mb\ndef shutdown():\n    print("bye")\n');
    // The interpreter starts at launch: its pid is known before init() has finished.
    const pid = w.worker.pid!;
    expect(parentOf(pid)).toBe(process.pid);
    await waitFor(() => w.messages.some((m) => m.t === 'ready'));
    expect(w.messages.find((m) => m.t === 'ready')).toMatchObject({ pid });
    w.worker.send({ t: 'run', batches: [batch(0, ['a']), batch(1, ['b', 'c'])] });
    await waitFor(() => results(w.messages).length === 2);
    w.worker.send({ t: 'stop' });
    expect(await w.exit).toMatchObject({ code: 0, signal: null, reason: 'clean-exit' });
    expect(results(w.messages)).toEqual([
      [0, 'done'],
      [1, 'done'],
    ]);
    expect(w.stdout()).toContain("got ['b', 'c']");
    expect(w.stdout()).toContain('bye');
    expect(alive(pid)).toBe(false);
  });

  test('os._exit(7): the results sent before it arrive, then the worker ends with code 7', async () => {
    const w = start('import os\ndef run(mb):\n    if mb[0] == "boom":\n        os._exit(7)\n    return mb\n');
    await waitFor(() => w.messages.some((m) => m.t === 'ready'));
    w.worker.send({ t: 'run', batches: [batch(0, ['a']), batch(1, ['boom']), batch(2, ['c'])] });
    expect(await w.exit).toMatchObject({ code: 7, signal: null, reason: 'crashed', returnCode: 7 });
    expect(results(w.messages)).toEqual([[0, 'done']]);
    expect(w.stderr()).toContain('The Python interpreter exited with code 7 during run of mini-batch 1');
  });

  test('a segfault ends it as killed by SIGSEGV, with the faulthandler trace on stderr', async () => {
    const w = start('import ctypes\ndef run(mb):\n    ctypes.string_at(0)\n');
    await waitFor(() => w.messages.some((m) => m.t === 'ready'));
    w.worker.send({ t: 'run', batches: [batch(0, ['a'])] });
    expect(await w.exit).toMatchObject({ signal: 'SIGSEGV', returnCode: -11 });
    expect(w.stderr()).toContain('Fatal Python error: Segmentation fault');
  });

  test('an init() failure is reported, then exit 41 with no interpreter left', async () => {
    const w = start(
      'def init():\n    raise RuntimeError("cannot load model")\ndef run(mb):\n    return mb\n',
    );
    const pid = w.worker.pid!;
    expect(await w.exit).toMatchObject({ code: 41 });
    const failed = w.messages.find((m) => m.t === 'init-failed');
    expect(failed?.t === 'init-failed' && failed.error.message).toBe('cannot load model');
    expect(w.stderr()).toContain('RuntimeError: cannot load model');
    await waitFor(() => !alive(pid));
  });

  test('a kill (a timeout) is reported as that signal, and the socket folder is gone', async () => {
    const w = start('import time\ndef run(mb):\n    time.sleep(60)\n');
    await waitFor(() => w.messages.some((m) => m.t === 'ready'));
    const env = readFileSync(`/proc/${w.worker.pid}/environ`, 'utf8').split('\0');
    const socket = env.find((e) => e.startsWith('PRS_CONTROL_SOCKET='))!.split('=')[1]!;
    w.worker.send({ t: 'run', batches: [batch(0, ['a'])] });
    w.worker.kill('SIGKILL');
    expect(await w.exit).toMatchObject({ code: null, signal: 'SIGKILL', reason: 'killed', returnCode: -9 });
    expect(existsSync(path.dirname(socket))).toBe(false);
  });
});

describe('InlinePythonLauncher', () => {
  test('hosts Python workers itself and hands anything else to the launcher it wraps', () => {
    const launched: LaunchOptions[] = [];
    const others: WorkerLauncher = {
      launch: (o) => {
        launched.push(o);
        return { pid: 1 } as WorkerProcess;
      },
    };
    const launcher = new InlinePythonLauncher(others);
    const node = workerConfig(makeJob(''), { runtime: 'node' });
    expect(launcher.launch({ name: 'process000', env: {}, cwd: '/', config: node }).pid).toBe(1);
    expect(launcher.launch({ name: 'process001', env: {}, cwd: '/' }).pid).toBe(1);
    expect(launched.map((o) => o.name)).toEqual(['process000', 'process001']);
  });
});
