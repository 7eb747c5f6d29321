// Grouped commits of finished attempts: their output lines are appended as they arrive, then, per
// group, one fdatasync, one journal transaction and the processed_mini-batches.csv rows. One group at
// a time, so the journal's output_end always describes bytes that are already durable; bytes
// appended beyond it (a crash before their commit) are cut off when the run resumes.
//
// Why append at once rather than at the commit: a worker's rows, held until the group's fdatasync
// returns, piled up in the leader's memory while the disk was slow (hundreds of MB on a fast
// producer); handed to the file at once they sit in the page cache instead (issue 15).

import { open, rename, rm, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { LINE_INDEX_STRIDE, lineIndexPath } from '../common/lineIndex';
import type { AttemptRow, Journal } from './journal';
import { describeFsError } from './inputError';
import { csvField } from '../common/csv';
import { isoTime, LogFile, PROCESSED_CSV_COLUMNS } from './logTree';

export interface FinishedAttempt {
  row: AttemptRow;
  lines?: string[];
  /** The lines in a file instead (a big return, src/runtime/spillLines.ts): copied, then deleted. */
  linesFile?: string;
}

/** A lines file waiting for its turn in the output: its path and its size when it was added. */
interface FilePiece {
  file: string;
  bytes: number;
}

/** What a lines file is copied through: the leader holds this much of it at a time. */
const COPY_CHUNK = 1 << 20;

// How long finished attempts gather before a commit. Each commit costs an fdatasync and a
// transaction whatever its size: at 50 ms a run of slow mini-batches commits a few at a time instead
// of one each (the leader's share of a CPU-bound run drops by a quarter), and a crash costs at most
// 50 ms of work to redo on resume.
const GROUP_DELAY_MS = 50;
/** Output gathered before a write, at most (see drain). */
const GATHER_MS = 10;
const GATHER_BYTES = 64 * 1024;

export class CommitLog {
  /** Attempts waiting for their commit, each with where its output bytes end. */
  private pending: Array<{ row: AttemptRow; end: number }> = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private output: FileHandle | null = null;
  /** The line index beside the output (src/common/lineIndex.ts); null after a resume. */
  private lineIndex: FileHandle | null = null;
  private lines = 0;
  /** The end of the committed (durable, journalled) output. */
  private end: number;
  /** The end of the output handed to the file so far, committed or not. */
  private appended: number;
  /** Output not yet handed to the file, in order: bytes, and lines files to copy. */
  private queued: Array<Buffer | FilePiece> = [];
  /** The end of what the drain has written (or skipped after a write error): where it indexes. */
  private drained: number;
  private copyBuffer: Buffer | null = null;
  /** Whether the drain's next byte starts a line (a lines file is copied in chunks that split lines). */
  private atLineStart = true;
  /** The writer of `queued`, while there is one. */
  private draining: Promise<void> | null = null;
  /** Ends the drain's current wait for more output (see gather). */
  private endGather: (() => void) | null = null;
  /** The end of what has been written (or skipped after a write error): what a commit may sync. */
  private written: number;
  /** Commits waiting for the output up to their end to be written (see appendedTo). */
  private needed: Array<{ end: number; resolve: () => void }> = [];
  /** The first append that failed: its file and error, reported by the next commit. */
  private writeError: { file: string; err: unknown; reading?: true } | null = null;
  private failure: CommitError | null = null;

  private constructor(
    private readonly journal: Journal,
    private readonly csv: LogFile,
    private readonly outputFile: string | null,
    committedEnd: number,
  ) {
    this.end = committedEnd;
    this.appended = committedEnd;
    this.drained = committedEnd;
    this.written = committedEnd;
  }

  /** Opens the output file, first cutting it back to the journal's committed end (resume). */
  static async open(
    journal: Journal,
    csv: LogFile,
    outputFile: string | null,
    committedEnd: number,
  ): Promise<CommitLog> {
    const log = new CommitLog(journal, csv, outputFile, committedEnd);
    if (outputFile) {
      if (existsSync(outputFile)) await truncate(outputFile, committedEnd);
      log.output = await open(outputFile, 'a');
      // A resumed output's line count is not known without reading it: no index then (the output
      // browser builds one by scanning).
      if (committedEnd === 0) log.lineIndex = await open(lineIndexPath(outputFile), 'w');
      else await rm(lineIndexPath(outputFile), { force: true });
    }
    return log;
  }

  add(attempt: FinishedAttempt): void {
    const end = attempt.linesFile ? this.appendFile(attempt.linesFile) : this.append(attempt.lines);
    this.pending.push({ row: attempt.row, end });
    if (!this.timer && !this.flushing) this.timer = setTimeout(() => void this.flush(), GROUP_DELAY_MS);
  }

  /** Resolves once everything added so far is committed. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const group = this.pending;
    this.pending = [];
    this.flushing = this.commitGroup(group).finally(() => {
      this.flushing = null;
      if (this.pending.length > 0 && !this.timer)
        this.timer = setTimeout(() => void this.flush(), GROUP_DELAY_MS);
    });
    await this.flushing;
  }

  /** A write or journal error (a full disk): the leader fails the run with it. */
  get error(): CommitError | null {
    return this.failure;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.appendsDone();
    await this.output?.close();
    await this.lineIndex?.close();
    this.output = null;
    this.lineIndex = null;
  }

  /** Hands an attempt's lines to the output file (and their index entries to the index); returns their end. */
  private append(lines: string[] | undefined): number {
    if (!this.output || this.failure || !lines || lines.length === 0) return this.appended;
    const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
    this.appended += buf.length;
    this.queued.push(buf);
    this.draining ??= this.drain();
    return this.appended;
  }

  /** The same for lines in a file (checked to exist by the launcher): copied in order, then deleted. */
  private appendFile(file: string): number {
    let bytes = 0;
    try {
      bytes = statSync(file).size;
    } catch (err) {
      this.writeError ??= { file, err, reading: true };
    }
    if (!this.output || this.failure || bytes === 0) {
      void unlink(file).catch(() => undefined);
      return this.appended;
    }
    this.appended += bytes;
    this.queued.push({ file, bytes });
    this.draining ??= this.drain();
    return this.appended;
  }

  /**
   * Writes what is queued, one write for all that gathered: results arrive a few per read (a worker
   * reports each mini-batch as it ends), and each write is a round trip through libuv's thread pool
   * that costs the leader more than the commit of those results. So a little output waits up to
   * GATHER_MS for company before each write, a lot is written at once, and a commit that needs the
   * bytes (see hurry) cuts the wait short.
   */
  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const next = this.queued[0]!;
        if (!Buffer.isBuffer(next)) {
          this.queued.shift();
          await this.copyFile(next);
          continue;
        }
        if (this.queuedBytes() < GATHER_BYTES) await this.gather();
        // Every buffer up to the next lines file, in one write.
        const run = this.queued.findIndex((q) => !Buffer.isBuffer(q));
        const buffers = this.queued.splice(0, run === -1 ? this.queued.length : run) as Buffer[];
        await this.write(Buffer.concat(buffers));
      }
    } finally {
      this.draining = null;
      // Nothing is left to write: no commit may wait on it.
      this.settle(Infinity);
    }
  }

  /** Waits GATHER_MS, or until a commit needs what is queued. */
  private gather(): Promise<void> {
    if (this.needed.length > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.hurry(), GATHER_MS);
      this.endGather = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Ends the drain's wait for company: a commit is waiting for the bytes to be written. */
  private hurry(): void {
    const end = this.endGather;
    this.endGather = null;
    end?.();
  }

  /** Output bytes and their index entries, in order; after a write error only counted. */
  private async write(out: Buffer): Promise<void> {
    const index = this.indexLines(out);
    this.drained += out.length;
    if (!this.writeError) {
      let file = this.outputFile!;
      try {
        await this.output!.write(out);
        file = lineIndexPath(this.outputFile!);
        if (index && this.lineIndex) await this.lineIndex.write(index);
      } catch (err) {
        this.writeError = { file, err };
      }
    }
    this.settle(this.drained);
  }

  /** The output is written up to `end`: the commits waiting for it may go on. */
  private settle(end: number): void {
    this.written = Math.max(this.written, Math.min(end, this.drained));
    if (this.needed.length === 0) return;
    const still: typeof this.needed = [];
    for (const n of this.needed) {
      if (n.end <= this.written || end === Infinity) n.resolve();
      else still.push(n);
    }
    this.needed = still;
  }

  /** Resolves once the output up to `end` is written (or has failed): a commit syncs only that. */
  private appendedTo(end: number): Promise<void> {
    if (this.written >= end || !this.draining) return Promise.resolve();
    return new Promise((resolve) => {
      this.needed.push({ end, resolve });
      this.hurry();
    });
  }

  /** A lines file into the output, COPY_CHUNK at a time, then deleted (whatever happened). */
  private async copyFile(piece: FilePiece): Promise<void> {
    let left = piece.bytes;
    try {
      const input = await open(piece.file, 'r');
      try {
        // One buffer for every copy (the drain copies one file at a time): a new one per file
        // would be a megabyte of garbage each, which V8 frees only when it next collects.
        const chunk = (this.copyBuffer ??= Buffer.allocUnsafe(COPY_CHUNK));
        while (left > 0 && !this.writeError) {
          const { bytesRead } = await input.read(chunk, 0, Math.min(chunk.length, left));
          if (bytesRead === 0)
            throw new Error(`it ended ${left} byte(s) short of its size when it was reported`);
          left -= bytesRead;
          await this.write(chunk.subarray(0, bytesRead));
        }
      } finally {
        await input.close();
      }
    } catch (err) {
      this.writeError ??= { file: piece.file, err, reading: true };
    }
    // What could not be copied still counts where it would have gone: the commit fails on the error.
    this.drained += left;
    this.settle(this.drained);
    await unlink(piece.file).catch(() => undefined);
  }

  private queuedBytes(): number {
    let n = 0;
    for (const b of this.queued) n += Buffer.isBuffer(b) ? b.length : b.bytes;
    return n;
  }

  /** Resolves once every append so far is in its file (or has failed). */
  private async appendsDone(): Promise<void> {
    await this.appendedTo(this.appended);
    while (this.draining) await this.draining;
  }

  /**
   * Offsets of the lines of `text` (about to be written at this.drained) that fall on the index
   * stride, as index file bytes. Lines are counted in the bytes, not as elements: an element may hold
   * several (a Python DataFrame's rows arrive as one string, and an element with a newline is two
   * lines), and a chunk of a lines file may begin or end inside one.
   */
  private indexLines(text: Buffer): Buffer | null {
    if (!this.lineIndex) return null;
    const offsets: number[] = [];
    let start = 0;
    if (!this.atLineStart) {
      const nl = text.indexOf(10);
      start = nl === -1 ? text.length : nl + 1;
    }
    for (; start < text.length; this.lines++) {
      if (this.lines % LINE_INDEX_STRIDE === 0) offsets.push(this.drained + start);
      const nl = text.indexOf(10, start);
      start = nl === -1 ? text.length : nl + 1;
    }
    if (text.length > 0) this.atLineStart = text[text.length - 1] === 10;
    if (offsets.length === 0) return null;
    const buf = Buffer.allocUnsafe(offsets.length * 8);
    offsets.forEach((o, i) => buf.writeBigUInt64LE(BigInt(o), i * 8));
    return buf;
  }

  private async commitGroup(group: Array<{ row: AttemptRow; end: number }>): Promise<void> {
    // After a failed commit nothing more is committed: the run is failing, and what was
    // committed before stays exactly as the journal says, for a resume.
    if (this.failure) return;
    const committedEnd = this.end;
    let writing = this.outputFile ?? '';
    let reading = false;
    try {
      // Appended in order: the group's bytes end where its last attempt's do.
      const end = group[group.length - 1]!.end;
      // A lines file that could not be read adds no bytes, and must fail its commit all the same.
      if (this.output && (end > this.end || this.writeError)) {
        await this.appendedTo(end);
        if (this.writeError) {
          writing = this.writeError.file;
          reading = this.writeError.reading === true;
          throw this.writeError.err;
        }
        await this.output.datasync();
        this.end = end;
      }
      for (const a of group) if (a.row.status === 'succeeded') a.row.output_end = this.end;
      writing = this.journal.file;
      this.journal.commit(group.map((a) => a.row));
      this.csv.write(group.map((a) => csvRow(a.row)).join(''));
    } catch (err) {
      this.end = committedEnd;
      // The uncommitted bytes go: on a full disk that is the room the closing files
      // (job_result.txt, run.json) need, and a resume would cut them off anyway. Appends still on
      // their way land first, or they would land after the cut.
      this.failure = new CommitError(writing, err, reading ? 'read' : 'write');
      await this.appendsDone();
      if (this.outputFile) await truncate(this.outputFile, committedEnd).catch(() => undefined);
      this.failureListener?.(this.failure);
    }
  }

  private failureListener: ((err: CommitError) => void) | null = null;

  /** Called once, at the first failed commit: the leader stops the run there. */
  onFailure(listener: (err: CommitError) => void): void {
    this.failureListener = listener;
  }
}

/** A commit that could not be written, named by its file: "cannot write <file>: the disk is full (ENOSPC)". */
export class CommitError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: unknown,
    /** A worker's lines file is read; every other file of a commit is written. */
    verb: 'read' | 'write' = 'write',
  ) {
    super(`cannot ${verb} ${file}: ${describeFsError(cause)}`);
  }
}

/**
 * Rewrites processed_mini-batches.csv from the journal (resume). The CSV's rows are written after
 * the journal commit and without waiting, so a killed run can lose its last rows; the journal is
 * the record.
 */
export async function rebuildProcessedCsv(file: string, journal: Journal): Promise<void> {
  const tmp = `${file}.tmp`;
  const out = await open(tmp, 'w');
  try {
    let chunk = PROCESSED_CSV_COLUMNS.join(',') + '\n';
    for (const row of journal.eachAttempt()) {
      chunk += csvRow(row);
      if (chunk.length >= 1 << 20) {
        await out.write(chunk);
        chunk = '';
      }
    }
    await out.write(chunk);
  } finally {
    await out.close();
  }
  await rename(tmp, file);
}

function csvRow(r: AttemptRow): string {
  // The full traceback, when there is one: the row alone should explain the failure.
  const error = r.error_type ? (r.traceback ?? `${r.error_type}: ${r.error_message ?? ''}`) : '';
  // Only the text fields can need quoting: one row per attempt, 20,000 a second on small ones.
  return (
    `${r.mini_batch_id},${r.attempt},${csvField(r.status)},${csvField(r.node_id)},${csvField(r.process_name)},` +
    `${r.pid ?? ''},${r.items_total},${r.items_succeeded},${r.items_failed},${isoTime(r.start_time)},` +
    `${r.elapsed_s.toFixed(3)},${r.process_time_s.toFixed(3)},${r.run_time_s.toFixed(3)},${csvField(error)}\n`
  );
}
