// One worker process on an agent, as the leader's pool sees it: the same WorkerProcess a local
// fork is. Messages to it go to its agent's inbox; what it says comes back on the run session's
// outbox; its output streams are rebuilt here so the leader writes the one log tree.

import { PassThrough } from 'node:stream';
import type { LeaderMessage, WorkerMessage } from '../../common/protocol';
import type { ExitInfo, LaunchOptions, WorkerProcess } from '../launcher';
import type { FromAgent } from './wire';

export class RemoteWorker implements WorkerProcess {
  /** Its pid is on another machine: the leader's monitor must not read /proc for it. */
  readonly pid = undefined;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  /** The agent it runs on, once placed. */
  agent: string | null = null;
  private exited = false;
  private readonly messageListeners: Array<(m: WorkerMessage) => void> = [];
  private readonly exitListeners: Array<(e: ExitInfo) => void> = [];
  /** Sent before it was placed: delivered once it is. */
  readonly unsent: LeaderMessage[] = [];

  constructor(
    readonly name: string,
    readonly nodeId: string,
    readonly options: LaunchOptions,
    private readonly post: (agent: string, message: { m: LeaderMessage } | { kill: NodeJS.Signals }) => void,
  ) {}

  get isExited(): boolean {
    return this.exited;
  }

  send(message: LeaderMessage): void {
    if (this.exited) return;
    if (this.agent !== null) return this.post(this.agent, { m: message });
    // Never placed (no agent for its node): a stop needs no agent.
    if (message.t === 'stop')
      return this.finish({ code: 0, signal: null, reason: 'clean-exit', returnCode: 0 });
    this.unsent.push(message);
  }

  onMessage(listener: (m: WorkerMessage) => void): void {
    this.messageListeners.push(listener);
  }

  onExit(listener: (e: ExitInfo) => void): void {
    this.exitListeners.push(listener);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exited) return;
    if (this.agent === null) this.finish({ code: null, signal, reason: 'killed', returnCode: -9 });
    else this.post(this.agent, { kill: signal });
  }

  placed(agent: string): void {
    this.agent = agent;
    for (const m of this.unsent.splice(0)) this.post(agent, { m });
  }

  deliver(from: FromAgent): void {
    if (this.exited) return;
    switch (from.k) {
      case 'msg':
        for (const l of this.messageListeners) l(from.m);
        break;
      case 'out':
        this.stdout.write(from.text);
        break;
      case 'err':
        this.stderr.write(from.text);
        break;
      case 'exit':
        this.finish(from.exit);
        break;
      case 'started':
        break;
    }
  }

  finish(exit: ExitInfo): void {
    if (this.exited) return;
    this.exited = true;
    this.stdout.end();
    this.stderr.end();
    for (const l of this.exitListeners) l(exit);
  }
}
