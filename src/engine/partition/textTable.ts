// Planning over one CSV/TSV/JSONL file: a single sequential pass in 1 MiB chunks, memory flat.
//
// Why a full pass and not a seek per boundary: every mini-batch must carry its exact record count
// (`items`: error_threshold counts failed records), and counting records means finding every
// record end. For TSV and JSONL that is a memchr over the bytes (GB/s), the cheapest a count can
// be; cutting a boundary costs nothing beyond it. For CSV the pass must also track quotes (see
// CsvScanner: a quoted newline cannot be found by seeking). The pass is lazy: batches come out as
// soon as their bytes have been scanned, so a 50 GB table starts running after its first chunk.

import type { TabularFormat, TextEncoding } from '../../common/spec';
import type { PartitionKeyValue } from '../../common/minibatch';
import { PartitionError } from './errors';
import { lineAt, readChunks } from './fileChunks';
import type { PlannedBatch } from './filesPlan';
import type { KeyGroups } from './keyGroups';
import { decodeText, TextEncodingError } from './textEncoding';
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
} from './textRecords';

export type TextFormat = Exclude<TabularFormat, 'parquet'>;

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
  const scanner: RecordScanner = new (format === 'csv' ? CsvScanner : LineScanner)((start, end, blank) =>
    handler.onRecord(start, end, blank, () => bytesOf(start, end)),
  );
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
  encoding: TextEncoding | undefined,
): string[] {
  try {
    return headerColumns(format, recordText(file, bytes, where, encoding));
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
  encoding?: TextEncoding,
): AsyncGenerator<PlannedBatch> {
  let columns: string[] | undefined;
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
        columns = columnsOf(file, format, bytes(), { line, start }, encoding);
        if (format !== 'jsonl') {
          bStart = bEnd = end;
          return;
        }
      }
      if (blank) {
        bEnd = end;
        return;
      }
      if (end - bStart > size && n > 0) {
        emit();
        bStart = bEnd;
        n = 0;
      }
      bEnd = end;
      n++;
    },
  };
  for await (const _ of scanText(file, format, handler, signal)) {
    yield* ready.splice(0);
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
  encoding?: TextEncoding,
): Promise<void> {
  let columns: string[] | undefined;
  let index: number[] = [];
  let line = 0;
  const handler: RecordHandler = {
    wantBytes: () => true,
    onRecord(start, end, blank, bytes) {
      line++;
      if (blank) {
        groups.addBlank(file, start, end);
        return;
      }
      if (columns === undefined) {
        columns = columnsOf(file, format, bytes(), { line, start }, encoding);
        const have = columns;
        const missing = keys.filter((k) => !have.includes(k));
        if (missing.length > 0) {
          const what = format === 'jsonl' ? 'the first record' : 'the header';
          throw new PartitionError(
            `partition key column${missing.length > 1 ? 's' : ''} ${missing.map((k) => `"${k}"`).join(', ')} not in ${what} (columns: ${have.join(', ')})`,
            { file, line },
          );
        }
        index = keys.map((k) => have.indexOf(k));
        if (format !== 'jsonl') return;
      }
      const text = stripTerminator(recordText(file, bytes(), { line, start }, encoding));
      const values: PartitionKeyValue = {};
      if (format === 'jsonl') {
        let obj: Record<string, unknown>;
        try {
          obj = parseJsonObject(text);
        } catch (err) {
          throw new PartitionError((err as Error).message, { file, line, offset: start });
        }
        for (const k of keys) values[k] = keyValueString(obj[k]);
      } else {
        const fields = format === 'csv' ? parseCsvFields(text) : parseTsvFields(text);
        keys.forEach((k, i) => (values[k] = fields[index[i]] ?? ''));
      }
      groups.addRecord(
        values,
        { kind: 'table', format, file, columns, ...(encoding ? { encoding } : {}) },
        start,
        end,
      );
    },
  };
  for await (const _ of scanText(file, format, handler, signal)) {
    // Nothing to hand out before the pass ends: groups are complete only then.
  }
}
