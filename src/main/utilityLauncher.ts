// The desktop's WorkerLauncher: each worker is an Electron utilityProcess (a Node process that
// Electron owns and cleans up with the app), running the worker bundle through a small shim that
// maps utilityProcess's parentPort onto the process.send/process.on('message') the worker uses.
// `utilityProcess` is injected so this is testable without Electron.

import type { Readable } from 'node:stream';
import type { UtilityProcess } from 'electron';
import type { LeaderMessage, WorkerMessage } from '../common/protocol';
import type { ExitInfo, LaunchOptions, WorkerLauncher, WorkerProcess } from '../engine/launcher';
import { exitInfo, workerEnv } from '../engine/launcher';

export interface UtilityProcessModule {
  fork(
    modulePath: string,
    args?: string[],
    options?: { env?: Record<string, string>; cwd?: string; stdio?: 'pipe'; serviceName?: string },
  ): Pick<UtilityProcess, 'pid' | 'stdout' | 'stderr' | 'postMessage' | 'kill' | 'on' | 'once'>;
}

class UtilityWorker implements WorkerProcess {
  private exited = false;
  private readonly exitListeners: Array<(info: ExitInfo) => void> = [];
  private killedBy: NodeJS.Signals | null = null;

  constructor(private readonly child: ReturnType<UtilityProcessModule['fork']>) {
    child.once('exit', (code: number) => {
      // utilityProcess reports only a code; a kill we asked for is reported as that signal.
      this.finish(this.killedBy ? exitInfo(null, this.killedBy) : exitInfo(code, null));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get stdout(): Readable | null {
    return this.child.stdout as Readable | null;
  }
  get stderr(): Readable | null {
    return this.child.stderr as Readable | null;
  }

  send(message: LeaderMessage): void {
    if (!this.exited) this.child.postMessage(message);
  }

  onMessage(listener: (message: WorkerMessage) => void): void {
    this.child.on('message', (m: unknown) => listener(m as WorkerMessage));
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exited) return;
    this.killedBy = signal;
    if (signal === 'SIGKILL' && this.child.pid) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
        return;
      } catch {
        // Already gone.
      }
    }
    this.child.kill();
  }

  private finish(info: ExitInfo): void {
    if (this.exited) return;
    this.exited = true;
    for (const l of this.exitListeners) l(info);
  }
}

export class UtilityProcessLauncher implements WorkerLauncher {
  constructor(
    private readonly utility: UtilityProcessModule,
    /** out/main/workerShim.js */
    private readonly shimPath: string,
    /** out/node/worker.js */
    private readonly workerPath: () => string,
  ) {}

  launch(options: LaunchOptions): WorkerProcess {
    const child = this.utility.fork(this.shimPath, [this.workerPath(), options.name], {
      env: workerEnv(options.env),
      cwd: options.cwd,
      stdio: 'pipe',
      serviceName: `prs ${options.name}`,
    });
    return new UtilityWorker(child);
  }
}
