// Mini-batches of tabular inputs: size-based per file (never across a file, never splitting a
// record), or one per distinct combination of the partition_keys columns across all files.

import path from 'node:path';
import type { InputSpec, JobSpec, TabularFormat } from '../../common/spec';
import { PartitionError } from './errors';
import type { PlannedBatch } from './filesPlan';
import { KeyGroups } from './keyGroups';
import { textKeyScan, textSizeBatches } from './textTable';
import { walkInput } from './walk';

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

export async function* planTableBatches(spec: JobSpec, signal?: AbortSignal): AsyncGenerator<PlannedBatch> {
  const keys = spec.partition_keys ?? [];
  const size = Math.max(1, Math.floor(spec.mini_batch_size));
  if (keys.length === 0) {
    for (const input of spec.inputs) {
      for await (const f of walkInput(input, signal)) {
        const format = formatOf(input, f.abs);
        if (format === 'parquet') yield* (await parquet()).parquetSizeBatches(f.abs, size, signal);
        else yield* textSizeBatches(f.abs, format, size, signal, input.encoding);
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
      if (format === 'parquet') await (await parquet()).parquetKeyScan(f.abs, keys, groups, signal);
      else await textKeyScan(f.abs, format, keys, groups, signal, input.encoding);
    }
  }
  yield* groups.batches();
}
