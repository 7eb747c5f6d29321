// Mini-batches of tabular inputs: size-based per file (never across a file, never splitting a
// record), or one per distinct combination of the partition_keys columns across all files.

import path from 'node:path';
import type { InputSpec, JobSpec, TabularFormat } from '../../common/spec';
import { PartitionError } from './errors';
import type { PlannedBatch } from './filesPlan';
import { KeyGroups } from './keyGroups';
import { mltableShape } from './mltableColumns';
import { textKeyScan, textSizeBatches, type TextReadOptions } from './textTable';
import { type InputFile, walkInput } from './walk';

const EXTENSIONS: Record<string, TabularFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The input's format, or the file's by extension (a folder may mix formats). */
export function formatOf(input: InputSpec, file: string): TabularFormat {
  if (input.format) return input.format;
  const f = EXTENSIONS[path.extname(file).toLowerCase()];
  if (!f) {
    throw new PartitionError(
      `cannot tell the table format from the extension (expected ${Object.keys(EXTENSIONS).join(', ')}; set the input's format, or a pattern to leave the file out)`,
      { file },
    );
  }
  return f;
}

/** The parquet reader, loaded on first use: it takes ~15 ms to load, for jobs without parquet too. */
const parquet = () => import('./parquet');

/**
 * How each file of the plan is read: its encoding and, for an MLTable input, the read step's
 * options and the columns its transformations give (see mltableColumns.ts). One per plan: take
 * counts records over every path of the MLTable, and from_first_file's header is the first file's.
 */
function readOptions(spec: JobSpec): (input: InputSpec, f: InputFile) => TextReadOptions {
  const take = spec.inputs[0]?.mltable?.take;
  const limit = take === undefined ? undefined : { left: take };
  let firstColumns: string[] | undefined;
  let first = true;
  return (input, f) => {
    const read = input.mltable;
    if (!read) return input.encoding ? { encoding: input.encoding } : {};
    const isFirst = first;
    first = false;
    const headerless =
      read.header === 'no_header' || (read.header === 'from_first_file' && !isFirst)
        ? { ...(read.header === 'from_first_file' && firstColumns ? { columns: firstColumns } : {}) }
        : undefined;
    const rel = path.relative(path.dirname(read.file), f.abs).split(path.sep).join('/');
    return {
      ...(input.encoding ? { encoding: input.encoding } : {}),
      ...(read.delimiter ? { delimiter: read.delimiter } : {}),
      ...(headerless ? { headerless } : {}),
      ...(limit ? { limit } : {}),
      shapeFor: (columns) => {
        if (isFirst) firstColumns = columns;
        return mltableShape(read, f.abs, rel, columns);
      },
    };
  };
}

export async function* planTableBatches(spec: JobSpec, signal?: AbortSignal): AsyncGenerator<PlannedBatch> {
  const keys = spec.partition_keys ?? [];
  const size = Math.max(1, Math.floor(spec.mini_batch_size));
  const optionsFor = readOptions(spec);
  if (keys.length === 0) {
    for (const input of spec.inputs) {
      for await (const f of walkInput(input, signal)) {
        const format = formatOf(input, f.abs);
        const opts = optionsFor(input, f);
        if (opts.limit && opts.limit.left <= 0) return;
        if (format === 'parquet')
          yield* (await parquet()).parquetSizeBatches(f.abs, size, signal, opts.shapeFor);
        else yield* textSizeBatches(f.abs, format, size, signal, opts);
      }
    }
    return;
  }
  // Grouping by key needs a full pass over every file: a key's last record can be anywhere, so no
  // group is complete before the end. Nothing is yielded until then; memory is the coalesced
  // ranges (see KeyGroups), not the records.
  const groups = new KeyGroups(keys);
  for (const input of spec.inputs) {
    for await (const f of walkInput(input, signal)) {
      const format = formatOf(input, f.abs);
      const opts = optionsFor(input, f);
      if (opts.limit && opts.limit.left <= 0) break;
      if (format === 'parquet')
        await (await parquet()).parquetKeyScan(f.abs, keys, groups, signal, opts.shapeFor);
      else await textKeyScan(f.abs, format, keys, groups, signal, opts);
    }
  }
  yield* groups.batches();
}
