// partition_keys over tabular inputs: one mini-batch per distinct combination of the key columns'
// values, across files, carrying the values as strings.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MiniBatch } from '../../src/common/minibatch';
import { readTable } from '../../src/runtime/tables';
import { csvField, expectPartitionError, makeSpec, plan, tempDir } from './helpers';
import { writeParquet } from './parquetWriter';

const STORES = ['north', 'south, east', 'west\nside'];
const BRANDS = ['acme', '"zeta"'];

interface Sale {
  id: string;
  store: string;
  brand: string;
  qty: string;
}

function sales(n: number, offset: number, clustered: boolean): Sale[] {
  return Array.from({ length: n }, (_, i) => {
    const k = clustered ? Math.floor((i * 6) / n) : i * 7 + (i >> 2);
    return {
      id: String(offset + i),
      store: STORES[k % 3],
      brand: BRANDS[Math.floor(k / 3) % 2],
      qty: String(i % 5),
    };
  });
}

function writeCsv(file: string, columns: Array<keyof Sale>, rows: Sale[]): void {
  writeFileSync(
    file,
    [columns.join(','), ...rows.map((r) => columns.map((c) => csvField(r[c])).join(','))].join('\r\n') +
      '\r\n',
  );
}

async function tableOf(b: MiniBatch) {
  const t = await readTable(b.sources);
  expect(t.rows.length).toBe(b.items);
  return t;
}

describe('partition keys (tabular)', () => {
  it('CSV: one mini-batch per store and brand across files, every record once, values as strings', async () => {
    const dir = tempDir();
    const a = sales(120, 0, false);
    const b = sales(60, 1000, true);
    writeCsv(path.join(dir, 'a.csv'), ['id', 'store', 'brand', 'qty'], a);
    // The second file orders its columns differently: rows are mapped by name onto the first's.
    writeCsv(path.join(dir, 'b.csv'), ['brand', 'qty', 'store', 'id'], b);
    const spec = makeSpec([{ path: dir, type: 'tabular' }], {
      partition_keys: ['store', 'brand'],
      mini_batch_size: 10,
    });
    const batches = await plan(spec);
    const all = [...a, ...b];
    const combos = [...new Set(all.map((s) => JSON.stringify([s.store, s.brand])))];
    // One per distinct combination, in order of first appearance; mini_batch_size is overridden.
    expect(
      batches.map((x) => JSON.stringify([x.partition_key_value?.store, x.partition_key_value?.brand])),
    ).toEqual(combos);
    expect(batches.map((x) => x.id)).toEqual(combos.map((_, i) => i));
    const seen: string[] = [];
    for (const batch of batches) {
      const t = await tableOf(batch);
      expect(t.columns).toEqual(['id', 'store', 'brand', 'qty']);
      for (const row of t.rows) {
        expect(row[1]).toBe(batch.partition_key_value?.store);
        expect(row[2]).toBe(batch.partition_key_value?.brand);
        const s = all.find((x) => x.id === row[0]);
        expect(row).toEqual([s?.id, s?.store, s?.brand, s?.qty]);
        seen.push(String(row[0]));
      }
    }
    expect(seen.sort()).toEqual(all.map((s) => s.id).sort());
    // Clustered rows coalesce: b.csv holds each combination in one run, so one range per group.
    const fromB = batches.flatMap((x) =>
      x.sources.filter((s) => s.kind === 'table' && s.file.endsWith('b.csv')),
    );
    expect(fromB).toHaveLength(6);
    for (const src of fromB) if (src.kind === 'table') expect(src.ranges).toHaveLength(1);
  });

  it('JSONL: keys from any JSON value, as strings', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.jsonl');
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, year: 2020 + (i % 3), flag: i % 2 === 0 }));
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const batches = await plan(
      makeSpec([{ path: file, type: 'tabular' }], { partition_keys: ['year', 'flag'] }),
    );
    expect(batches.map((b) => b.partition_key_value)).toEqual([
      { year: '2020', flag: 'true' },
      { year: '2021', flag: 'false' },
      { year: '2022', flag: 'true' },
      { year: '2020', flag: 'false' },
      { year: '2021', flag: 'true' },
      { year: '2022', flag: 'false' },
    ]);
    expect(batches.reduce((n, b) => n + b.items, 0)).toBe(40);
    const t = await tableOf(batches[0]);
    expect(t.rows).toEqual(rows.filter((r) => r.year === 2020 && r.flag).map((r) => [r.id, r.year, r.flag]));
  });

  it('parquet: row groups with one value per key are grouped across files', async () => {
    const dir = tempDir();
    const cols = [
      { name: 'id', type: 'int64' as const },
      { name: 'store', type: 'string' as const },
    ];
    writeParquet(path.join(dir, 'a.parquet'), cols, [
      [
        [1, 'n'],
        [2, 'n'],
      ],
      [[3, 's']],
    ]);
    writeParquet(path.join(dir, 'b.parquet'), cols, [[[4, 's']], [[5, 'n']]]);
    const batches = await plan(makeSpec([{ path: dir, type: 'tabular' }], { partition_keys: ['store'] }));
    expect(batches.map((b) => [b.partition_key_value, b.items])).toEqual([
      [{ store: 'n' }, 3],
      [{ store: 's' }, 2],
    ]);
    expect(
      batches[0].sources.map((s) => (s.kind === 'parquet' ? [path.basename(s.file), s.rowGroups] : [])),
    ).toEqual([
      ['a.parquet', [0]],
      ['b.parquet', [1]],
    ]);
    expect((await tableOf(batches[0])).rows).toEqual([
      [1, 'n'],
      [2, 'n'],
      [5, 'n'],
    ]);
  });

  it('parquet: a row group mixing key values is refused, naming it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'mixed.parquet');
    writeParquet(file, [{ name: 'store', type: 'string' }], [[['n']], [['n'], ['s']]]);
    await expectPartitionError(
      makeSpec([{ path: file, type: 'tabular' }], { partition_keys: ['store'] }),
      file,
      'row group 1',
      '"n" and "s"',
    );
  });

  it('refuses a key column missing from a file header, and a bad JSONL line, naming file and line', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a.csv'), 'store,brand\nn,x\n');
    writeFileSync(path.join(dir, 'b.csv'), 'shop,brand\nn,x\n');
    await expectPartitionError(
      makeSpec([{ path: dir, type: 'tabular' }], { partition_keys: ['store'] }),
      path.join(dir, 'b.csv'),
      '"store" not in the header',
      'columns: shop, brand',
    );
    const jl = path.join(dir, 'data.jsonl');
    writeFileSync(jl, '{"k": 1}\n{"k": 2}\n\n{"k": oops}\n');
    await expectPartitionError(
      makeSpec([{ path: jl, type: 'tabular' }], { partition_keys: ['k'] }),
      jl,
      'line 4',
      'expected one JSON object per line',
    );
  });
});
