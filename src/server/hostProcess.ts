// The desktop app's host: the same AppHost that `prs serve` runs, in a plain Node process that the
// Electron main process starts and talks to over the fork IPC channel. The engine, its native
// modules (better-sqlite3, node-pty) and the workers thus always run under the Node they were
// built for, never under Electron's ABI; Electron's main process keeps only the window.

import path from 'node:path';
import type { ApiMethod, AppEvent, TerminalAck } from '../common/api';
import { packageRoot } from '../runtime/paths';
import { AppHost } from '../host/appHost';

export type HostRequest =
  | { t: 'call'; id: number; method: ApiMethod; params: unknown }
  | { t: 'ack'; ack: TerminalAck }
  | { t: 'close' };

export type HostReply =
  | { t: 'result'; id: number; ok: true; value: unknown }
  | { t: 'result'; id: number; ok: false; error: string }
  | { t: 'event'; event: AppEvent };

function send(reply: HostReply): void {
  process.send?.(reply);
}

const host = new AppHost({
  examplesDir: process.env.PRS_EXAMPLES_DIR ?? path.join(packageRoot(), 'examples'),
  runsDir: process.env.PRS_RUNS_DIR,
});
const conn = host.connect((event) => send({ t: 'event', event }));

async function close(): Promise<void> {
  conn.close();
  await host.close();
  process.exit(0);
}

process.on('message', (raw) => {
  const request = raw as HostRequest;
  switch (request.t) {
    case 'call':
      conn.call(request.method, request.params).then(
        (value) => send({ t: 'result', id: request.id, ok: true, value }),
        (err: unknown) =>
          send({ t: 'result', id: request.id, ok: false, error: (err as Error)?.message ?? String(err) }),
      );
      break;
    case 'ack':
      try {
        conn.ack(request.ack);
      } catch (err) {
        console.error(`prs host: ${(err as Error).message}`); // a malformed ack is dropped, not fatal
      }
      break;
    case 'close':
      void close();
      break;
  }
});

// The window's process went away: stop the workers and leave.
process.on('disconnect', () => void close());
