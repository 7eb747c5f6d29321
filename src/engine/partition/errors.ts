// The one error type of planning: everything here is caused by the user's input (a missing or
// unreadable path, a malformed file, a key that is not there), so the message names the file, the
// line or byte offset, and what was expected.

import { displayPath } from '../../runtime/rawNames';

export interface PartitionErrorWhere {
  file?: string;
  /** 1-based line number, when known. */
  line?: number;
  /** Byte offset in the file, when known. */
  offset?: number;
}

export class PartitionError extends Error {
  override readonly name = 'PartitionError';
  readonly file?: string;
  readonly line?: number;
  readonly offset?: number;

  constructor(message: string, where: PartitionErrorWhere = {}) {
    super(PartitionError.compose(message, where));
    this.file = where.file;
    this.line = where.line;
    this.offset = where.offset;
  }

  private static compose(message: string, where: PartitionErrorWhere): string {
    const at: string[] = [];
    if (where.file !== undefined) at.push(displayPath(where.file));
    if (where.line !== undefined) at.push(`line ${where.line}`);
    if (where.offset !== undefined) at.push(`byte ${where.offset}`);
    return at.length > 0 ? `${at.join(': ')}: ${message}` : message;
  }
}

/** Describes a Node file-system error in words a user can act on. */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    case 'EISDIR':
      return 'is a folder, expected a file';
    case 'ENOTDIR':
      return 'is not a folder';
    default:
      return `cannot be read (${e?.code ?? ''} ${e?.message ?? String(err)})`.replace('( ', '(');
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new Error('planning was aborted');
}
