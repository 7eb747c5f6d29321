// Paging through a run's append_row file without ever loading it: a sparse line index (the byte
// offset of every STRIDE-th line), built lazily and extended as far as a request needs, so "jump
// to line L" seeks to the nearest indexed line before L and scans at most STRIDE lines. A 1 GB file
// shows its first page at once; the index of the rest is built in the background after opening.
// The file may still grow (a live run appends to it): the index covers a prefix and grows with it.

import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import type { OutputPage } from '../common/api';
import { LINE_INDEX_STRIDE, lineIndexPath } from '../common/lineIndex';

/** Lines between two indexed offsets: a jump scans at most this many lines (~100 KB at 100 B/line). */
export const STRIDE = 1024;
const SCAN_CHUNK = 4 * 1024 * 1024;
const PAGE_CHUNK = 64 * 1024;
/** A single line longer than this is cut in the page (the file keeps it whole). */
const MAX_LINE_BYTES = 1024 * 1024;

export class LineIndex {
  /** offsets[k] = byte offset of line k * STRIDE. */
  readonly offsets: number[] = [0];
  /** Bytes scanned so far and the lines that ended in them. */
  scannedBytes = 0;
  scannedLines = 0;
  /** Size when last looked at. */
  size = 0;
  private building: Promise<void> | null = null;

  constructor(readonly file: string) {}

  /** Lines in the file, when the index has reached its end (a last line without "\n" counts). */
  get totalLines(): number | null {
    if (this.scannedBytes < this.size) return null;
    return this.scannedLines + (this.trailing ? 1 : 0);
  }
  private trailing = false;

  async refreshSize(): Promise<number> {
    this.size = (await stat(this.file)).size;
    return this.size;
  }

  /** Scan on until `line` is indexed (or the end); one scan at a time, others wait on it. */
  async extendTo(line: number, signal?: AbortSignal): Promise<void> {
    while (this.scannedLines < line && this.scannedBytes < this.size) {
      if (signal?.aborted) return;
      if (!this.building) this.building = this.scanSome(line).finally(() => (this.building = null));
      await this.building;
    }
  }

  /** Scans the whole file in the background (after the first page is out), until the host closes. */
  buildAll(): void {
    void this.extendTo(Number.MAX_SAFE_INTEGER, background.signal).catch(() => undefined);
  }

  private async scanSome(untilLine: number): Promise<void> {
    const fh = await open(this.file, 'r');
    const buf = Buffer.allocUnsafe(SCAN_CHUNK);
    try {
      // A bounded slice per call so concurrent page requests are answered between slices.
      const stopAt = Math.min(this.size, this.scannedBytes + 64 * SCAN_CHUNK);
      while (this.scannedBytes < stopAt && this.scannedLines < untilLine) {
        const { bytesRead } = await fh.read(
          buf,
          0,
          Math.min(SCAN_CHUNK, this.size - this.scannedBytes),
          this.scannedBytes,
        );
        if (bytesRead === 0) break;
        let pos = 0;
        let lines = this.scannedLines;
        const base = this.scannedBytes;
        for (;;) {
          const nl = buf.indexOf(10, pos);
          if (nl < 0 || nl >= bytesRead) break;
          lines++;
          pos = nl + 1;
          if (lines % STRIDE === 0) this.offsets[lines / STRIDE] = base + pos;
        }
        this.scannedLines = lines;
        this.scannedBytes = base + bytesRead;
        // An unterminated last line counts as a line; once the file grows its "\n" is found on.
        this.trailing = pos < bytesRead;
      }
    } finally {
      await fh.close();
    }
  }

  /** The byte offset of `line`: from the nearest indexed line, scanning at most STRIDE lines. */
  async offsetOfLine(line: number): Promise<{ offset: number; line: number }> {
    await this.refreshSize();
    await this.extendTo(line);
    const total = this.scannedLines + (this.trailing ? 1 : 0);
    const target = Math.max(0, Math.min(line, Math.max(0, total - 1)));
    const k = Math.min(Math.floor(target / STRIDE), this.offsets.length - 1);
    let offset = this.offsets[k];
    let at = k * STRIDE;
    if (at === target) return { offset, line: at };
    const fh = await open(this.file, 'r');
    try {
      const buf = Buffer.allocUnsafe(PAGE_CHUNK);
      while (at < target && offset < this.size) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) break;
        let pos = 0;
        while (at < target) {
          const nl = buf.indexOf(10, pos);
          if (nl < 0 || nl >= bytesRead) break;
          at++;
          pos = nl + 1;
        }
        offset += at < target ? bytesRead : pos;
      }
    } finally {
      await fh.close();
    }
    return { offset, line: at };
  }

  /** Line number of a byte offset that starts a line, when the index can tell cheaply. */
  lineOfOffset(offset: number): number | null {
    if (offset === 0) return 0;
    if (offset > this.scannedBytes) return null;
    // Binary search for the last indexed offset <= offset, then it is only known exactly if equal.
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return this.offsets[lo] === offset ? lo * STRIDE : null;
  }
}

const indexes = new Map<string, LineIndex>();

// Background scans of a large file can take minutes; they hold the event loop open, so a host told
// to stop (Ctrl-C, SIGTERM) must end them or it lingers until the scan is done.
let background = new AbortController();

/** Ends every background scan (each stops after its current slice); later ones run again. */
export function stopBackgroundIndexing(): void {
  background.abort();
  background = new AbortController();
}

/** One index per file for the host's life; a file that shrank (rewritten) starts afresh. */
export async function indexFor(file: string): Promise<LineIndex> {
  let idx = indexes.get(file);
  const size = (await stat(file)).size;
  if (!idx || size < idx.scannedBytes) {
    idx = new LineIndex(file);
    await seedFromEngineIndex(idx, size);
    indexes.set(file, idx);
  }
  idx.size = size;
  return idx;
}

/**
 * Starts from the line index the engine wrote beside the output (src/common/lineIndex.ts), when
 * there is one: then no line needs scanning before a jump, however large the file.
 */
async function seedFromEngineIndex(idx: LineIndex, size: number): Promise<void> {
  if (STRIDE !== LINE_INDEX_STRIDE) return;
  const raw = await readFile(lineIndexPath(idx.file)).catch(() => null);
  if (!raw || raw.length < 8) return;
  const offsets: number[] = [];
  for (let i = 0; i + 8 <= raw.length; i += 8) {
    const o = Number(raw.readBigUInt64LE(i));
    // Entries must rise and lie inside the file; anything else means the index is not this file's.
    if (o > size || (offsets.length > 0 && o <= offsets[offsets.length - 1]!) || (i === 0 && o !== 0)) return;
    offsets.push(o);
  }
  idx.offsets.length = 0;
  idx.offsets.push(...offsets);
  idx.scannedLines = (offsets.length - 1) * STRIDE;
  idx.scannedBytes = offsets[offsets.length - 1]!;
}

/** Reads up to maxLines whole lines from a byte offset (moved back to a line start if needed). */
export async function readLinesAt(
  fh: FileHandle,
  size: number,
  start: number,
  maxLines: number,
): Promise<{ start: number; next: number; lines: string[] }> {
  let pos = Math.max(0, Math.min(start, size));
  // A byte offset in the middle of a line shows from that line's start.
  if (pos > 0 && pos < size) {
    const back = Math.min(pos, PAGE_CHUNK);
    const buf = Buffer.allocUnsafe(back);
    await fh.read(buf, 0, back, pos - back);
    const nl = buf.lastIndexOf(10);
    if (nl >= 0) pos = pos - back + nl + 1;
    else if (back === pos) pos = 0;
  }
  const first = pos;
  const lines: string[] = [];
  const buf = Buffer.allocUnsafe(PAGE_CHUNK);
  let carry: Buffer | null = null;
  let lineStart = pos;
  /** Inside an enormous line whose head is already shown: drop bytes up to its end. */
  let skipping = false;
  while (lines.length < maxLines && pos < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) break;
    let chunk = buf.subarray(0, bytesRead);
    if (carry) chunk = Buffer.concat([carry, chunk]);
    pos += bytesRead;
    let from = 0;
    if (skipping) {
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        lineStart = pos;
        continue;
      }
      skipping = false;
      from = nl + 1;
      lineStart = pos - chunk.length + from;
    }
    let nl: number;
    while (lines.length < maxLines && (nl = chunk.indexOf(10, from)) >= 0) {
      lines.push(lineText(chunk.subarray(from, nl)));
      lineStart += nl + 1 - from;
      from = nl + 1;
    }
    carry = from < chunk.length ? Buffer.from(chunk.subarray(from)) : null;
    if (carry && carry.length > MAX_LINE_BYTES && lines.length < maxLines) {
      lines.push(lineText(carry.subarray(0, MAX_LINE_BYTES)) + ' …');
      carry = null;
      skipping = true;
      lineStart = pos;
    }
  }
  if (lines.length < maxLines && carry && pos >= size) {
    lines.push(lineText(carry));
    lineStart += carry.length;
  }
  return { start: first, next: lineStart, lines };
}

function lineText(b: Buffer): string {
  const s = b.toString('utf8');
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** A page by byte offset or by line number. `rel` is what the page reports as its path. */
export async function readPage(
  file: string,
  rel: string,
  opts: { start?: number; line?: number; maxLines?: number },
): Promise<OutputPage> {
  const idx = await indexFor(file);
  const maxLines = Math.max(1, Math.min(opts.maxLines ?? 200, 10_000));
  let start = opts.start ?? 0;
  let firstLine: number | null = null;
  if (opts.line !== undefined) {
    const at = await idx.offsetOfLine(Math.max(0, Math.floor(opts.line)));
    start = at.offset;
    firstLine = at.line;
  }
  const fh = await open(file, 'r');
  let page;
  try {
    page = await readLinesAt(fh, idx.size, start, maxLines);
  } finally {
    await fh.close();
  }
  firstLine ??= idx.lineOfOffset(page.start);
  // The rest of the index is built once someone looks at the file: at once when little is left
  // (a small file, a live run's new rows), so the page can say how many lines there are.
  if (idx.size - idx.scannedBytes <= SCAN_CHUNK) await idx.extendTo(Number.MAX_SAFE_INTEGER);
  else idx.buildAll();
  return { path: rel, ...page, size: idx.size, firstLine, totalLines: idx.totalLines };
}
