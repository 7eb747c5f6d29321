// The append_row file as Parquet, with hyparquet-writer (by the author of hyparquet, the reader
// the engine already uses; pure JS, no native build). Two passes over the file, both streamed:
// the first learns each column's type and the real width (a later row may have more cells, a
// later JSON object more keys, than a sample shows), the second writes one row group per batch
// and hands its bytes on, so a 1 GB output never sits in memory.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ColumnSource, SchemaElement } from 'hyparquet-writer';
import { detectRowFormat, splitRow, type RowFormat } from '../common/outputRows';

/** Rows per row group, and a cap on the text one group holds (its encoding sits in memory). */
const GROUP_ROWS = 10_000;
const GROUP_CHARS = 8 * 1024 * 1024;
/** JSON keys beyond this many are folded into none: a file of ever-new keys is not a table. */
const MAX_COLUMNS = 1000;

type Kind = 'empty' | 'int' | 'double' | 'bool' | 'string';
/** A number as a CSV or space-separated cell writes it; "007" or "1e" stay text. */
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;

interface Shape {
  format: RowFormat;
  /** JSON object keys, or col1..colN, or ["line"]. */
  columns: string[];
  kinds: Kind[];
}

async function* lines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim() !== '') yield line;
}

/** One row's values in column order (JSON values as parsed, other cells as text). */
function cellsOf(line: string, shape: Pick<Shape, 'format' | 'columns'>): unknown[] {
  if (shape.format !== 'json') return splitRow(line, shape.format);
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return [line];
  }
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return shape.columns.map((k) => (v as Record<string, unknown>)[k]);
  return [v];
}

function kindOf(v: unknown, fromText: boolean): Kind {
  if (v === null || v === undefined || v === '') return 'empty';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'int' : 'double';
  if (typeof v === 'string' && fromText && NUMBER.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) && !/[.eE]/.test(v) ? 'int' : Number.isFinite(n) ? 'double' : 'string';
  }
  return 'string';
}

/** The narrowest kind holding both: int and double make double, anything else with text makes text. */
function widen(a: Kind, b: Kind): Kind {
  if (a === b || b === 'empty') return a;
  if (a === 'empty') return b;
  if ((a === 'int' && b === 'double') || (a === 'double' && b === 'int')) return 'double';
  return 'string';
}

async function learnShape(file: string): Promise<Shape> {
  const sample: string[] = [];
  for await (const line of lines(file)) {
    sample.push(line);
    if (sample.length >= 50) break;
  }
  const format = detectRowFormat(sample);
  const columns: string[] = [];
  const known = new Set<string>();
  const kinds: Kind[] = [];
  const fromText = format !== 'json';
  for await (const line of lines(file)) {
    if (format === 'json') {
      try {
        const v = JSON.parse(line) as unknown;
        if (v && typeof v === 'object' && !Array.isArray(v))
          for (const k of Object.keys(v))
            if (!known.has(k) && columns.length < MAX_COLUMNS) {
              known.add(k);
              columns.push(k);
            }
      } catch {
        // Not JSON after all: cellsOf keeps the line whole, as text.
      }
    }
    const cells = cellsOf(line, { format, columns });
    cells.forEach((c, i) => (kinds[i] = widen(kinds[i] ?? 'empty', kindOf(c, fromText))));
  }
  const width = Math.max(columns.length, kinds.length, 1);
  for (let i = columns.length; i < width; i++) columns.push(format === 'plain' ? 'line' : `col${i + 1}`);
  return { format, columns, kinds: columns.map((_, i) => kinds[i] ?? 'empty') };
}

function schemaOf(shape: Shape): SchemaElement[] {
  const leaf = (name: string, kind: Kind): SchemaElement => {
    const base = { name, repetition_type: 'OPTIONAL' } as const;
    if (kind === 'int') return { ...base, type: 'INT64' };
    if (kind === 'double') return { ...base, type: 'DOUBLE' };
    if (kind === 'bool') return { ...base, type: 'BOOLEAN' };
    return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  };
  return [
    { name: 'root', num_children: shape.columns.length },
    ...shape.columns.map((c, i) => leaf(c, shape.kinds[i]!)),
  ];
}

function valueOf(v: unknown, kind: Kind): unknown {
  if (v === null || v === undefined || (v === '' && kind !== 'string')) return null;
  if (kind === 'int') return BigInt(typeof v === 'number' ? v : String(v));
  if (kind === 'double') return Number(v);
  if (kind === 'bool') return v;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Takes what the writer holds so far, leaving it empty (its offsets count on). */
function take(writer: ByteWriter): Buffer {
  const bytes = Buffer.from(writer.getBytes());
  writer.index = 0;
  return bytes;
}

/** The output file as a Parquet file, in chunks: a pipeline writes them with back-pressure. */
export async function* parquetOfOutput(file: string): AsyncGenerator<Buffer> {
  const shape = await learnShape(file);
  const writer = new ByteWriter();
  const pw = new ParquetWriter({ writer, schema: schemaOf(shape), createdBy: 'Parallel Run Studio' });
  let batch: unknown[][] = shape.columns.map(() => []);
  let rows = 0;
  let chars = 0;
  const flush = () => {
    const columnData: ColumnSource[] = shape.columns.map((name, i) => ({
      name,
      data: batch[i]! as ColumnSource['data'],
    }));
    pw.write({ columnData, rowGroupSize: rows });
    batch = shape.columns.map(() => []);
    rows = 0;
    chars = 0;
    return take(writer);
  };
  for await (const line of lines(file)) {
    const cells = cellsOf(line, shape);
    shape.columns.forEach((_, i) => batch[i]!.push(valueOf(cells[i], shape.kinds[i]!)));
    rows++;
    chars += line.length;
    if (rows >= GROUP_ROWS || chars >= GROUP_CHARS) yield flush();
  }
  if (rows > 0) yield flush();
  await pw.finish();
  yield take(writer);
}
