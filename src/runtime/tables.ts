// Reads a tabular mini-batch inside a worker: the byte ranges of CSV/TSV/JSONL files (or parquet
// row groups) that the plan named, parsed into rows.
//
// Semantics (the Python runtime reads the same ranges with pandas and must agree):
// - Every range [start, end) starts and ends on a record boundary and excludes the header, so a
//   range parses on its own. The columns come from the source (parsed once, from the header, by
//   the planner).
// - CSV: RFC 4180 quoting resolved; values are strings exactly as in the file (no type guessing;
//   an empty field is ""). A record with fewer fields than columns is padded with null; one with
//   more is an error naming the file and byte offset (pandas refuses it too).
// - TSV: split on tabs, no quoting; the same padding and error.
// - JSONL: the columns are the keys of the file's first record (its "header"): every mini-batch of
//   a file has the same columns however it was cut. Keys first seen in later records are dropped
//   and missing keys are null (pandas: `df.reindex(columns=columns)`). Values stay JSON values.
// - Parquet: the named row groups, the schema's top-level columns. INT64 values come as numbers
//   when they fit a double exactly, otherwise as decimal strings (so the rows survive JSON). For the
//   Python driver, readParquetColumns sends plain numeric columns as their bytes instead, so that
//   they keep their parquet types (see ColumnTable).
// - Several sources (a partitioned table gathers rows from several files): columns from the first
//   source; a later source's rows are mapped onto them by name (a column it lacks is null).
// - Blank lines are skipped and are not rows.
// - Text is decoded in the source's encoding (UTF-8 unless the input says latin1 or windows1252);
//   bytes that are not UTF-8 are an error naming the file and byte offset, never U+FFFD.
// - An MLTable input's sources carry a shape (TableShape): CSV fields split on its delimiter, an
//   empty field is null (or "" with empty_as_string), its added columns (Path, partition-format
//   columns) follow the file's, and `select` picks and orders run()'s columns.

import { open } from 'node:fs/promises';
import os from 'node:os';
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetRead,
  parquetReadObjects,
  parquetSchema,
  type SchemaTree,
} from 'hyparquet';
import {
  shapedColumns,
  type BatchSource,
  type ParquetBatch,
  type Table,
  type TextTableBatch,
} from '../common/minibatch';
// Pure record scanners shared with the planner, so both sides agree on record boundaries. They
// belong in src/common/ (they import nothing from Node); they live with the planner for now.
import {
  CsvScanner,
  LineScanner,
  RecordFormatError,
  type RecordScanner,
  parseCsvFields,
  parseJsonObject,
  parseTsvFields,
  stripTerminator,
} from './textRecords';
import { checkUtf8, decodeText, TextEncodingError } from './textEncoding';
import { fsPath } from './rawNames';

/** A mini-batch's data cannot be read as its plan says: the message names the file and where. */
export class TableReadError extends Error {
  override readonly name: string = 'TableReadError';
}

/** A record that is not what its format says (the data's fault): "<file>: byte <n>: ...". */
export class TableDataError extends TableReadError {
  override readonly name = 'TableDataError';
}

export async function readTable(sources: BatchSource[]): Promise<Table> {
  const first = sources[0];
  if (!first) return { columns: [], rows: [] };
  if (first.kind === 'files')
    throw new TableReadError(
      'readTable: a files mini-batch has no table (expected table or parquet sources)',
    );
  const columns = shapedColumns(first);
  const rows: unknown[][] = [];
  for (const source of sources) {
    if (source.kind === 'files')
      throw new TableReadError(
        'readTable: a mini-batch mixes files and tables (expected table or parquet sources only)',
      );
    const added = source.shape?.added ?? [];
    const have = [...source.columns, ...added.map(([name]) => name)];
    const values = added.map(([, value]) => value);
    const map = sameColumns(have, columns) ? undefined : columns.map((c) => have.indexOf(c));
    const add = (fields: unknown[]) => {
      const row = values.length ? [...fields, ...values] : fields;
      rows.push(map ? map.map((i) => (i < 0 ? null : row[i])) : row);
    };
    if (source.kind === 'parquet') await readParquet(source, add);
    else await readText(source, add);
  }
  return { columns, rows };
}

function sameColumns(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

async function readText(source: TextTableBatch, add: (row: unknown[]) => void): Promise<void> {
  const { file, format, columns, shape } = source;
  const width = columns.length;
  const delimiter = shape?.delimiter ?? ',';
  // An MLTable's empty field is null unless empty_as_string says "" (a plain CSV keeps "").
  const emptyIsNull = shape !== undefined && !shape.emptyAsString;
  let handle;
  try {
    handle = await open(fsPath(file), 'r');
  } catch (err) {
    throw new TableReadError(`${file}: cannot open (${(err as Error).message})`);
  }
  try {
    for (const [start, end] of source.ranges) {
      const buf = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await handle.read(buf, done, buf.length - done, start + done);
        if (bytesRead === 0)
          throw new TableReadError(
            `${file}: ends at byte ${start + done}, before the planned range [${start}, ${end}) (the file changed since planning?)`,
          );
        done += bytesRead;
      }
      const records: Array<[number, number]> = [];
      const sink = (s: number, e: number, blank: boolean) => {
        if (!blank) records.push([s, e]);
      };
      const scanner: RecordScanner =
        format === 'csv'
          ? new CsvScanner(sink, start, delimiter.charCodeAt(0))
          : new LineScanner(sink, start);
      try {
        scanner.push(buf, start);
        scanner.finish(end);
      } catch (err) {
        if (err instanceof RecordFormatError)
          throw new TableDataError(`${file}: byte ${err.offset}: ${err.message}`);
        throw err;
      }
      const encoding = source.encoding ?? 'utf8';
      if (encoding === 'utf8') {
        // Once per range: a Latin-1 byte read as UTF-8 would become U+FFFD without a word.
        try {
          checkUtf8(buf);
        } catch (err) {
          if (err instanceof TextEncodingError)
            throw new TableDataError(`${file}: byte ${start + err.offset}: ${err.message}`);
          throw err;
        }
      }
      for (const [s, e] of records) {
        const text = stripTerminator(
          encoding === 'utf8'
            ? buf.toString('utf8', s - start, e - start)
            : decodeText(buf.subarray(s - start, e - start), encoding),
        );
        if (format === 'jsonl') {
          let obj: Record<string, unknown>;
          try {
            obj = parseJsonObject(text);
          } catch (err) {
            throw new TableDataError(`${file}: byte ${s}: ${(err as Error).message}`);
          }
          add(columns.map((c) => (Object.prototype.hasOwnProperty.call(obj, c) ? obj[c] : null)));
          continue;
        }
        const fields: unknown[] = format === 'csv' ? parseCsvFields(text, delimiter) : parseTsvFields(text);
        if (emptyIsNull) for (let i = 0; i < fields.length; i++) if (fields[i] === '') fields[i] = null;
        if (fields.length > width) {
          throw new TableDataError(
            `${file}: byte ${s}: a record with ${fields.length} fields (expected at most ${width}, the header's: ${columns.join(', ')})`,
          );
        }
        while (fields.length < width) fields.push(null);
        add(fields);
      }
    }
  } finally {
    await handle.close();
  }
}

async function readParquet(source: ParquetBatch, add: (row: unknown[]) => void): Promise<void> {
  const { file, columns } = source;
  const { buffer, metadata, runs } = await openRowGroups(source);
  for (const [rowStart, rowEnd, g0, g1] of runs) {
    let objects;
    try {
      objects = await parquetReadObjects({ file: buffer, metadata, columns, rowStart, rowEnd });
    } catch (err) {
      throw new TableReadError(`${file}: row groups ${g0}-${g1}: ${(err as Error).message}`);
    }
    for (const o of objects) add(columns.map((c) => plainValue(o[c])));
  }
}

/** A source's file, its footer, and its row groups as runs [rowStart, rowEnd, firstGroup, lastGroup]. */
async function openRowGroups(source: ParquetBatch) {
  const { file } = source;
  let buffer;
  let metadata;
  try {
    // A name that is not UTF-8 as its bytes: hyparquet passes it on to fs, which takes a Buffer.
    buffer = await asyncBufferFromFile(fsPath(file) as string);
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new TableReadError(`${file}: cannot read the parquet footer (${(err as Error).message})`);
  }
  const starts: number[] = [];
  let at = 0;
  for (const rg of metadata.row_groups) {
    starts.push(at);
    at += Number(rg.num_rows);
  }
  starts.push(at);
  // Contiguous row groups are read in one call.
  const runs: Array<[number, number, number, number]> = [];
  const groups = source.rowGroups;
  for (let i = 0; i < groups.length;) {
    let j = i;
    while (j + 1 < groups.length && groups[j + 1] === groups[j] + 1) j++;
    const g0 = groups[i]!;
    const g1 = groups[j]!;
    if (g0 < 0 || g1 >= metadata.row_groups.length) {
      throw new TableReadError(
        `${file}: has ${metadata.row_groups.length} row groups, the plan names row group ${g0 < 0 ? g0 : g1}`,
      );
    }
    runs.push([starts[g0]!, starts[g1 + 1]!, g0, g1]);
    i = j + 1;
  }
  return { buffer, metadata, runs };
}

/**
 * A parquet mini-batch for the Python driver, column by column. A plain numeric column (DOUBLE,
 * FLOAT, INT32, INT64, no logical type) without a null in the mini-batch travels as its
 * little-endian bytes in base64, which the driver turns into a numpy array of that type, as
 * pandas.read_parquet gives it (float64, float32, int32, int64); any other column as its JSON values,
 * as in `rows` (a null makes a number column float64 with NaN there, as pandas does too). Row arrays,
 * their JSON and back cost ~150 ms of the worker and ~55 ms of the driver per 70,000 rows, three
 * times the whole CSV path.
 */
export interface ColumnTable {
  columns: string[];
  cols: Array<{ values: unknown[] } | { dtype: NumpyDtype; b64: string }>;
}
type NumpyDtype = '<f8' | '<f4' | '<i4' | '<i8';

/** The typed array and dtype of each plain numeric parquet type. */
const NUMERIC = {
  DOUBLE: { dtype: '<f8', make: (n: number) => new Float64Array(n), is: 'number' },
  FLOAT: { dtype: '<f4', make: (n: number) => new Float32Array(n), is: 'number' },
  INT32: { dtype: '<i4', make: (n: number) => new Int32Array(n), is: 'number' },
  INT64: { dtype: '<i8', make: (n: number) => new BigInt64Array(n), is: 'bigint' },
} as const;

/**
 * The mini-batch as a ColumnTable, or null where only readTable's rows give the same table:
 * sources other than parquet, an MLTable's shape, sources whose columns differ, a big-endian host.
 */
export async function readParquetColumns(sources: BatchSource[]): Promise<ColumnTable | null> {
  const first = sources[0];
  if (!first || first.kind !== 'parquet' || os.endianness() !== 'LE') return null;
  const columns = first.columns;
  for (const s of sources)
    if (s.kind !== 'parquet' || s.shape || !sameColumns(s.columns, columns)) return null;
  // Each column's chunks in row order, as hyparquet gives them (typed arrays where it can).
  const parts: ArrayLike<unknown>[][] = columns.map(() => []);
  // A column is sent as numbers only if every source has it as the same plain numeric type.
  let types: Array<keyof typeof NUMERIC | null> | undefined;
  for (const source of sources as ParquetBatch[]) {
    const { buffer, metadata, runs } = await openRowGroups(source);
    const schema = parquetSchema(metadata).children;
    const here = columns.map((c) => plainNumericType(schema, c));
    types = types ? types.map((t, i) => (t === here[i] ? t : null)) : here;
    for (const [rowStart, rowEnd, g0, g1] of runs) {
      // Chunks come column by column, each column's in row order.
      const got: Array<Array<{ at: number; data: ArrayLike<unknown> }>> = columns.map(() => []);
      try {
        await parquetRead({
          file: buffer,
          metadata,
          columns,
          rowStart,
          rowEnd,
          onChunk: ({ columnName, columnData, rowStart: at }) => {
            got[columns.indexOf(columnName)]?.push({ at, data: columnData });
          },
        });
      } catch (err) {
        throw new TableReadError(`${source.file}: row groups ${g0}-${g1}: ${(err as Error).message}`);
      }
      for (const [c, chunks] of got.entries())
        for (const chunk of chunks.sort((a, b) => a.at - b.at)) parts[c]!.push(chunk.data);
    }
  }
  return { columns, cols: parts.map((p, c) => encodeColumn(p, types?.[c] ?? null)) };
}

/** A parquet mini-batch as the Python driver takes it: column by column where it can be, else rows. */
export async function readTableForPython(sources: BatchSource[]): Promise<ColumnTable | Table> {
  return (await readParquetColumns(sources)) ?? (await readTable(sources));
}

/** The column's parquet type if it is a top-level DOUBLE, FLOAT, INT32 or INT64 with no logical type. */
function plainNumericType(schema: SchemaTree[], column: string): keyof typeof NUMERIC | null {
  const element = schema.find((c) => c.element.name === column)?.element;
  if (!element || element.converted_type || element.logical_type || element.num_children) return null;
  return element.type && element.type in NUMERIC ? (element.type as keyof typeof NUMERIC) : null;
}

function encodeColumn(
  parts: ArrayLike<unknown>[],
  type: keyof typeof NUMERIC | null,
): ColumnTable['cols'][number] {
  const numeric = type ? NUMERIC[type] : null;
  if (numeric) {
    const whole = numeric.make(parts.reduce((n, p) => n + p.length, 0));
    if (fillNumbers(whole, parts, numeric.is))
      return {
        dtype: numeric.dtype,
        b64: Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength).toString('base64'),
      };
  }
  const values: unknown[] = [];
  for (const part of parts) for (let i = 0; i < part.length; i++) values.push(plainValue(part[i]));
  return { values };
}

/**
 * The chunks copied into `whole`; false at the first value that is not of its type (a null). A
 * chunk that is already a typed array of that kind is copied whole: no array of 70,000 numbers in
 * between, which was a fifth of the decoding's time and much of its garbage.
 */
function fillNumbers(
  whole: Float64Array | Float32Array | Int32Array | BigInt64Array,
  parts: ArrayLike<unknown>[],
  is: 'number' | 'bigint',
): boolean {
  const into = whole as unknown as { [i: number]: unknown; set(a: ArrayLike<unknown>, at: number): void };
  let at = 0;
  for (const part of parts) {
    if (part instanceof whole.constructor) into.set(part, at);
    else
      for (let i = 0; i < part.length; i++) {
        const v = part[i];
        if (typeof v !== is) return false;
        into[at + i] = v;
      }
    at += part.length;
  }
  return true;
}

function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  return v === undefined ? null : v;
}
