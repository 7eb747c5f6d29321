// The output browser's server side on real files: pages by line through the sparse index, search,
// and exports (CSV, JSON Lines, Parquet read back with hyparquet, zip).

import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeExport } from '../../src/host/exports';
import { readPage, STRIDE } from '../../src/host/outputIndex';
import { searchFile } from '../../src/host/outputSearch';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'prs-outputs-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Lines of varying length (and a multi-byte character now and then). */
function lines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `line${i} ${'é'.repeat(i % 7)}${'x'.repeat((i * 37) % 50)}`);
}

describe('readPage', () => {
  it('jumps to any line exactly, from byte offsets, and counts the lines once indexed', async () => {
    const all = lines(STRIDE * 5 + 123);
    const file = path.join(dir, 'out.txt');
    writeFileSync(file, all.join('\n') + '\n');
    const first = await readPage(file, 'out.txt', { start: 0, maxLines: 10 });
    expect(first.lines).toEqual(all.slice(0, 10));
    expect(first.firstLine).toBe(0);
    for (const l of [1, STRIDE - 1, STRIDE, STRIDE + 1, 3 * STRIDE + 77, all.length - 1]) {
      const p = await readPage(file, 'out.txt', { line: l, maxLines: 3 });
      expect(p.firstLine).toBe(l);
      expect(p.lines).toEqual(all.slice(l, l + 3));
    }
    // Past the end: the last line.
    const end = await readPage(file, 'out.txt', { line: all.length + 50, maxLines: 5 });
    expect(end.lines).toEqual([all[all.length - 1]]);
    expect(end.totalLines).toBe(all.length);
    // A byte offset inside a line shows from that line's start; next continues after the page.
    const offset = Buffer.byteLength(all.slice(0, 40).join('\n') + '\n') + 3;
    const mid = await readPage(file, 'out.txt', { start: offset, maxLines: 2 });
    expect(mid.lines).toEqual(all.slice(40, 42));
    const after = await readPage(file, 'out.txt', { start: mid.next, maxLines: 1 });
    expect(after.lines).toEqual([all[42]]);
  });

  it('follows a file that grows, with an unterminated last line', async () => {
    const file = path.join(dir, 'grow.txt');
    writeFileSync(file, 'a\nb\nc');
    expect((await readPage(file, 'g', { line: 2 })).lines).toEqual(['c']);
    expect((await readPage(file, 'g', { line: 0 })).totalLines).toBe(3);
    appendFileSync(file, 'c\nd\n');
    const p = await readPage(file, 'g', { line: 2 });
    expect(p.lines).toEqual(['cc', 'd']);
    expect(p.totalLines).toBe(4);
  });
});

describe('searchFile', () => {
  it('finds text and patterns with their line numbers and byte offsets, one match per line', async () => {
    const all = lines(3000);
    const file = path.join(dir, 'out.txt');
    const text = all.join('\n') + '\n';
    writeFileSync(file, text);
    const run = async (query: string, regex = false, caseSensitive = false) => {
      const found: Array<{ line: number; offset: number; text: string }> = [];
      const r = await searchFile(file, {
        query,
        regex,
        caseSensitive,
        progress: (p) => found.push(...p.matches),
      });
      return { r, found };
    };
    const { r, found } = await run('LINE2999 ');
    expect(r.totalMatches).toBe(1);
    expect(found[0].line).toBe(2999);
    expect(found[0].text).toBe(all[2999]);
    expect(found[0].offset).toBe(Buffer.byteLength(all.slice(0, 2999).join('\n') + '\n'));
    expect((await run('LINE2999 ', false, true)).r.totalMatches).toBe(0);
    const re = await run('^line(1|2)\\d{3} ', true);
    expect(re.r.totalMatches).toBe(2000);
    expect(re.found.slice(0, 2).map((m) => m.line)).toEqual([1000, 1001]);
    await expect(run('(', true)).rejects.toThrow(/expected a JavaScript regular expression/);
  });

  it('stops when cancelled', async () => {
    const file = path.join(dir, 'big.txt');
    writeFileSync(file, 'abc\n'.repeat(5_000_000));
    const ac = new AbortController();
    ac.abort();
    const r = await searchFile(file, { query: 'zzz', signal: ac.signal, progress: () => undefined });
    expect(r.cancelled).toBe(true);
    expect(r.scannedBytes).toBeLessThan(r.size);
  });
});

async function exported(runDir: string, what: Parameters<typeof writeExport>[1]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeExport(runDir, what, out);
  return Buffer.concat(chunks);
}

describe('exports', () => {
  function runFolder(output: string): string {
    const runDir = path.join(dir, 'runs', 'job', 'r1');
    mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
    mkdirSync(path.join(runDir, 'logs', 'user'), { recursive: true });
    writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ spec: { append_row_file_name: 'o.txt' } }));
    writeFileSync(path.join(runDir, 'outputs', 'o.txt'), output);
    writeFileSync(path.join(runDir, 'logs', 'user', 'a.txt'), 'log line\n');
    return runDir;
  }

  it('writes space-separated rows as CSV and JSON Lines', async () => {
    const runDir = runFolder('a.png cat 0.9\nb,c.png "dog" 0.1\n\n');
    expect((await exported(runDir, 'output-csv')).toString()).toBe(
      'col1,col2,col3\na.png,cat,0.9\n"b,c.png","""dog""",0.1\n',
    );
    const jsonl = (await exported(runDir, 'output-jsonl'))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(jsonl).toEqual([
      { col1: 'a.png', col2: 'cat', col3: '0.9' },
      { col1: 'b,c.png', col2: '"dog"', col3: '0.1' },
    ]);
  });

  it('writes JSON rows as CSV with their keys as the header', async () => {
    const runDir = runFolder('{"file":"a","score":1}\n{"file":"b","score":{"x":2}}\n');
    expect((await exported(runDir, 'output-csv')).toString()).toBe('file,score\na,1\nb,"{""x"":2}"\n');
  });

  async function parquetRows(runDir: string) {
    const file = path.join(dir, 'out.parquet');
    writeFileSync(file, await exported(runDir, 'output-parquet'));
    const buf = await asyncBufferFromFile(file);
    const meta = await parquetMetadataAsync(buf);
    return { meta, rows: await parquetReadObjects({ file: buf }) };
  }

  it('writes Parquet that a reader reads back: typed columns, a later wider row, several row groups', async () => {
    const body = Array.from({ length: 25_000 }, (_, i) => `f${i}.png cat ${i}`);
    body.push('last.png dog 0.5 extra');
    const { meta, rows } = await parquetRows(runFolder(body.join('\n') + '\n\n'));
    expect(meta.row_groups.length).toBeGreaterThan(1);
    expect(meta.schema.slice(1).map((s) => [s.name, s.type])).toEqual([
      ['col1', 'BYTE_ARRAY'],
      ['col2', 'BYTE_ARRAY'],
      // Whole numbers and then 0.5: one DOUBLE column.
      ['col3', 'DOUBLE'],
      ['col4', 'BYTE_ARRAY'],
    ]);
    expect(rows.length).toBe(25_001);
    expect(rows[7]).toEqual({ col1: 'f7.png', col2: 'cat', col3: 7, col4: null });
    expect(rows[25_000]).toEqual({ col1: 'last.png', col2: 'dog', col3: 0.5, col4: 'extra' });
  });

  it('writes JSON rows as Parquet with every key any row has, numbers as numbers', async () => {
    const runDir = runFolder('{"file":"a","n":1,"ok":true}\n{"file":"b","n":2,"extra":{"x":2}}\n');
    const { rows } = await parquetRows(runDir);
    expect(rows).toEqual([
      { file: 'a', n: 1n, ok: true, extra: null },
      { file: 'b', n: 2n, ok: null, extra: '{"x":2}' },
    ]);
  });

  it('zips the logs and the whole run folder', async () => {
    const runDir = runFolder('x\n');
    for (const [what, names] of [
      ['logs-zip', ['logs/user/a.txt']],
      ['run-zip', ['r1/logs/user/a.txt', 'r1/outputs/o.txt', 'r1/run.json']],
    ] as const) {
      const zip = path.join(dir, `${what}.zip`);
      writeFileSync(zip, await exported(runDir, what));
      const r = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          'import sys, zipfile; print("\\n".join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))',
          zip,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stdout.trim().split('\n')).toEqual(names);
    }
    const zip = path.join(dir, 'logs-zip.zip');
    const r = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read("logs/user/a.txt").decode())',
        zip,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toBe('log line\n');
    expect(readFileSync(zip).subarray(0, 2).toString()).toBe('PK');
  });
});
