// The desktop app's host: the same AppHost that `prs serve` runs, in a plain Node process that the
// Electron main process starts and talks to over the fork IPC channel. The engine, its native
// modules (better-sqlite3, node-pty) and the workers thus always run under the Node they were
// built for, never under Electron's ABI; Electron's main process keeps only the window. The
// messages are the contract's frames, as over the WebSocket, plus one to stop.

import path from 'node:path';
import type { ClientFrame, ServerFrame } from '../common/contract';
import { answerFrame, refusal, wireError } from '../common/contract';
import { packageRoot } from '../runtime/paths';
import { AppHost } from '../host/appHost';

export type HostMessage = ClientFrame | { kind: 'close' };
export type HostReply = ServerFrame;

function send(frame: HostReply): void {
  process.send?.(frame);
}

const host = new AppHost({
  examplesDir: process.env.PRS_EXAMPLES_DIR ?? path.join(packageRoot(), 'examples'),
  runsDir: process.env.PRS_RUNS_DIR,
});
const conn = host.connect((event) => send({ kind: 'event', event }));

async function close(): Promise<void> {
  conn.close();
  await host.close();
  process.exit(0);
}

process.on('message', (message: unknown) => {
  if ((message as { kind?: unknown } | null)?.kind === 'close') return void close();
  answerFrame(message, conn).then(
    (reply) => reply && send(reply),
    (err: unknown) => send(refusal(null, wireError(err).message)),
  );
});

// The window's process went away: stop the workers and leave.
process.on('disconnect', () => void close());
