// One line a worker process sent the leader, read without trusting it: a worker is another
// process (user code shares it), so a line that is not a message is the worker's fault, named,
// never an exception thrown in the leader.

import type { WorkerMessage } from '../common/protocol';

const KINDS = new Set(['ready', 'init-failed', 'results']);
const SHOWN = 200;

/** The message, or what is wrong with the line (for the worker's protocol error). */
export function parseWorkerLine(line: string): WorkerMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return `a line that is not JSON (${excerpt(line)}); expected one JSON message per line`;
  }
  if (typeof value !== 'object' || value === null || !KINDS.has((value as { t?: unknown }).t as string))
    return `a line that is not a worker message (${excerpt(line)}); expected an object whose "t" is ready, init-failed or results`;
  if ((value as { t: string }).t === 'results' && !Array.isArray((value as { results?: unknown }).results))
    return `a results message without a list of results (${excerpt(line)})`;
  return value as WorkerMessage;
}

function excerpt(line: string): string {
  return JSON.stringify(line.length > SHOWN ? line.slice(0, SHOWN) + '…' : line);
}
