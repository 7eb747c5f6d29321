// Search over a run's append_row file (text or regular expression), streamed in chunks with
// progress, stoppable at any time; never holds more than a chunk of the file. One match per line:
// the line is what the user jumps to. The host runs it in a worker thread with a time budget per
// chunk (searchOffThread): a regular expression such as (a+)+$ can backtrack for minutes on one
// short line, and no request of the user's may hold up the host.

import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SearchMatch } from '../common/api';
import { packageRoot } from '../runtime/paths';

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
  progress(p: SearchProgress): void;
  /** After each chunk of the file: the search is still making headway. */
  chunkDone?(): void;
}

export interface SearchProgress {
  scannedBytes: number;
  size: number;
  matches: SearchMatch[];
  totalMatches: number;
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

/** The query as a regular expression, or an error saying what is wrong with it. */
export function checkQuery(query: string, regex: boolean, caseSensitive: boolean): RegExp {
  if (query === '') throw new Error('search: the query is empty (expected some text or a pattern)');
  return compileQuery(query, regex, caseSensitive);
}

export async function searchFile(file: string, opts: SearchOptions): Promise<SearchResult> {
  const re = checkQuery(opts.query, !!opts.regex, !!opts.caseSensitive);
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
      opts.chunkDone?.();
      report(false);
    }
    report(true);
    return { scannedBytes: pos, size, totalMatches: total, cancelled: false };
  } finally {
    await fh.close();
  }
}

// ---- off the host's thread ----------------------------------------------------------------------

/** What searchWorker.ts is started with. */
export type SearchRequest = Omit<SearchOptions, 'signal' | 'progress' | 'chunkDone'> & { file: string };

export type SearchWorkerMessage =
  | ({ t: 'progress' } & SearchProgress)
  | { t: 'alive' }
  | { t: 'done'; result: SearchResult }
  | { t: 'error'; message: string };

/**
 * A chunk (4 MB) that takes longer than this is a runaway expression, not a big file: a plain
 * pattern scans a chunk in milliseconds, even on a loaded machine.
 */
export const SEARCH_CHUNK_BUDGET_MS = 10_000;

/** The bundled worker entry point (`npm run build` makes it, as it makes the job workers'). */
function searchWorkerPath(): string {
  const file = path.join(packageRoot(), 'out', 'node', 'searchWorker.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first.`);
  return file;
}

/**
 * searchFile in a worker thread. A chunk that makes no headway within `budgetMs` ends the search
 * with an error that says to simplify the expression; an abort ends it as cancelled. Either way the
 * thread is terminated (which stops a regular expression mid-match).
 */
export function searchOffThread(
  file: string,
  opts: SearchOptions & { budgetMs?: number },
): Promise<SearchResult> {
  const { signal, progress, chunkDone: _unused, budgetMs = SEARCH_CHUNK_BUDGET_MS, ...rest } = opts;
  let scanned = { scannedBytes: 0, size: 0, totalMatches: 0 };
  // Anything thrown in here (an empty query, a pattern that does not compile) rejects.
  return new Promise<SearchResult>((resolve, reject) => {
    checkQuery(rest.query, !!rest.regex, !!rest.caseSensitive);
    const worker = new Worker(searchWorkerPath(), { workerData: { ...rest, file } satisfies SearchRequest });
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (end: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      end();
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `/${rest.query}/: the search took too long (over ${budgetMs / 1000} s on one part of ` +
                  'the file) and was stopped; simplify the expression (nested repetition such as ' +
                  '(a+)+ can take exponential time on a single line)',
              ),
            ),
          ),
        budgetMs,
      );
    };
    const onAbort = () => finish(() => resolve({ ...scanned, cancelled: true }));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    // The clock starts with the thread's first message: starting a thread on a loaded machine is
    // not the expression's time.
    worker.on('message', (m: SearchWorkerMessage) => {
      if (settled) return;
      arm();
      if (m.t === 'progress') {
        scanned = { scannedBytes: m.scannedBytes, size: m.size, totalMatches: m.totalMatches };
        progress({
          scannedBytes: m.scannedBytes,
          size: m.size,
          matches: m.matches,
          totalMatches: m.totalMatches,
        });
      } else if (m.t === 'done') finish(() => resolve(m.result));
      else if (m.t === 'error') finish(() => reject(new Error(m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`search: the search thread stopped unexpectedly (exit code ${code})`))),
    );
  });
}
