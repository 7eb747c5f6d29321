// Planning over one parquet file from its footer alone: a row group is the smallest unit that can
// be read on its own, so boundaries cost nothing per byte. Row groups are gathered in order up to
// mini_batch_size bytes (compressed, as stored), at least one per mini-batch.

import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, RowGroup } from 'hyparquet';
import { shapedColumns, type PartitionKeyValue, type TableShape } from '../../common/minibatch';
import { PartitionError, describeFsError, throwIfAborted } from './errors';
import { readRange } from './fileChunks';
import { fsPath } from '../../runtime/rawNames';
import type { PlannedBatch } from './filesPlan';
import type { KeyGroups } from './keyGroups';
import { keyValueString } from '../../runtime/textRecords';

const MAGIC = 'PAR1';

interface ParquetFile {
  buffer: AsyncBuffer;
  metadata: FileMetaData;
  columns: string[];
}

async function openParquet(file: string): Promise<ParquetFile> {
  let buffer: AsyncBuffer;
  try {
    // A name that is not UTF-8 as its bytes: hyparquet passes it on to fs, which takes a Buffer.
    buffer = await asyncBufferFromFile(fsPath(file) as string);
  } catch (err) {
    throw new PartitionError(describeFsError(err), { file });
  }
  const size = buffer.byteLength;
  // Checked here so that a CSV named .parquet gets a plain answer, not a thrift decoding error.
  const head = size >= 12 ? (await readRange(file, 0, 4)).toString('latin1') : '';
  const tail = size >= 12 ? (await readRange(file, size - 4, size)).toString('latin1') : '';
  if (head !== MAGIC || tail !== MAGIC) {
    throw new PartitionError(
      `not a parquet file (expected the bytes "${MAGIC}" at its start and end; ${size} bytes long)`,
      { file },
    );
  }
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new PartitionError(
      `unreadable parquet footer (${(err as Error).message}); expected valid parquet metadata`,
      { file, offset: size - 8 },
    );
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  return { buffer, metadata, columns };
}

function compressedSize(rg: RowGroup): number {
  if (rg.total_compressed_size !== undefined) return Number(rg.total_compressed_size);
  let sum = 0;
  for (const c of rg.columns) sum += Number(c.meta_data?.total_compressed_size ?? 0);
  return sum;
}

export async function* parquetSizeBatches(
  file: string,
  size: number,
  signal?: AbortSignal,
  shapeFor?: (columns: string[]) => TableShape,
): AsyncGenerator<PlannedBatch> {
  throwIfAborted(signal);
  const { metadata, columns } = await openParquet(file);
  const shape = shapeFor?.(columns);
  let rowGroups: number[] = [];
  let items = 0;
  let bytes = 0;
  const batch = (): PlannedBatch => ({
    items,
    bytes,
    sources: [{ kind: 'parquet', file, columns, rowGroups, ...(shape ? { shape } : {}) }],
  });
  for (let i = 0; i < metadata.row_groups.length; i++) {
    const rg = metadata.row_groups[i];
    const rows = Number(rg.num_rows);
    if (rows === 0) continue;
    const b = compressedSize(rg);
    if (rowGroups.length > 0 && bytes + b > size) {
      yield batch();
      rowGroups = [];
      items = 0;
      bytes = 0;
    }
    rowGroups.push(i);
    items += rows;
    bytes += b;
  }
  if (rowGroups.length > 0) yield batch();
}

/**
 * Partition keys over parquet: reads the key columns of every row group (a full pass over those
 * columns only). A row group is the smallest unit a mini-batch can name, so each row group must
 * hold one value per key; one that mixes values is refused with the row group and both values.
 */
export async function parquetKeyScan(
  file: string,
  keys: string[],
  groups: KeyGroups,
  signal?: AbortSignal,
  shapeFor?: (columns: string[]) => TableShape,
): Promise<void> {
  const { buffer, metadata, columns } = await openParquet(file);
  const shape = shapeFor?.(columns);
  const final = shape ? shapedColumns({ columns, shape }) : columns;
  const missing = keys.filter((k) => !final.includes(k));
  if (missing.length > 0) {
    throw new PartitionError(
      `partition key column${missing.length > 1 ? 's' : ''} ${missing.map((k) => `"${k}"`).join(', ')} not in the ${shape ? 'table' : 'parquet schema'} (columns: ${final.join(', ')})`,
      { file },
    );
  }
  // A partition-format column has the file's value in every row.
  const fixed = new Map(shape?.added ?? []);
  const read = keys.filter((k) => !fixed.has(k));
  let rowStart = 0;
  for (let i = 0; i < metadata.row_groups.length; i++) {
    throwIfAborted(signal);
    const rg = metadata.row_groups[i];
    const rows = Number(rg.num_rows);
    const rowEnd = rowStart + rows;
    if (rows > 0) {
      const data = read.length
        ? await parquetReadObjects({ file: buffer, metadata, columns: read, rowStart, rowEnd })
        : [];
      const values: PartitionKeyValue = {};
      for (const k of keys) {
        if (fixed.has(k)) {
          values[k] = fixed.get(k)!;
          continue;
        }
        const first = keyValueString(data[0]?.[k]);
        for (let r = 1; r < data.length; r++) {
          const v = keyValueString(data[r][k]);
          if (v !== first) {
            throw new PartitionError(
              `row group ${i} holds more than one value of partition key "${k}" ("${first}" and "${v}" at row ${rowStart + r}); a row group is the smallest unit of a parquet mini-batch, so each must hold one value per key (write the file partitioned by the keys)`,
              { file },
            );
          }
        }
        values[k] = first;
      }
      groups.addRowGroup(values, file, columns, i, rows, compressedSize(rg), shape);
    }
    rowStart = rowEnd;
  }
}
