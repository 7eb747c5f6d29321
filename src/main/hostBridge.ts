// Electron main's side of the host process (src/server/hostProcess.ts): starts it under plain Node
// and relays the API contract: calls in, results and events out. `fork` is injected so the wiring
// is tested under plain Node, with a real host process.

import type { ChildProcess, ForkOptions } from 'node:child_process';
import type { ApiMethod, AppEvent, TerminalAck } from '../common/api';
import type { HostReply, HostRequest } from '../server/hostProcess';
import type { IpcTarget } from './ipc';

type Fork = (modulePath: string, args: string[], options: ForkOptions) => ChildProcess;

export interface HostBridgeOptions {
  fork: Fork;
  /** out/node/host.js */
  hostEntry: string;
  /** The Node executable that runs it: the one `npm start` ran under, else `node` on PATH. */
  nodePath: string;
  env: NodeJS.ProcessEnv;
  onEvent(event: AppEvent): void;
  /** The host process ended (it crashed, or Node is missing): the window says so. */
  onExit(code: number | null, signal: NodeJS.Signals | null): void;
}

export class HostBridge implements IpcTarget {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(options: HostBridgeOptions) {
    this.child = options.fork(options.hostEntry, [], {
      execPath: options.nodePath,
      env: { ...options.env, ELECTRON_RUN_AS_NODE: undefined },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (raw) => {
      const reply = raw as HostReply;
      if (reply.t === 'event') return options.onEvent(reply.event);
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.ok) waiting?.resolve(reply.value);
      else waiting?.reject(new Error(reply.error));
    });
    this.child.on('exit', (code, signal) => {
      for (const w of this.pending.values()) w.reject(new Error('the app host process stopped'));
      this.pending.clear();
      options.onExit(code, signal);
    });
    this.child.on('error', (err) => {
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    });
  }

  call(method: ApiMethod, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ t: 'call', id, method, params });
    });
  }

  ack(ack: TerminalAck): void {
    this.send({ t: 'ack', ack });
  }

  /** Asks the host to stop its runs' workers and exit. */
  close(): void {
    this.send({ t: 'close' });
  }

  private send(request: HostRequest): void {
    if (this.child.connected) this.child.send(request);
  }
}
