// Search over a run's append_row file (text or regular expression), streamed in chunks with
// progress, stoppable at any time; never holds more than a chunk of the file. One match per line:
// the line is what the user jumps to.

import { open } from 'node:fs/promises';
import type { SearchMatch } from '../../common/api';

const CHUNK = 4 * 1024 * 1024;
const PROGRESS_MS = 100;
/** A matched line longer than this is cut in the result. */
const MAX_MATCH_TEXT = 2000;

export interface SearchOptions {
  query: string;
  regex?: boolean;
  caseSensitive?: boolean;
  /** Stop collecting matches after this many (the count goes on). Default 1000. */
  limit?: number;
  signal?: AbortSignal;
  /** Matches found since the last call, and how far the scan is. */
  progress(p: { scannedBytes: number; size: number; matches: SearchMatch[]; totalMatches: number }): void;
}

export interface SearchResult {
  scannedBytes: number;
  size: number;
  totalMatches: number;
  cancelled: boolean;
}

/** Throws a message naming the pattern when a regular expression does not compile. */
export function compileQuery(query: string, regex: boolean, caseSensitive: boolean): RegExp {
  const source = regex ? query : query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    return new RegExp(source, `gm${caseSensitive ? '' : 'i'}`);
  } catch (err) {
    throw new Error(`/${query}/: ${(err as Error).message} (expected a JavaScript regular expression)`);
  }
}

export async function searchFile(file: string, opts: SearchOptions): Promise<SearchResult> {
  if (opts.query === '') throw new Error('search: the query is empty (expected some text or a pattern)');
  const re = compileQuery(opts.query, !!opts.regex, !!opts.caseSensitive);
  const limit = opts.limit ?? 1000;
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    let line = 0;
    let carry: Buffer | null = null;
    let total = 0;
    let pending: SearchMatch[] = [];
    let lastReport = Date.now();
    const report = (force: boolean) => {
      if (!force && Date.now() - lastReport < PROGRESS_MS) return;
      lastReport = Date.now();
      opts.progress({ scannedBytes: pos, size, matches: pending, totalMatches: total });
      pending = [];
    };
    while (pos < size) {
      if (opts.signal?.aborted) return { scannedBytes: pos, size, totalMatches: total, cancelled: true };
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0) break;
      const chunkStart = pos - (carry?.length ?? 0);
      let chunk = buf.subarray(0, bytesRead);
      if (carry) chunk = Buffer.concat([carry, chunk]);
      pos += bytesRead;
      // Only whole lines here; the last partial line waits for the next chunk (or the end).
      const lastNl = pos >= size ? chunk.length : chunk.lastIndexOf(10) + 1;
      carry = lastNl < chunk.length ? Buffer.from(chunk.subarray(lastNl)) : null;
      if (lastNl === 0) continue;
      const text = chunk.subarray(0, lastNl).toString('utf8');
      let counted = 0;
      // Byte offsets advance incrementally: a multi-byte character makes chars and bytes differ.
      let byteAt = chunkStart;
      let charAt = 0;
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(text)) !== null) {
        const lineStart = text.lastIndexOf('\n', m.index - 1) + 1;
        let lineEnd = text.indexOf('\n', m.index);
        if (lineEnd < 0) lineEnd = text.length;
        for (let i = text.indexOf('\n', counted); i >= 0 && i < lineStart; i = text.indexOf('\n', i + 1)) {
          line++;
          counted = i + 1;
        }
        counted = Math.max(counted, lineStart);
        total++;
        if (total <= limit) {
          let t = text.slice(lineStart, lineEnd);
          if (t.endsWith('\r')) t = t.slice(0, -1);
          pending.push({
            line,
            offset: (byteAt += Buffer.byteLength(text.slice(charAt, (charAt = lineStart)))),
            text: t.length > MAX_MATCH_TEXT ? t.slice(0, MAX_MATCH_TEXT) + ' …' : t,
          });
        }
        re.lastIndex = lineEnd + 1;
        if (re.lastIndex > text.length) break;
      }
      // The rest of this chunk's lines.
      for (let i = text.indexOf('\n', counted); i >= 0; i = text.indexOf('\n', i + 1)) line++;
      report(false);
    }
    report(true);
    return { scannedBytes: pos, size, totalMatches: total, cancelled: false };
  } finally {
    await fh.close();
  }
}
