// Groups of records by partition key value, for tabular inputs with partition_keys.
//
// Memory per record is kept small by coalescing: a record that starts where the same group's last
// range in the same file ends extends that range, so sorted or clustered data costs a few ranges
// per group and file. Interleaved keys cost one range (two numbers) per run of equal keys.

import type { BatchSource, PartitionKeyValue, TableShape, TextTableBatch } from '../../common/minibatch';
import type { PlannedBatch } from './filesPlan';

interface TextAcc {
  kind: 'table';
  head: Omit<TextTableBatch, 'ranges'>;
  /** Flat [start0, end0, start1, end1, ...]. */
  ranges: number[];
}

interface ParquetAcc {
  kind: 'parquet';
  file: string;
  columns: string[];
  rowGroups: number[];
  shape?: TableShape;
}

interface Group {
  values: PartitionKeyValue;
  items: number;
  bytes: number;
  /** One accumulator per file, in order of the group's first record in that file. */
  sources: Map<string, TextAcc | ParquetAcc>;
}

export class KeyGroups {
  private readonly groups = new Map<string, Group>();
  /** Where the previous text record went, so a blank line after it joins its range. */
  private last: TextAcc | undefined;
  private lastGroup: Group | undefined;

  constructor(private readonly keys: string[]) {}

  private group(values: PartitionKeyValue): Group {
    const id = JSON.stringify(this.keys.map((k) => values[k]));
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = { values, items: 0, bytes: 0, sources: new Map() }));
    return g;
  }

  addRecord(
    values: PartitionKeyValue,
    head: Omit<TextTableBatch, 'ranges'>,
    start: number,
    end: number,
  ): void {
    const g = this.group(values);
    let acc = g.sources.get(head.file) as TextAcc | undefined;
    if (!acc) g.sources.set(head.file, (acc = { kind: 'table', head, ranges: [] }));
    const r = acc.ranges;
    if (r.length > 0 && r[r.length - 1] === start) r[r.length - 1] = end;
    else r.push(start, end);
    g.items++;
    g.bytes += end - start;
    this.last = acc;
    this.lastGroup = g;
  }

  /** A blank line is no item; it joins the previous record's range when adjacent, to keep ranges few. */
  addBlank(file: string, start: number, end: number): void {
    const acc = this.last;
    if (!acc || acc.head.file !== file || !this.lastGroup) return;
    const r = acc.ranges;
    if (r[r.length - 1] === start) {
      r[r.length - 1] = end;
      this.lastGroup.bytes += end - start;
    }
  }

  addRowGroup(
    values: PartitionKeyValue,
    file: string,
    columns: string[],
    rowGroup: number,
    rows: number,
    bytes: number,
    shape?: TableShape,
  ): void {
    const g = this.group(values);
    let acc = g.sources.get(file) as ParquetAcc | undefined;
    if (!acc)
      g.sources.set(
        file,
        (acc = { kind: 'parquet', file, columns, rowGroups: [], ...(shape ? { shape } : {}) }),
      );
    acc.rowGroups.push(rowGroup);
    g.items += rows;
    g.bytes += bytes;
    this.last = undefined;
  }

  /** The mini-batches, in order of each group's first record; empties the groups as it goes. */
  *batches(): Generator<PlannedBatch> {
    for (const [id, g] of this.groups) {
      this.groups.delete(id);
      const sources: BatchSource[] = [];
      for (const acc of g.sources.values()) {
        if (acc.kind === 'parquet') {
          const { file, columns, rowGroups, shape } = acc;
          sources.push({ kind: 'parquet', file, columns, rowGroups, ...(shape ? { shape } : {}) });
        } else {
          const ranges: Array<[number, number]> = [];
          for (let i = 0; i < acc.ranges.length; i += 2) ranges.push([acc.ranges[i], acc.ranges[i + 1]]);
          sources.push({ ...acc.head, ranges });
        }
      }
      yield { items: g.items, bytes: g.bytes, sources, partition_key_value: g.values };
    }
  }
}
