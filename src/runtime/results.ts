// The return-value contract (reference: "The entry-script contract"), stated the same way by every
// runtime so users learn it once.

import type { ErrorInfo } from '../common/protocol';

/** One append_row line: strings as they are, anything else as JSON. */
export function formatLine(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json;
}

/** Said (once per run, by the leader) when append_row lines would not be one per element. */
export const NEWLINE_WARNING =
  'run() returned an element holding a newline: it became several lines of the output file, which append_row ' +
  'means to hold one line per element (replace or escape the newlines, or return JSON-encodable values)';

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (undefined)';
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'Object'})`;
  return `a ${typeof value} (${String(value).slice(0, 80)})`;
}

export function returnValueError(value: unknown, inputs: number, expected: string): ErrorInfo {
  return {
    type: 'ReturnValueError',
    message:
      `run() returned ${describe(value)}; it must return ${expected} with one element per successful input ` +
      `(this mini-batch had ${inputs} inputs). Every returned element counts as one success and, with ` +
      `append_row, becomes one line of the output file.`,
  };
}
