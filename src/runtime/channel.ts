// How a worker talks back to the leader. Under child_process.fork the leader gives it a pipe of its
// own (PRS_CHANNEL_FD): each message is one JSON line written synchronously, so it has left the
// process before the next mini-batch starts (a crash in that one cannot swallow the result of the
// last), and the leader reads many per chunk. Node's IPC channel, the fallback (an Electron
// utilityProcess maps it onto its parentPort), costs several times more per message.

import { writeSync } from 'node:fs';
import net from 'node:net';
import type { LeaderMessage, WorkerMessage } from '../common/protocol';
import { lineSplitter } from '../common/lineSplitter';

const fd = process.env.PRS_CHANNEL_FD ? Number(process.env.PRS_CHANNEL_FD) : null;

/** The leader's result pipe, when there is one (a runtime's own process may write to it too). */
export const channelFd = fd;

/**
 * The leader's result socket for a process the worker starts (see ResultSocket in
 * src/engine/launcher.ts). Both launchers give one, whether or not there is a result pipe.
 */
export const resultSocketPath = process.env.PRS_RESULT_SOCKET || undefined;

let leaderGone: () => void = () => undefined;

/**
 * What to do once the leader's pipe is gone (EPIPE): the process entry point ends the process, which
 * is its call to make, not the channel's.
 */
export function whenLeaderGone(handler: () => void): void {
  leaderGone = handler;
}

export function sendToLeader(message: WorkerMessage): void {
  if (fd === null) {
    process.send?.(message);
    return;
  }
  const data = Buffer.from(JSON.stringify(message) + '\n', 'utf8');
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += writeSync(fd, data, offset);
    } catch (err) {
      // The leader is gone: nothing left to tell.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE') return leaderGone();
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

const inputFd = process.env.PRS_INPUT_FD ? Number(process.env.PRS_INPUT_FD) : null;

/** Whether the leader's messages come on a pipe of their own (fd PRS_INPUT_FD, from ForkLauncher). */
export const hasInputPipe = inputFd !== null;

/** The leader's messages, one JSON line each, on the pipe ForkLauncher gives the worker. */
export function readLeaderLines(onMessage: (message: LeaderMessage) => void): void {
  const input = new net.Socket({ fd: inputFd!, readable: true, writable: false });
  input.setEncoding('utf8');
  input.on(
    'data',
    lineSplitter((line) => onMessage(JSON.parse(line) as LeaderMessage)),
  );
}
