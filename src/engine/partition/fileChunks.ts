// Sequential reading of one file in large chunks: constant memory, one read per chunk.

import { open } from 'node:fs/promises';
import { PartitionError, describeFsError, throwIfAborted } from './errors';
import { fsPath } from '../../runtime/rawNames';

/** 1 MiB: large enough that per-read overhead vanishes, small enough to keep memory flat. */
export const CHUNK_SIZE = 1 << 20;

export interface FileChunk {
  /** A fresh buffer per chunk: callers may keep slices of it. */
  chunk: Buffer;
  /** Absolute offset of chunk[0]. */
  base: number;
}

/** Yields the file's bytes in order; the handle is closed when iteration ends, however it ends. */
export async function* readChunks(
  file: string,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
): AsyncGenerator<FileChunk> {
  let handle;
  try {
    handle = await open(fsPath(file), 'r');
  } catch (err) {
    throw new PartitionError(describeFsError(err), { file });
  }
  try {
    let base = 0;
    for (;;) {
      throwIfAborted(signal);
      const chunk = Buffer.allocUnsafe(chunkSize);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(chunk, 0, chunkSize, base));
      } catch (err) {
        throw new PartitionError(describeFsError(err), { file, offset: base });
      }
      if (bytesRead === 0) return;
      yield { chunk: bytesRead === chunkSize ? chunk : chunk.subarray(0, bytesRead), base };
      base += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** Reads [start, end) of an open file: used for headers and error messages, never for whole files. */
export async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await open(fsPath(file), 'r');
  try {
    const buf = Buffer.allocUnsafe(end - start);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await handle.read(buf, done, buf.length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** The 1-based line number of a byte offset: only for error messages (it reads up to the offset). */
export async function lineAt(file: string, offset: number): Promise<number> {
  let line = 1;
  for await (const { chunk, base } of readChunks(file)) {
    const stop = Math.min(chunk.length, offset - base);
    for (let i = chunk.indexOf(0x0a); i >= 0 && i < stop; i = chunk.indexOf(0x0a, i + 1)) line++;
    if (base + chunk.length >= offset) break;
  }
  return line;
}
