// Record boundaries and fields of the text table formats (CSV, TSV, JSON Lines).
//
// Pure code (no Node imports): the leader uses the scanners to find record boundaries while it
// plans mini-batches, and the worker (src/runtime/tables.ts) uses the same scanners and field
// parsers to read a mini-batch's byte ranges back, so both sides agree on what "one record" is.
//
// Record semantics shared with the Python runtime (see TextTableBatch in src/common/minibatch.ts):
// - CSV (RFC 4180): a record ends at a LF that is not inside a quoted field; "\r\n" and "\n" both
//   end records (the "\r" belongs to the terminator). A quote opens a quoted field only at the start
//   of a field; inside it, "" is one quote and newlines and commas are data. A lone quote in the
//   middle of an unquoted field is data, as pandas' C parser reads it.
// - TSV: a record is a line; fields are split on tabs; there is no quoting at all (pandas must read
//   it with quoting=csv.QUOTE_NONE).
// - JSONL: a record is a line holding one JSON object (JSON strings cannot hold a raw newline, so
//   LF is always a boundary).
// - Blank lines ("" or "\r" before the LF) are not records, as with pandas' skip_blank_lines.
//   They may lie inside a byte range; they are never counted as items.

export const LF = 0x0a;
export const CR = 0x0d;
export const QUOTE = 0x22;
export const COMMA = 0x2c;

/** Called for every line-terminated (or final) record, with absolute byte offsets [start, end). */
export type RecordSink = (start: number, end: number, blank: boolean) => void;

/** Thrown by a scanner when the bytes cannot be records; the caller adds the file name. */
export class RecordFormatError extends Error {
  constructor(
    message: string,
    /** Absolute byte offset the problem starts at. */
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface RecordScanner {
  /** Feeds the next chunk of the file, which starts at absolute offset `base`. */
  push(chunk: Uint8Array, base: number): void;
  /** End of input at absolute offset `size`: reports a final record that has no terminator. */
  finish(size: number): void;
  /** Absolute offset where the record in progress (not yet reported) began. */
  readonly recordStart: number;
}

/**
 * Finds the record boundaries of TSV and JSONL: every LF ends a record. Runs on indexOf (memchr
 * speed), so the per-byte cost is the smallest the record count allows.
 */
export class LineScanner implements RecordScanner {
  recordStart: number;
  private lastByte = LF;

  /** `start`: the absolute offset of the first byte that will be pushed (a record boundary). */
  constructor(
    private readonly sink: RecordSink,
    start = 0,
  ) {
    this.recordStart = start;
  }

  push(chunk: Uint8Array, base: number): void {
    const n = chunk.length;
    let i = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, i);
      if (nl < 0) break;
      const before = nl > 0 ? chunk[nl - 1] : this.lastByte;
      const len = base + nl - this.recordStart;
      const end = base + nl + 1;
      this.sink(this.recordStart, end, len === 0 || (len === 1 && before === CR));
      this.recordStart = end;
      i = nl + 1;
    }
    if (n > 0) this.lastByte = chunk[n - 1];
  }

  finish(size: number): void {
    const len = size - this.recordStart;
    if (len > 0) this.sink(this.recordStart, size, len === 1 && this.lastByte === CR);
    this.recordStart = size;
  }
}

const OUT = 0; // outside a quoted field (unquoted field, delimiter, or after a closing quote)
const QUOTED = 1; // inside a quoted field
const QUOTED_QUOTE = 2; // inside a quoted field, a quote was the last byte of the previous chunk

/**
 * Finds CSV record boundaries, tracking quote state across chunks.
 *
 * A quoted newline cannot be found by seeking: from an arbitrary offset one cannot tell whether it
 * is inside quotes without the history before it (`a,"x\n,y\n"` reads differently from each side of
 * any of its newlines), and a guess that is wrong splits records silently. So CSV is always scanned
 * from the file's start; the scan jumps between quotes and newlines with indexOf, so its per-byte
 * cost stays close to that of counting lines.
 */
export class CsvScanner implements RecordScanner {
  recordStart: number;
  private state = OUT;
  private lastByte = LF;
  private quoteOpen = -1;
  /** Where the first field of the file starts: 3 after a UTF-8 byte order mark, else 0. */
  private firstField = 0;
  /** The file's first three bytes, to recognise a byte order mark split across chunks. */
  private readonly head: number[] = [];

  /**
   * `start`: the absolute offset of the first byte that will be pushed (a record boundary).
   * `delimiter`: the field separator's byte (an MLTable's read_delimited may name another).
   */
  constructor(
    private readonly sink: RecordSink,
    start = 0,
    private readonly delimiter = COMMA,
  ) {
    this.recordStart = start;
  }

  push(chunk: Uint8Array, base: number): void {
    const n = chunk.length;
    if (n === 0) return;
    let i = 0;
    for (let k = 0; this.head.length < 3 && k < n; k++) this.head.push(chunk[k]);
    if (base < 3 && this.head[0] === 0xef && this.head[1] === 0xbb && this.head[2] === 0xbf)
      this.firstField = 3;
    if (this.state === QUOTED_QUOTE) {
      if (chunk[0] === QUOTE) {
        this.state = QUOTED; // "" inside quotes: an escaped quote
        i = 1;
      } else {
        this.state = OUT; // the quote closed the field
      }
    }
    // Next quote and next LF at or after i, cached so that a run of newlines without quotes (or the
    // reverse) is not searched again for every record.
    let nq = -2;
    let nl = -2;
    while (i < n) {
      if (this.state === QUOTED) {
        if (nq < i) nq = indexOrEnd(chunk, QUOTE, i);
        if (nq >= n) {
          i = n;
          break;
        }
        if (nq + 1 >= n) {
          this.state = QUOTED_QUOTE;
          i = n;
          break;
        }
        if (chunk[nq + 1] === QUOTE) {
          i = nq + 2;
        } else {
          this.state = OUT;
          i = nq + 1;
        }
        continue;
      }
      if (nq < i) nq = indexOrEnd(chunk, QUOTE, i);
      if (nl < i) nl = indexOrEnd(chunk, LF, i);
      if (nl < nq) {
        const before = nl > 0 ? chunk[nl - 1] : this.lastByte;
        const len = base + nl - this.recordStart;
        const end = base + nl + 1;
        this.sink(this.recordStart, end, len === 0 || (len === 1 && before === CR));
        this.recordStart = end;
        i = nl + 1;
      } else if (nq < n) {
        const before = nq > 0 ? chunk[nq - 1] : this.lastByte;
        if (base + nq === this.recordStart || before === this.delimiter || base + nq === this.firstField) {
          this.state = QUOTED;
          this.quoteOpen = base + nq;
        }
        i = nq + 1;
      } else {
        i = n;
      }
    }
    this.lastByte = chunk[n - 1];
  }

  finish(size: number): void {
    if (this.state === QUOTED) {
      throw new RecordFormatError(
        `unterminated quoted field: the quote at byte ${this.quoteOpen} is never closed (expected a closing '"' before the end of the file)`,
        this.quoteOpen,
      );
    }
    const len = size - this.recordStart;
    if (len > 0) this.sink(this.recordStart, size, len === 1 && this.lastByte === CR);
    this.recordStart = size;
  }
}

function indexOrEnd(chunk: Uint8Array, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
}

/** Removes one record terminator ("\n" or "\r\n") from the end of a record's text. */
export function stripTerminator(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

/**
 * Splits one CSV record (terminator already removed) into its fields, quotes resolved, values
 * exactly as in the file otherwise. Characters after a closing quote are kept as data, as pandas
 * does (`"ab"c` reads as `abc`).
 */
export function parseCsvFields(record: string, delimiter = ','): string[] {
  const fields: string[] = [];
  const len = record.length;
  let i = 0;
  for (;;) {
    let value = '';
    if (record.charCodeAt(i) === QUOTE) {
      let j = i + 1;
      for (;;) {
        const q = record.indexOf('"', j);
        if (q < 0) {
          // Cannot happen after a scanner accepted the record; keep the rest rather than lose it.
          value += record.slice(j);
          i = len;
          break;
        }
        value += record.slice(j, q);
        if (record.charCodeAt(q + 1) === QUOTE) {
          value += '"';
          j = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    }
    const comma = record.indexOf(delimiter, i);
    const stop = comma < 0 ? len : comma;
    value += record.slice(i, stop);
    fields.push(value);
    if (comma < 0) return fields;
    i = comma + 1;
  }
}

/** Splits one TSV record (terminator already removed) on tabs; no quoting. */
export function parseTsvFields(record: string): string[] {
  return record.split('\t');
}

/**
 * Parses one JSONL record (a line) into an object; throws with what was expected when the line is
 * not a JSON object.
 */
export function parseJsonObject(record: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message}); expected one JSON object per line`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}; expected one JSON object per line`,
    );
  }
  return value as Record<string, unknown>;
}

/** A value as a partition key value: strings as they are, everything else in its JSON text. */
export function keyValueString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

const BOM = '\ufeff';

/** The column names a text table's header record (or, for JSONL, its first record) declares. */
export function headerColumns(
  format: 'csv' | 'tsv' | 'jsonl',
  recordText: string,
  delimiter = ',',
): string[] {
  let text = stripTerminator(recordText);
  if (text.startsWith(BOM)) text = text.slice(1);
  if (format === 'csv') return parseCsvFields(text, delimiter);
  if (format === 'tsv') return parseTsvFields(text);
  return Object.keys(parseJsonObject(text));
}
