// A stand-in for Electron's `utilityProcess` module that starts real processes under plain Node:
// the module runs with fixtures/parentPort.mjs preloaded (process.parentPort over fd 5, nothing
// else), and the handle behaves as Electron's does where the launcher depends on it: a pid only once
// spawned, an exit code and never a signal, kill() sends SIGTERM. It records what it was asked to start
// and every message that came back over parentPort.

import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { WorkerMessage } from '../../src/common/protocol';
import type { UtilityChild, UtilityForkOptions, UtilityProcessModule } from '../../src/main/utilityLauncher';
import { ROOT } from '../helpers';

const PRELOAD = pathToFileURL(path.join(ROOT, 'test', 'main', 'fixtures', 'parentPort.mjs')).href;

export interface FakeUtility extends UtilityProcessModule {
  forks: Array<{ modulePath: string; args: string[]; options: UtilityForkOptions }>;
  /** What workers sent over parentPort, in arrival order. */
  messages: WorkerMessage[];
}

export function fakeUtilityProcess(): FakeUtility {
  const fake: FakeUtility = {
    forks: [],
    messages: [],
    fork(modulePath, args, options) {
      fake.forks.push({ modulePath, args, options });
      const child = spawn(process.execPath, ['--import', PRELOAD, modulePath, ...args], {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'pipe'],
      });
      const port = (child.stdio as unknown[])[5] as Readable & Writable;
      let spawned = false;
      let exited = false;
      const handle = Object.assign(new EventEmitter(), {
        stdout: child.stdout,
        stderr: child.stderr,
        postMessage(message: unknown) {
          port.write(JSON.stringify(message) + '\n');
        },
        kill() {
          return child.kill('SIGTERM');
        },
      });
      Object.defineProperty(handle, 'pid', { get: () => (spawned && !exited ? child.pid : undefined) });
      port.on('error', () => undefined);
      let partial = '';
      port.setEncoding('utf8');
      port.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          const message = JSON.parse(line) as WorkerMessage;
          fake.messages.push(message);
          handle.emit('message', message);
        }
      });
      child.once('spawn', () => {
        spawned = true;
        handle.emit('spawn');
      });
      const exit = (code: number) => {
        if (exited) return;
        exited = true;
        handle.emit('exit', code);
      };
      // Electron reports a number whatever ended the process: here the signal's, for a signal.
      child.once('close', (code, signal) => exit(code ?? (signal ? os.constants.signals[signal] : 1)));
      child.once('error', () => exit(1));
      return handle as unknown as UtilityChild;
    },
  };
  return fake;
}
