// A big return's lines leave the worker as a file, not in the message. A 100,000-line return sent
// inline is a multi-megabyte JSON line that the leader reads, joins, parses into a string and turns
// into a Buffer again before it reaches the output: several copies of it at once in the leader's
// memory, and garbage that V8 collects lazily, so the leader's peak memory grew with the output
// (263 MB for a 10-million-line output, issue 15). Written here to a file the leader copies a chunk
// at a time, the leader's memory stays flat whatever run() returns.
//
// Only under a leader that asked for it (PRS_SPILL_DIR, a private folder from ForkLauncher on the
// same machine): an agent relays its workers' results over the network, where a path means nothing.

import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkerMessage } from '../common/protocol';

/** Below this many characters, lines travel in the message: a file costs more than it saves. */
export const SPILL_CHARS = 256 * 1024;

let written = 0;

/**
 * The message as it should leave: each result whose lines are large gets them in a file of `dir`
 * (`linesFile`) instead. The file is complete before the message is sent.
 */
export function spillLargeLines(message: WorkerMessage, dir: string | undefined): WorkerMessage {
  if (!dir || message.t !== 'results') return message;
  let results = message.results;
  for (const [i, r] of results.entries()) {
    if (r.status !== 'done' || !r.lines || charCount(r.lines) < SPILL_CHARS) continue;
    const file = path.join(dir, `${process.pid}-${written++}.lines`);
    try {
      writeFileSync(file, r.lines.join('\n') + '\n', { mode: 0o600 });
    } catch {
      // A full disk, say: these lines go in the message, as without a folder.
      rmSync(file, { force: true });
      continue;
    }
    if (results === message.results) results = [...results];
    const { lines: _sent, ...rest } = r;
    results[i] = { ...rest, linesFile: file };
  }
  return results === message.results ? message : { ...message, results };
}

function charCount(lines: string[]): number {
  let n = lines.length;
  for (const line of lines) n += line.length;
  return n;
}
