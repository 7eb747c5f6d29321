// Planning over one CSV/TSV/JSONL file: a single sequential pass in 1 MiB chunks, memory flat.
//
// Why a full pass and not a seek per boundary: every mini-batch must carry its exact record count
// (`items`: error_threshold counts failed records), and counting records means finding every
// record end. For TSV and JSONL that is a memchr over the bytes (GB/s), the cheapest a count can
// be; cutting a boundary costs nothing beyond it. For CSV the pass must also track quotes (see
// CsvScanner: a quoted newline cannot be found by seeking). The pass is lazy: batches come out as
// soon as their bytes have been scanned, so a 50 GB table starts running after its first chunk.

import type { TabularFormat, TextEncoding } from '../../common/spec';
import { shapedColumns, type PartitionKeyValue, type TableShape } from '../../common/minibatch';
import { PartitionError } from './errors';
import { lineAt, readChunks } from './fileChunks';
import type { PlannedBatch } from './filesPlan';
import type { KeyGroups } from './keyGroups';
import { numberedColumns } from './mltableColumns';
import { decodeText, TextEncodingError } from '../../runtime/textEncoding';
import {
  CsvScanner,
  LineScanner,
  RecordFormatError,
  type RecordScanner,
  headerColumns,
  keyValueString,
  parseCsvFields,
  parseJsonObject,
  parseTsvFields,
  stripTerminator,
} from '../../runtime/textRecords';

export type TextFormat = Exclude<TabularFormat, 'parquet'>;

/** How to read a file's records beyond its format: what an MLTable input's read step says. */
export interface TextReadOptions {
  encoding?: TextEncoding;
  /** CSV: the field separator, when not ",". */
  delimiter?: string;
  /** No header: the first record is data, with these columns (absent: Column1…N, by its fields). */
  headerless?: { columns?: string[] };
  /** The shape of the file's records, once its columns are known. */
  shapeFor?: (columns: string[]) => TableShape;
  /** take: records left for the whole plan, counted down here; records past 0 are left out. */
  limit?: { left: number };
}

interface RecordHandler {
  /** Whether the next records' bytes will be asked for (keeps the partial record's bytes). */
  wantBytes(): boolean;
  onRecord(start: number, end: number, blank: boolean, bytes: () => Buffer): void;
}

/** Drives a record scanner over a file; yields after each chunk so callers can hand out results. */
async function* scanText(
  file: string,
  format: TextFormat,
  handler: RecordHandler,
  signal?: AbortSignal,
  delimiter?: string,
): AsyncGenerator<void> {
  let cur: Buffer = Buffer.alloc(0);
  let curBase = 0;
  // Bytes of the record in progress that lie before `cur`, kept only while bytes are wanted.
  let tail: Buffer[] = [];
  let tailBase = 0;
  const bytesOf = (start: number, end: number): Buffer => {
    if (start >= curBase) return cur.subarray(start - curBase, end - curBase);
    return Buffer.concat([...tail, cur.subarray(0, end - curBase)]).subarray(start - tailBase);
  };
  const sink = (start: number, end: number, blank: boolean) =>
    handler.onRecord(start, end, blank, () => bytesOf(start, end));
  const scanner: RecordScanner =
    format === 'csv' ? new CsvScanner(sink, 0, (delimiter ?? ',').charCodeAt(0)) : new LineScanner(sink);
  let size = 0;
  try {
    for await (const { chunk, base } of readChunks(file, signal)) {
      cur = chunk;
      curBase = base;
      scanner.push(chunk, base);
      size = base + chunk.length;
      if (!handler.wantBytes()) {
        tail = [];
      } else if (scanner.recordStart >= base) {
        tail = [chunk.subarray(scanner.recordStart - base)];
        tailBase = scanner.recordStart;
      } else {
        tail.push(chunk);
      }
      yield;
    }
    cur = Buffer.alloc(0);
    curBase = size;
    scanner.finish(size);
  } catch (err) {
    if (err instanceof RecordFormatError) {
      throw new PartitionError(err.message, { file, line: await lineAt(file, err.offset) });
    }
    throw err;
  }
}

/** Parses the header (CSV/TSV) or the first record (JSONL) into column names, naming the line on error. */
function columnsOf(
  file: string,
  format: TextFormat,
  bytes: Buffer,
  where: { line: number; start: number },
  opts: TextReadOptions,
): string[] {
  try {
    const columns = headerColumns(format, recordText(file, bytes, where, opts.encoding), opts.delimiter);
    // Without a header, the first record only says how many columns there are.
    if (opts.headerless) return opts.headerless.columns ?? numberedColumns(columns.length);
    return columns;
  } catch (err) {
    if (err instanceof PartitionError) throw err;
    throw new PartitionError((err as Error).message, { file, line: where.line });
  }
}

/** A record's text in the input's encoding; bytes that are not text are named by line and byte. */
function recordText(
  file: string,
  bytes: Buffer,
  where: { line: number; start: number },
  encoding: TextEncoding | undefined,
): string {
  try {
    return decodeText(bytes, encoding);
  } catch (err) {
    if (err instanceof TextEncodingError)
      throw new PartitionError(err.message, { file, line: where.line, offset: where.start + err.offset });
    throw err;
  }
}

/**
 * Size-based mini-batches of one file: consecutive whole records, never across the file's end.
 * A mini-batch holds at most `size` bytes unless one record alone is larger; blank lines ride
 * along with the mini-batch before them. The header (CSV/TSV) is read once and excluded.
 */
export async function* textSizeBatches(
  file: string,
  format: TextFormat,
  size: number,
  signal?: AbortSignal,
  opts: TextReadOptions = {},
): AsyncGenerator<PlannedBatch> {
  const { encoding, limit } = opts;
  let columns: string[] | undefined;
  let shape: TableShape | undefined;
  let bStart = 0;
  let bEnd = 0;
  let n = 0;
  let line = 0;
  const ready: PlannedBatch[] = [];
  const emit = () => {
    ready.push({
      items: n,
      bytes: bEnd - bStart,
      sources: [
        {
          kind: 'table',
          format,
          file,
          columns: columns ?? [],
          ranges: [[bStart, bEnd]],
          ...(encoding ? { encoding } : {}),
          ...(shape ? { shape } : {}),
        },
      ],
    });
  };
  const handler: RecordHandler = {
    wantBytes: () => columns === undefined,
    onRecord(start, end, blank, bytes) {
      line++;
      if (columns === undefined) {
        if (blank) {
          if (format !== 'jsonl') bStart = bEnd = end;
          return;
        }
        columns = columnsOf(file, format, bytes(), { line, start }, opts);
        shape = opts.shapeFor?.(columns);
        if (format !== 'jsonl' && !opts.headerless) {
          bStart = bEnd = end;
          return;
        }
      }
      if (limit && limit.left <= 0) return;
      if (blank) {
        bEnd = end;
        return;
      }
      if (limit) limit.left--;
      if (end - bStart > size && n > 0) {
        emit();
        bStart = bEnd;
        n = 0;
      }
      bEnd = end;
      n++;
    },
  };
  for await (const _ of scanText(file, format, handler, signal, opts.delimiter)) {
    yield* ready.splice(0);
    // take is reached: the rest of the file is not read.
    if (limit && limit.left <= 0) break;
  }
  if (n > 0) emit();
  yield* ready.splice(0);
}

/**
 * Feeds every record of one file to the key groups. A full pass: see planTableBatches. Only the
 * key fields of each record are parsed (all fields up to the last key, for CSV).
 */
export async function textKeyScan(
  file: string,
  format: TextFormat,
  keys: string[],
  groups: KeyGroups,
  signal?: AbortSignal,
  opts: TextReadOptions = {},
): Promise<void> {
  const { encoding, limit } = opts;
  let columns: string[] | undefined;
  let shape: TableShape | undefined;
  let index: number[] = [];
  // Keys whose value is the file's own (a partition-format column): the same for every record.
  const fixed: PartitionKeyValue = {};
  let line = 0;
  const handler: RecordHandler = {
    wantBytes: () => true,
    onRecord(start, end, blank, bytes) {
      line++;
      if (limit && limit.left <= 0) return;
      if (blank) {
        groups.addBlank(file, start, end);
        return;
      }
      if (columns === undefined) {
        columns = columnsOf(file, format, bytes(), { line, start }, opts);
        shape = opts.shapeFor?.(columns);
        const have = columns;
        const added = new Map(shape?.added ?? []);
        const final = shape ? shapedColumns({ columns, shape }) : columns;
        const missing = keys.filter((k) => !final.includes(k));
        if (missing.length > 0) {
          const what = shape ? 'the table' : format === 'jsonl' ? 'the first record' : 'the header';
          throw new PartitionError(
            `partition key column${missing.length > 1 ? 's' : ''} ${missing.map((k) => `"${k}"`).join(', ')} not in ${what} (columns: ${final.join(', ')})`,
            { file, line },
          );
        }
        for (const k of keys) if (added.has(k)) fixed[k] = added.get(k)!;
        index = keys.map((k) => have.indexOf(k));
        if (format !== 'jsonl' && !opts.headerless) return;
      }
      if (limit) limit.left--;
      const text = stripTerminator(recordText(file, bytes(), { line, start }, encoding));
      const values: PartitionKeyValue = {};
      if (format === 'jsonl') {
        let obj: Record<string, unknown>;
        try {
          obj = parseJsonObject(text);
        } catch (err) {
          throw new PartitionError((err as Error).message, { file, line, offset: start });
        }
        for (const k of keys) values[k] = fixed[k] ?? keyValueString(obj[k]);
      } else if (keys.every((k) => k in fixed)) {
        Object.assign(values, fixed);
      } else {
        const fields = format === 'csv' ? parseCsvFields(text, opts.delimiter) : parseTsvFields(text);
        keys.forEach((k, i) => (values[k] = fixed[k] ?? fields[index[i]] ?? ''));
      }
      groups.addRecord(
        values,
        {
          kind: 'table',
          format,
          file,
          columns,
          ...(encoding ? { encoding } : {}),
          ...(shape ? { shape } : {}),
        },
        start,
        end,
      );
    },
  };
  for await (const _ of scanText(file, format, handler, signal, opts.delimiter)) {
    // Nothing to hand out before the pass ends: groups are complete only then.
    if (limit && limit.left <= 0) break;
  }
}
