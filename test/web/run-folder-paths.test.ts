// What the host serves from a run folder, asked through the same API the app calls: nothing outside
// the folder, whether named with "..", reached through a symbolic link, or by naming a folder that
// is no run folder at all; exports that fail leave the destination as it was; deletes only of runs.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/common/contract';
import { AppHost, type HostConnection } from '../../src/host/appHost';

const SECRET = 'secret-outside-the-run-folder';
let root: string;
let secretFile: string;
let secretDir: string;
let host: AppHost;
let conn: HostConnection;
let events: AppEvent[];

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'prs-paths-'));
  secretDir = path.join(root, 'elsewhere');
  mkdirSync(secretDir);
  secretFile = path.join(secretDir, 'shadow');
  writeFileSync(secretFile, `${SECRET}\n`);
  host = new AppHost({ examplesDir: path.join(root, 'no-examples') });
  events = [];
  conn = host.connect((e) => events.push(e));
});
afterEach(async () => {
  conn.close();
  await host.close();
  rmSync(root, { recursive: true, force: true });
});

/** A run folder as the engine leaves one, with a plain log and an output file. */
function runFolder(
  name = 'r1',
  record: unknown = { runId: name, startedAt: '2026-01-01T00:00:00.000Z' },
): string {
  const dir = path.join(root, 'runs', 'job', name);
  mkdirSync(path.join(dir, 'outputs'), { recursive: true });
  mkdirSync(path.join(dir, 'logs', 'sys'), { recursive: true });
  writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify({ ...(record as object), spec: { name: 'job', append_row_file_name: 'o.txt' } }),
  );
  writeFileSync(path.join(dir, 'outputs', 'o.txt'), 'a 1\nb 2\n');
  writeFileSync(path.join(dir, 'logs', 'plain.txt'), 'plain log\n');
  return dir;
}

describe('readLog', () => {
  it('reads a file of a run folder, but nothing outside it: "..", a linked file, a linked folder', async () => {
    const dir = runFolder();
    expect((await conn.call('readLog', { runDir: dir, path: 'logs/plain.txt' })).data).toBe('plain log\n');
    symlinkSync(secretFile, path.join(dir, 'logs', 'leak.txt'));
    symlinkSync(secretDir, path.join(dir, 'logs', 'linked'));
    for (const rel of ['../../../elsewhere/shadow', 'logs/leak.txt', 'logs/linked/shadow', secretFile])
      await expect(conn.call('readLog', { runDir: dir, path: rel }), rel).rejects.toThrow(
        /not inside the run folder/,
      );
  });

  it('only inside a run folder: a folder without a run record is refused', async () => {
    await expect(conn.call('readLog', { runDir: secretDir, path: 'shadow' })).rejects.toThrow(
      /not a run folder/,
    );
    await expect(conn.call('readLog', { runDir: '/', path: 'etc/passwd' })).rejects.toThrow(
      /not a run folder/,
    );
  });
});

describe('the output file through a symbolic link', () => {
  it('is refused by the output pages, search and the CSV export; the opened run shows no linked log', async () => {
    const dir = runFolder();
    rmSync(path.join(dir, 'outputs', 'o.txt'));
    symlinkSync(secretFile, path.join(dir, 'outputs', 'o.txt'));
    symlinkSync(secretFile, path.join(dir, 'logs', 'sys', 'master_role.txt'));
    await expect(conn.call('readOutputPage', { runDir: dir })).rejects.toThrow(/not inside the run folder/);
    await expect(conn.call('searchOutput', { runDir: dir, query: 'secret' })).rejects.toThrow(
      /not inside the run folder/,
    );
    const dest = path.join(root, 'out.csv');
    await expect(conn.call('exportRun', { runDir: dir, what: 'output-csv', dest })).rejects.toThrow(
      /not inside the run folder/,
    );
    expect(existsSync(dest)).toBe(false);
    const snap = await conn.call('openRun', { runDir: dir });
    expect(JSON.stringify(snap)).not.toContain(SECRET);
  });

  it('a run folder that is itself a link to a run folder still works', async () => {
    const dir = runFolder();
    const link = path.join(root, 'link-to-run');
    symlinkSync(dir, link);
    expect((await conn.call('readOutputPage', { runDir: link })).lines).toEqual(['a 1', 'b 2']);
  });
});

describe('exportRun (the app\'s "save as")', () => {
  it('applies the checks of the HTTP download: a folder that is no run folder is not zipped', async () => {
    const dest = path.join(root, 'stolen.zip');
    await expect(conn.call('exportRun', { runDir: secretDir, what: 'run-zip', dest })).rejects.toThrow(
      /not a run folder/,
    );
    expect(existsSync(dest)).toBe(false);
    const dir = runFolder();
    rmSync(path.join(dir, 'logs'), { recursive: true });
    symlinkSync(secretDir, path.join(dir, 'logs'));
    await expect(conn.call('exportRun', { runDir: dir, what: 'logs-zip', dest })).rejects.toThrow(
      /not inside the run folder/,
    );
    expect(existsSync(dest)).toBe(false);
  });

  it('a failed export leaves an existing file untouched and no temporary file; a good one replaces it', async () => {
    const dir = runFolder();
    // JSON rows, then one that is not JSON: the CSV conversion fails part-way.
    writeFileSync(path.join(dir, 'outputs', 'o.txt'), '{"a":1}\n'.repeat(100_000) + '{not json\n');
    const outDir = path.join(root, 'exports');
    mkdirSync(outDir);
    const dest = path.join(outDir, 'precious.csv');
    writeFileSync(dest, 'precious\n');
    await expect(
      conn.call('exportRun', { runDir: dir, what: 'output-csv', dest, overwrite: true }),
    ).rejects.toThrow(/JSON/);
    expect(readFileSync(dest, 'utf8')).toBe('precious\n');
    expect(readdirSync(outDir)).toEqual(['precious.csv']);
    writeFileSync(path.join(dir, 'outputs', 'o.txt'), '{"a":1}\n{"a":2}\n');
    const r = await conn.call('exportRun', { runDir: dir, what: 'output-csv', dest, overwrite: true });
    expect(r).toMatchObject({ path: dest });
    expect(readFileSync(dest, 'utf8')).toBe('a\n1\n2\n');
    expect(readdirSync(outDir)).toEqual(['precious.csv']);
  });
});

describe('deleteRun', () => {
  it('deletes a run folder, and refuses any folder whose run.json is not a run record', async () => {
    const notRuns: Array<[string, string]> = [
      ['empty-object', '{}'],
      ['spec-only', JSON.stringify({ spec: { name: 'x' } })],
      ['not-json', 'this is not JSON'],
      ['array', '[1, 2]'],
    ];
    for (const [name, text] of notRuns) {
      const d = path.join(root, 'precious', name);
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, 'run.json'), text);
      writeFileSync(path.join(d, 'thesis.tex'), 'years of work');
      await expect(conn.call('deleteRun', { runDir: d }), name).rejects.toThrow(
        /not a run folder.*not deleted/,
      );
      expect(existsSync(path.join(d, 'thesis.tex')), name).toBe(true);
    }
    const run = runFolder();
    expect(await conn.call('deleteRun', { runDir: run })).toEqual({ deleted: true });
    expect(existsSync(run)).toBe(false);
    expect(await conn.call('deleteRun', { runDir: run })).toEqual({ deleted: false });
  });
});
