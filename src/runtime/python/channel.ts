// The worker's end of the Python driver's control socket. The driver connects twice to one Unix
// socket: a control connection (first byte 'C': one JSON object per line each way) and a stderr
// connection (first byte 'E': the raw bytes of its stderr terminal). A Unix socket, because a
// pseudo-terminal carries no extra file descriptors.

import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface ChannelHandlers {
  /** A control message from the driver. */
  onMessage(message: unknown): void;
  /** Bytes the script wrote to stderr, escape sequences and carriage returns intact. */
  onStderr(chunk: Buffer): void;
  /**
   * A control line that is not JSON: the driver (or code that wrote to its socket) broke the
   * protocol. Never an exception: inline Python workers run inside the leader.
   */
  onBadLine(detail: string): void;
}

export class DriverChannel {
  /** The socket path the driver gets in its environment. */
  readonly path: string;
  /** A private folder (mode 0700) for the socket and the driver's state file. */
  readonly dir: string;
  private readonly server: net.Server;
  private control?: net.Socket;
  private stderrSocket?: net.Socket;
  private stderrEnded = false;
  private corked = false;
  private stderrSeen = false;
  private controlEnded = false;
  private readonly controlEndWaiters: Array<() => void> = [];
  private readonly stderrWaiters: Array<() => void> = [];
  private readonly controlWaiters: Array<() => void> = [];

  constructor(private readonly handlers: ChannelHandlers) {
    // A private folder (mode 0700): nobody else on the machine can connect and impersonate the driver.
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'prs-py-'));
    this.path = path.join(this.dir, 'ctl.sock');
    this.server = net.createServer((socket) => this.accept(socket));
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get connected(): boolean {
    return this.control !== undefined;
  }

  /** Resolves once the driver's control connection is open. */
  whenConnected(): Promise<void> {
    return this.control ? Promise.resolve() : new Promise((resolve) => this.controlWaiters.push(resolve));
  }

  send(message: unknown): void {
    if (!this.control) throw new Error('the Python driver is not connected');
    // The replacer costs a call per value: only tables (parquet rows) need it.
    const batches = (message as { batches?: Array<{ table?: unknown }> }).batches;
    const table = batches?.some((b) => b.table !== undefined) ?? false;
    // Messages sent in one turn of the event loop (the next mini-batches for every result that
    // arrived in one read) leave in one system call, not one each: a tenth of the leader's CPU on a
    // job of 20,000 one-item mini-batches was socket writes.
    if (!this.corked) {
      this.corked = true;
      const control = this.control;
      control.cork();
      process.nextTick(() => {
        this.corked = false;
        control.uncork();
      });
    }
    this.control.write((table ? JSON.stringify(message, jsonSafe) : JSON.stringify(message)) + '\n');
  }

  /** Resolves when the control connection has closed (everything on it read), or after `timeoutMs`. */
  controlClosed(timeoutMs: number): Promise<void> {
    if (this.controlEnded || !this.control) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.controlEndWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Resolves when the stderr connection has delivered everything (the forwarder reached EOF), or
   * after `timeoutMs` if it never connected or never ends (a grandchild still holding stderr).
   */
  stderrDrained(timeoutMs: number): Promise<void> {
    if (this.stderrEnded) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.stderrSeen ? timeoutMs : Math.min(timeoutMs, 500));
      this.stderrWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.control?.destroy();
    this.stderrSocket?.destroy();
    if (this.server.listening) this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private accept(socket: net.Socket): void {
    socket.once('data', (first: Buffer) => {
      const kind = first[0];
      const rest = first.subarray(1);
      if (kind === 0x43 /* C */ && !this.control) {
        this.control = socket;
        this.readLines(socket, rest);
        socket.on('close', () => {
          this.controlEnded = true;
          for (const resolve of this.controlEndWaiters.splice(0)) resolve();
        });
        for (const resolve of this.controlWaiters.splice(0)) resolve();
      } else if (kind === 0x45 /* E */ && !this.stderrSeen) {
        this.stderrSeen = true;
        this.stderrSocket = socket;
        if (rest.length > 0) this.handlers.onStderr(rest);
        socket.on('data', (chunk: Buffer) => this.handlers.onStderr(chunk));
        socket.on('close', () => {
          this.stderrEnded = true;
          for (const resolve of this.stderrWaiters.splice(0)) resolve();
        });
      } else {
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
  }

  private deliver(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      const shown = line.length > 200 ? line.slice(0, 200) + '…' : line;
      this.handlers.onBadLine(`a control line that is not JSON (${JSON.stringify(shown)})`);
      return;
    }
    this.handlers.onMessage(message);
  }

  private readLines(socket: net.Socket, first: Buffer): void {
    // Replies can be large (one line per returned element): collect chunks, split on newlines.
    let pending: Buffer[] = [];
    const consume = (chunk: Buffer): void => {
      let start = 0;
      let nl = chunk.indexOf(0x0a);
      while (nl !== -1) {
        const piece = chunk.subarray(start, nl);
        const line = pending.length > 0 ? Buffer.concat([...pending, piece]) : piece;
        pending = [];
        this.deliver(line.toString('utf8'));
        start = nl + 1;
        nl = chunk.indexOf(0x0a, start);
      }
      if (start < chunk.length) pending.push(chunk.subarray(start));
    };
    if (first.length > 0) consume(first);
    socket.on('data', consume);
  }
}

/** JSON for Python: bigint (parquet INT64) as a number when exact, else a string; bytes as text. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}
