// Electron main's side of the host process (src/server/hostProcess.ts): starts it under plain Node
// and relays the API contract in its one framing: request frames in, reply and event frames out.
// `fork` is injected so the wiring is tested under plain Node, with a real host process.

import type { ChildProcess, ForkOptions } from 'node:child_process';
import type { AppEvent, TerminalAck } from '../common/contract';
import { errorFromWire } from '../common/contract';
import type { HostMessage, HostReply } from '../server/hostProcess';
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
      const frame = raw as HostReply;
      if (frame.kind === 'event') return options.onEvent(frame.event);
      if (frame.id === null) {
        // A frame of ours the host could not read: a bug here, not a call to fail.
        if (!frame.ok) console.error(`app host: ${frame.error.name}: ${frame.error.message}`);
        return;
      }
      const waiting = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      if (frame.ok) waiting?.resolve(frame.result);
      else waiting?.reject(errorFromWire(frame.error));
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

  call(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ kind: 'req', id, method, params });
    });
  }

  ack(ack: TerminalAck): void {
    this.send({ kind: 'ack', ack });
  }

  /** Asks the host to stop its runs' workers and exit. */
  close(): void {
    this.send({ kind: 'close' });
  }

  private send(message: HostMessage): void {
    if (this.child.connected) this.child.send(message);
  }
}
