// Tabular inputs: size-based mini-batches of whole records, read back with the worker's
// readTable, compared with the records the test generated.

import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MiniBatch, TextTableBatch } from '../../src/common/minibatch';
import { readParquetColumns, readTable } from '../../src/runtime/tables';
import { csvField, expectPartitionError, makeSpec, plan, tempDir } from './helpers';
import { writeParquet } from './parquetWriter';

/** Deterministic pseudo-random numbers (a test that fails must fail again). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NASTY = [
  'plain',
  'with,comma',
  'two\nlines',
  'crlf\r\ninside',
  'say "hi"',
  '"quoted"',
  '',
  ' spaced ',
  'ünïcödé',
  'end\n',
];

function makeRecords(n: number, seed = 1): string[][] {
  const r = rng(seed);
  const rows: string[][] = [];
  for (let i = 0; i < n; i++) {
    rows.push([
      String(i),
      NASTY[Math.floor(r() * NASTY.length)],
      'x'.repeat(Math.floor(r() * 40)),
      NASTY[i % NASTY.length],
    ]);
  }
  return rows;
}

function toCsv(columns: string[], rows: string[][], eol: string): string {
  return [columns, ...rows].map((r) => r.map(csvField).join(',') + eol).join('');
}

async function rowsOf(batches: MiniBatch[]): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (const b of batches) {
    const t = await readTable(b.sources);
    expect(t.rows.length).toBe(b.items);
    out.push(...t.rows);
  }
  return out;
}

function ranges(b: MiniBatch): Array<[number, number]> {
  return b.sources.flatMap((s) => (s.kind === 'table' ? s.ranges : []));
}

describe('CSV', () => {
  for (const eol of ['\n', '\r\n']) {
    it(`splits by size on record boundaries only; every record exactly once (${JSON.stringify(eol)} endings)`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'data.csv');
      const columns = ['id', 'text', 'pad', 'more'];
      const records = makeRecords(500);
      writeFileSync(file, toCsv(columns, records, eol));
      const size = 300;
      const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: size }));
      expect(batches.length).toBeGreaterThan(20);
      expect(batches.map((b) => b.id)).toEqual(batches.map((_, i) => i));
      let prevEnd = -1;
      for (const b of batches) {
        const [src] = b.sources as TextTableBatch[];
        expect(src).toMatchObject({ kind: 'table', format: 'csv', file, columns });
        const [[start, end]] = src.ranges;
        if (prevEnd >= 0) expect(start).toBe(prevEnd); // contiguous, nothing skipped
        prevEnd = end;
        expect(b.bytes).toBe(end - start);
        if (b.items > 1) expect(b.bytes).toBeLessThanOrEqual(size);
      }
      expect(await rowsOf(batches)).toEqual(records);
      expect(batches.reduce((n, b) => n + b.items, 0)).toBe(records.length);
    });
  }

  it('makes a file smaller than the size one mini-batch, and several files several, in order', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'b.csv'), 'k,v\n1,"x\ny"\n2,z\n');
    writeFileSync(path.join(dir, 'a.csv'), 'k,v\r\n0,w\r\n');
    writeFileSync(path.join(dir, 'c.csv'), 'k,v\n');
    const batches = await plan(makeSpec([{ path: dir, type: 'tabular' }], { mini_batch_size: 1 << 20 }));
    expect(batches.map((b) => [path.basename((b.sources[0] as TextTableBatch).file), b.items])).toEqual([
      ['a.csv', 1],
      ['b.csv', 2],
    ]);
    expect(await rowsOf(batches)).toEqual([
      ['0', 'w'],
      ['1', 'x\ny'],
      ['2', 'z'],
    ]);
  });

  it('gives a record larger than the size a mini-batch of its own', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'big.csv');
    writeFileSync(file, `a\n${'x'.repeat(100)}\nshort\n"${'y\n'.repeat(60)}"\n`);
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 10 }));
    expect(batches.map((b) => b.items)).toEqual([1, 1, 1]);
    expect((await rowsOf(batches)).map((r) => String(r[0]).length)).toEqual([100, 5, 120]);
  });

  it('scans files larger than one read chunk (quote state carried across 1 MiB reads)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'large.csv');
    const columns = ['id', 'text', 'pad', 'more'];
    const records = makeRecords(40_000, 7);
    writeFileSync(file, toCsv(columns, records, '\r\n'));
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 200 * 1024 }));
    expect(batches.length).toBeGreaterThan(8);
    expect(await rowsOf(batches)).toEqual(records);
  });

  it('refuses an unterminated quote at the end of the file, naming file and line', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, 'a,b\n1,2\n3,"open\n4,5\n');
    await expectPartitionError(
      makeSpec([{ path: file, type: 'tabular' }]),
      file,
      'line 3',
      'unterminated quoted field',
      'closing',
    );
  });

  it('is read by pandas from the same byte ranges to the same values (the Python runtime contract)', async () => {
    const py = '/usr/bin/python3';
    if (!existsSync(py)) throw new Error('/usr/bin/python3 (with pandas) is expected on this machine');
    const dir = tempDir();
    const file = path.join(dir, 'data.csv');
    const columns = ['id', 'text', 'pad', 'more'];
    const records = makeRecords(200, 3).map((r) => r.map((v) => (v === '' ? 'e' : v))); // pandas reads "" as NaN
    writeFileSync(file, toCsv(columns, records, '\r\n'));
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 500 }));
    const script = [
      'import io, json, sys, pandas as pd',
      'out = []',
      'for b in json.load(sys.stdin):',
      '    s = b["sources"][0]',
      '    data = b"".join(open(s["file"], "rb").read()[a:e] for a, e in s["ranges"])',
      '    df = pd.read_csv(io.BytesIO(data), header=None, names=s["columns"], dtype=str, keep_default_na=False)',
      '    out.extend(df.values.tolist())',
      'print(json.dumps(out))',
    ].join('\n');
    const fromPandas = JSON.parse(
      execFileSync(py, ['-c', script], { input: JSON.stringify(batches), encoding: 'utf8' }),
    );
    expect(fromPandas).toEqual(records);
    expect(await rowsOf(batches)).toEqual(records);
  });
});

describe('TSV and JSONL', () => {
  it('TSV: lines split on tabs, no quoting, blank lines skipped', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.tsv');
    const records = Array.from({ length: 300 }, (_, i) => [
      String(i),
      `"q${i}"`,
      i % 7 === 0 ? '' : `v,${i}`,
    ]);
    writeFileSync(
      file,
      'id\tname\tval\n' + records.map((r, i) => r.join('\t') + (i % 50 === 0 ? '\n\n' : '\r\n')).join(''),
    );
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 200 }));
    expect(batches.length).toBeGreaterThan(10);
    expect(batches[0].sources[0]).toMatchObject({ format: 'tsv', columns: ['id', 'name', 'val'] });
    expect(await rowsOf(batches)).toEqual(records);
  });

  it('JSONL: columns from the first record, values as JSON values, later keys dropped', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.jsonl');
    const objs = Array.from({ length: 200 }, (_, i) => ({
      id: i,
      text: `line ${i}\nwith newline`,
      tags: [i],
      ok: i % 2 === 0,
    }));
    const lines = objs.map((o) => JSON.stringify(o));
    lines[5] = JSON.stringify({ id: 5, extra: 'dropped', text: objs[5].text, ok: objs[5].ok }); // no tags, one extra key
    writeFileSync(file, lines.join('\n') + '\n\n');
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 1000 }));
    expect(batches.length).toBeGreaterThan(5);
    expect(ranges(batches[0])[0][0]).toBe(0); // no header: the first record is data
    const expected: unknown[][] = objs.map((o) => [o.id, o.text, o.tags, o.ok]);
    expected[5][2] = null;
    expect(await rowsOf(batches)).toEqual(expected);
    for (const b of batches) expect(b.sources[0]).toMatchObject({ columns: ['id', 'text', 'tags', 'ok'] });
  });

  it('JSONL: a first line that is not a JSON object is refused with file and line', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, '\n{"id": 1,\n');
    await expectPartitionError(
      makeSpec([{ path: file, type: 'tabular' }]),
      file,
      'line 2',
      'expected one JSON object per line',
    );
    writeFileSync(file, '[1,2]\n');
    await expectPartitionError(
      makeSpec([{ path: file, type: 'tabular' }]),
      'JSON array',
      'expected one JSON object',
    );
  });

  it('refuses a file whose format cannot be told from its extension', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a.csv'), 'a\n1\n');
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await expectPartitionError(
      makeSpec([{ path: dir, type: 'tabular' }]),
      path.join(dir, 'notes.txt'),
      'expected .csv',
    );
    // …unless the input says which format it is, or a pattern leaves the file out.
    expect(await plan(makeSpec([{ path: dir, type: 'tabular', pattern: '*.csv' }]))).toHaveLength(1);
  });
});

describe('parquet', () => {
  const columns = [
    { name: 'id', type: 'int64' as const },
    { name: 'store', type: 'string' as const },
    { name: 'n', type: 'int32' as const },
  ];
  const rowGroups = (counts: number[]) => {
    let id = 0;
    return counts.map((c, g) => Array.from({ length: c }, () => [id++, `store-${g}`, id * 3]));
  };

  it('groups row groups up to the size, at least one per mini-batch, and reads them back', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.parquet');
    const groups = rowGroups([50, 50, 50, 50, 10]);
    writeParquet(file, columns, groups);
    const one = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 1 }));
    expect(one.map((b) => (b.sources[0].kind === 'parquet' ? b.sources[0].rowGroups : []))).toEqual([
      [0],
      [1],
      [2],
      [3],
      [4],
    ]);
    expect(one.map((b) => b.items)).toEqual([50, 50, 50, 50, 10]);
    const all = groups.flat();
    expect(await rowsOf(one)).toEqual(all);
    // A row group of 50 rows is a little over 50 * 8 + 50 * 11 + 50 * 4 bytes: two fit in 2500.
    const two = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 2500 }));
    expect(two.map((b) => (b.sources[0].kind === 'parquet' ? b.sources[0].rowGroups : []))).toEqual([
      [0, 1],
      [2, 3],
      [4],
    ]);
    expect(two[0].sources[0]).toMatchObject({ kind: 'parquet', file, columns: ['id', 'store', 'n'] });
    expect(await rowsOf(two)).toEqual(all);
  });

  it("reads a mini-batch column by column for the Python driver: readTable's values, numbers as bytes", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.parquet');
    const groups = rowGroups([50, 50, 10]);
    writeParquet(file, columns, groups);
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 1 }));
    // And mini-batches of several row groups, whose chunks are joined in order: [0, 1], [2].
    const joined = await plan(makeSpec([{ path: file, type: 'tabular' }], { mini_batch_size: 2500 }));
    expect(joined.map((b) => b.items)).toEqual([100, 10]);
    for (const b of [...batches, ...joined]) {
      const rows = (await readTable(b.sources)).rows;
      const t = (await readParquetColumns(b.sources))!;
      expect(t.columns).toEqual(['id', 'store', 'n']);
      const [id, store, n] = t.cols;
      // The test writer's columns are REQUIRED: INT64 and INT32 travel as bytes, strings as values.
      expect(id).toMatchObject({ dtype: '<i8' });
      expect(n).toMatchObject({ dtype: '<i4' });
      const bytes = (c: (typeof t.cols)[number]) => Buffer.from('b64' in c ? c.b64 : '', 'base64');
      const ids = new BigInt64Array(new Uint8Array(bytes(id!)).buffer);
      const ns = new Int32Array(new Uint8Array(bytes(n!)).buffer);
      expect(
        rows.map((_, i) => [Number(ids[i]), 'values' in store! ? store.values[i] : null, ns[i]]),
      ).toEqual(rows);
    }
    // Sources that do not share a column's type send it as values; a shaped (MLTable) source is readTable's.
    const other = path.join(dir, 'other.parquet');
    writeParquet(other, [columns[0]!, columns[1]!, { name: 'n', type: 'int64' }], [[[7, 'x', 8]]]);
    const mixed = [batches[0]!.sources[0]!, { ...batches[0]!.sources[0]!, file: other, rowGroups: [0] }];
    const t = (await readParquetColumns(mixed as MiniBatch['sources']))!;
    expect(t.cols.map((c) => ('dtype' in c ? c.dtype : 'values'))).toEqual(['<i8', 'values', 'values']);
    const shaped = { ...batches[0]!.sources[0]!, shape: { added: [] } } as MiniBatch['sources'][number];
    expect(await readParquetColumns([shaped])).toBeNull();
  });

  it('reads a parquet file written by another writer (pandas test data, when installed)', async (ctx) => {
    const file = '/usr/lib/python3/dist-packages/pandas/tests/io/data/parquet/simple.parquet';
    if (!existsSync(file)) ctx.skip();
    const batches = await plan(makeSpec([{ path: file, type: 'tabular' }]));
    expect(batches).toHaveLength(1);
    const t = await readTable(batches[0].sources);
    expect(t).toEqual({
      columns: ['A', 'B'],
      rows: [
        [1, 'foo'],
        [2, 'foo'],
        [3, 'foo'],
      ],
    });
  });

  it('refuses a file that is not parquet', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'fake.parquet');
    writeFileSync(file, 'a,b\n1,2\n3,4\n5,6\n');
    await expectPartitionError(
      makeSpec([{ path: file, type: 'tabular' }]),
      file,
      'not a parquet file',
      'PAR1',
    );
  });
});
