// A mini-batch as the leader hands it to a worker: a small descriptor, never the data itself, so
// the leader's memory does not grow with the input. The worker reads the bytes it names.

import type { TabularFormat, TextEncoding } from './spec';

export type PartitionKeyValue = Record<string, string>;

export interface FilesBatch {
  kind: 'files';
  files: string[];
}

/** Byte ranges [start, end) of one file; every range starts and ends on a record boundary. */
export interface TextTableBatch {
  kind: 'table';
  format: Exclude<TabularFormat, 'parquet'>;
  file: string;
  columns: string[];
  ranges: Array<[number, number]>;
  /** Absent: UTF-8. */
  encoding?: TextEncoding;
  shape?: TableShape;
}

/** Parquet splits by row group, the format's smallest independently readable unit. */
export interface ParquetBatch {
  kind: 'parquet';
  file: string;
  columns: string[];
  /** Row-group indexes, in order. */
  rowGroups: number[];
  shape?: TableShape;
}

/**
 * How an MLTable file shapes a source's records into run()'s columns; absent: as the file has them.
 * Readers parse the fields as `columns` (with `delimiter`), add `added`, then keep `select`.
 */
export interface TableShape {
  /** CSV: the field separator, when not ",". */
  delimiter?: string;
  /** An empty field is "" rather than null. */
  emptyAsString?: true;
  /** Columns with one value for every record of the source ([name, value], in order): Path and partition-format columns. */
  added?: Array<[string, string]>;
  /** run()'s columns, in order (keep_columns / drop_columns applied); absent: columns, then added. */
  select?: string[];
}

/** The columns run() gets from a source. */
export function shapedColumns(source: { columns: string[]; shape?: TableShape }): string[] {
  const shape = source.shape;
  if (!shape) return source.columns;
  return shape.select ?? [...source.columns, ...(shape.added ?? []).map(([name]) => name)];
}

export type BatchSource = FilesBatch | TextTableBatch | ParquetBatch;

export interface MiniBatch {
  /** 0-based, in plan order; stable for a given spec and input so a resumed run matches. */
  id: number;
  /** Files, or records, in this mini-batch; known up front except for some partitioned tables. */
  items: number;
  /** Bytes of input this mini-batch covers (for progress and ETA by size). */
  bytes: number;
  /** One part per source; a partitioned table gathers rows from several files. */
  sources: BatchSource[];
  partition_key_value?: PartitionKeyValue;
}

/** Tabular data as the Node runtime hands it to run(): one array per row, in `columns` order. */
export interface Table {
  columns: string[];
  rows: unknown[][];
}
