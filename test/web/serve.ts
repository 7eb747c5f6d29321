// A real `prs serve` child process and a real WebSocket client (`ws`) for host tests: the URL it
// prints, its token, requests with their replies matched by id, and the events it pushes.

import type { ChildProcess } from 'node:child_process';
import WebSocket from 'ws';
import type { AppEvent, ServerFrame } from '../../src/common/contract';
import { startPrs } from '../helpers';

export interface Serve {
  child: ChildProcess;
  url: URL;
  token: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Serve> {
  const child = startPrs(['serve', '--port', '0', ...args], { env });
  let out = '';
  const printed = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /is at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`prs serve exited with ${code}:\n${out}`)));
  });
  const url = new URL(printed);
  return {
    child,
    url,
    token: url.hash.replace(/^#token=/, ''),
    port: Number(url.port),
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export type Reply = Extract<ServerFrame, { kind: 'res' }>;

export interface Client {
  ws: WebSocket;
  /** Sends a raw text frame and resolves with the reply carrying `id` (or id null for unreadable ones). */
  raw(text: string | Buffer, id: number | null, binary?: boolean): Promise<Reply>;
  request(method: string, params?: unknown): Promise<Reply>;
  events: AppEvent[];
  /** Resolves with the first pushed event (from now or earlier) that `match` accepts. */
  waitForEvent(match: (e: AppEvent) => boolean): Promise<AppEvent>;
  closed: Promise<{ code: number }>;
}

export async function connect(serve: Serve, base = `ws://127.0.0.1:${serve.port}`): Promise<Client> {
  const ws = new WebSocket(`${base}/ws`, ['prs', `prs-token.${serve.token}`]);
  const waiting = new Map<number | null, Array<{ resolve(r: Reply): void; reject(e: Error): void }>>();
  const events: AppEvent[] = [];
  const watchers = new Set<() => void>();
  ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    if (frame.kind === 'event') {
      events.push(frame.event);
      for (const w of watchers) w();
      return;
    }
    const list = waiting.get(frame.id);
    list?.shift()?.resolve(frame);
  });
  // A request whose connection closes (the host died, or cut this client off) fails at once.
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.once('close', (code) => {
      for (const list of waiting.values())
        for (const w of list.splice(0)) w.reject(new Error(`the connection closed (${code}) before a reply`));
      resolve({ code });
    }),
  );
  ws.on('error', () => undefined); // a refused or cut connection shows as `closed`
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
    void closed.then(({ code }) => reject(new Error(`the connection closed (${code}) before it opened`)));
  });
  let nextId = 1;
  const raw = (text: string | Buffer, id: number | null, binary = false) =>
    new Promise<Reply>((resolve, reject) => {
      if (ws.readyState !== WebSocket.OPEN) return reject(new Error('the connection is closed'));
      const list = waiting.get(id) ?? [];
      list.push({ resolve, reject });
      waiting.set(id, list);
      ws.send(text, { binary });
    });
  return {
    ws,
    raw,
    request: (method, params) => {
      const id = nextId++;
      return raw(JSON.stringify({ kind: 'req', id, method, params }), id);
    },
    events,
    waitForEvent: (match) =>
      new Promise((resolve) => {
        const check = () => {
          const e = events.find(match);
          if (!e) return;
          watchers.delete(check);
          resolve(e);
        };
        watchers.add(check);
        check();
      }),
    closed,
  };
}
