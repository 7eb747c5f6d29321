// The history index: the data folder, what start/end record, resumes, moved and deleted run
// folders, runs whose process died, concurrent writers in separate processes, and the table.

import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/common/events';
import { dataDir, formatHistory, formatHistoryJson, History } from '../../src/engine/history';
import { ROOT, tempDir } from '../helpers';

const open: History[] = [];
afterEach(() => {
  for (const h of open.splice(0)) h.close();
});

function openHistory(dir = tempDir('prs-history-')): History {
  const h = History.open(dir);
  open.push(h);
  return h;
}

/** A run folder with a run.json, as the engine leaves one. */
function runFolder(base: string, name: string, id: string): string {
  const dir = path.join(base, name, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), '{}');
  return dir;
}

function summary(runDir: string, over: Partial<RunSummary> = {}): RunSummary {
  return {
    status: 'completed',
    exit_code: 0,
    run_dir: runDir,
    output_file: path.join(runDir, 'outputs', 'parallel_run_step.txt'),
    mini_batches: { total: 10, succeeded: 9, failed: 1 },
    items: { succeeded: 95, failed: 5 },
    duration_s: 3725.4,
    findings: [],
    ...over,
  };
}

describe('dataDir', () => {
  const home = os.homedir();
  it('takes PRS_DATA_DIR first, then the platform’s application data folder', () => {
    expect(dataDir({ PRS_DATA_DIR: '/x/y', XDG_DATA_HOME: '/z' }, 'linux')).toBe('/x/y');
    expect(dataDir({ XDG_DATA_HOME: '/z' }, 'linux')).toBe('/z/parallel-run-studio');
    expect(dataDir({}, 'linux')).toBe(path.join(home, '.local', 'share', 'parallel-run-studio'));
    expect(dataDir({ XDG_DATA_HOME: '' }, 'linux')).toBe(
      path.join(home, '.local', 'share', 'parallel-run-studio'),
    );
    expect(dataDir({}, 'darwin')).toBe(
      path.join(home, 'Library', 'Application Support', 'parallel-run-studio'),
    );
    expect(dataDir({ APPDATA: '/appdata' }, 'win32')).toBe(path.join('/appdata', 'parallel-run-studio'));
  });
});

describe('History', () => {
  it('records a run from start to end, with counts, duration and folder state', () => {
    const data = tempDir('prs-history-');
    const runs = tempDir('prs-runs-');
    const h = openHistory(data);
    const dir = runFolder(runs, 'score', '20260101T000000000Z-aaaa');
    h.recordStart({
      runId: 'r1',
      name: 'score',
      specPath: '/specs/job.yaml',
      runDir: dir,
      startedAt: '2026-01-01T00:00:00.000Z',
    });
    let [e] = h.list();
    expect(e).toMatchObject({
      runId: 'r1',
      status: 'running',
      miniBatches: null,
      durationS: null,
      folder: 'present',
    });

    h.recordEnd('r1', summary(dir));
    [e] = h.list();
    expect(e).toEqual({
      runId: 'r1',
      name: 'score',
      specPath: '/specs/job.yaml',
      runDir: dir,
      status: 'completed',
      miniBatches: { total: 10, succeeded: 9, failed: 1 },
      items: { succeeded: 95, failed: 5 },
      startedAt: '2026-01-01T00:00:00.000Z',
      endedAt: expect.stringMatching(/^\d{4}-/),
      durationS: 3725.4,
      reason: null,
      reusedFrom: null,
      resumes: 0,
      folder: 'present',
    });
    // The database is where it was asked to be, and a second handle sees the same.
    expect(h.file).toBe(path.join(data, 'history.sqlite'));
    expect(openHistory(data).list()).toHaveLength(1);
  });

  it('shows a run folder deleted or moved by hand as missing, not as an error', () => {
    const h = openHistory();
    const runs = tempDir('prs-runs-');
    const a = runFolder(runs, 'score', 'a');
    const b = runFolder(runs, 'score', 'b');
    h.recordStart({ runId: 'a', name: 'score', runDir: a, startedAt: 1000 });
    h.recordEnd('a', summary(a));
    h.recordStart({ runId: 'b', name: 'score', runDir: b, startedAt: 2000 });
    h.recordEnd(
      'b',
      summary(b, { status: 'failed', exit_code: 42, reason: 'allowed_failed_count exceeded' }),
    );
    rmSync(a, { recursive: true });
    renameSync(b, path.join(runs, 'moved'));
    const entries = h.list();
    expect(entries.map((e) => [e.runId, e.folder, e.status])).toEqual([
      ['b', 'missing', 'failed'],
      ['a', 'missing', 'completed'],
    ]);
    expect(entries[0]!.reason).toBe('allowed_failed_count exceeded');
    const table = formatHistory(entries);
    expect(table).toContain(`${b}  [folder missing: moved or deleted]`);
  });

  it('a resume is the same run again: first start kept, folder updated, resumes counted', () => {
    const h = openHistory();
    const runs = tempDir('prs-runs-');
    const dir = runFolder(runs, 'score', 'r');
    h.recordStart({ runId: 'r', name: 'score', runDir: dir, startedAt: '2026-01-01T00:00:00.000Z' });
    // Killed: no end recorded. Moved, then resumed from its new place.
    const moved = path.join(runs, 'elsewhere');
    renameSync(dir, moved);
    h.recordStart({ runId: 'r', name: 'score', runDir: moved, startedAt: '2026-01-02T00:00:00.000Z' });
    h.recordEnd('r', summary(moved, { duration_s: 12 }));
    const entries = h.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      startedAt: '2026-01-01T00:00:00.000Z',
      runDir: moved,
      resumes: 1,
      status: 'completed',
      durationS: 12,
      folder: 'present',
    });
    expect(formatHistory(entries)).toMatch(/completed \(resumed 1x\)/);
  });

  it('an end without a recorded start still lands in the history', () => {
    const h = openHistory();
    const dir = runFolder(tempDir('prs-runs-'), 'score', 'x');
    h.recordEnd('x', summary(dir, { reused_from: '/earlier/run' }), {
      name: 'score',
      specPath: '/s/job.yaml',
      startedAt: 5000,
    });
    expect(h.list()[0]).toMatchObject({
      runId: 'x',
      name: 'score',
      status: 'completed',
      reusedFrom: '/earlier/run',
      startedAt: new Date(5000).toISOString(),
    });
  });

  it('filters by name, spec, status and limit; newest first', () => {
    const h = openHistory();
    const runs = tempDir('prs-runs-');
    for (let i = 0; i < 6; i++) {
      const name = i % 2 ? 'odd' : 'even';
      const dir = runFolder(runs, name, String(i));
      h.recordStart({
        runId: `r${i}`,
        name,
        specPath: `/specs/${name}.yaml`,
        runDir: dir,
        startedAt: 1000 * (i + 1),
      });
      if (i < 5) h.recordEnd(`r${i}`, summary(dir, i === 3 ? { status: 'failed', exit_code: 42 } : {}));
    }
    expect(h.list().map((e) => e.runId)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1', 'r0']);
    expect(h.list({ name: 'odd' }).map((e) => e.runId)).toEqual(['r5', 'r3', 'r1']);
    expect(h.list({ specPath: '/specs/even.yaml', limit: 2 }).map((e) => e.runId)).toEqual(['r4', 'r2']);
    expect(h.list({ status: 'failed' }).map((e) => e.runId)).toEqual(['r3']);
    // r5 was started by this (living) process: running, not interrupted.
    expect(h.list({ status: 'running' }).map((e) => e.runId)).toEqual(['r5']);
    expect(h.list({ status: 'interrupted' })).toEqual([]);
  });
});

/** Bundles a small script that uses History, for running in separate processes. */
async function historyScript(body: string): Promise<string> {
  const dir = tempDir('prs-history-bundle-');
  const entry = path.join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { History } from ${JSON.stringify(path.join(ROOT, 'src', 'engine', 'history'))};\n${body}\n`,
  );
  const out = path.join(dir, 'entry.cjs');
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3'],
    logLevel: 'warning',
  });
  return out;
}

function runNode(script: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('History across processes', () => {
  it('takes concurrent writers (several hosts at once) without losing a row', async () => {
    const data = tempDir('prs-history-');
    const runs = tempDir('prs-runs-');
    const script = await historyScript(`
      const [data, runs, tag, n] = process.argv.slice(2);
      for (let i = 0; i < Number(n); i++) {
        const h = History.open(data); // a fresh handle each time, as a new \`prs run\` would
        const runDir = runs + '/' + tag + '-' + i;
        h.recordStart({ runId: tag + '-' + i, name: tag, runDir, startedAt: Date.now() });
        h.recordEnd(tag + '-' + i, { status: 'completed', exit_code: 0, run_dir: runDir, output_file: null,
          mini_batches: { total: 1, succeeded: 1, failed: 0 }, items: { succeeded: 1, failed: 0 },
          duration_s: 0.1, findings: [] });
        h.close();
      }
    `);
    const writers = ['w1', 'w2', 'w3', 'w4'];
    const results = await Promise.all(writers.map((w) => runNode(script, [data, runs, w, '150'])));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const entries = openHistory(data).list();
    expect(entries).toHaveLength(600);
    expect(entries.every((e) => e.status === 'completed')).toBe(true);
    for (const w of writers) expect(entries.filter((e) => e.name === w)).toHaveLength(150);
  });

  it('shows a run whose process died without recording its end as interrupted', async () => {
    const data = tempDir('prs-history-');
    const dir = runFolder(tempDir('prs-runs-'), 'score', 'dead');
    const script = await historyScript(`
      const [data, runDir] = process.argv.slice(2);
      History.open(data).recordStart({ runId: 'dead', name: 'score', runDir, startedAt: Date.now() });
      process.exit(0);
    `);
    const r = await runNode(script, [data, dir]);
    expect(r.code, r.stderr).toBe(0);
    const [e] = openHistory(data).list();
    expect(e).toMatchObject({ runId: 'dead', status: 'interrupted', folder: 'present' });
    expect(formatHistory([e!])).toMatch(/interrupted/);
  });
});

describe('formatHistory', () => {
  it('prints a header and one aligned line per run; --json is an array on one line', () => {
    const h = openHistory();
    const runs = tempDir('prs-runs-');
    const dir = runFolder(runs, 'score-digits', 'r');
    h.recordStart({ runId: 'r', name: 'score-digits', runDir: dir, startedAt: Date.now() });
    h.recordEnd('r', summary(dir));
    const entries = h.list();
    const lines = formatHistory(entries).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STARTED\s+NAME\s+STATUS\s+MINI-BATCHES\s+ITEMS\s+DURATION\s+RUN FOLDER$/);
    expect(lines[1]).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d\s+score-digits\s+completed\s+9\/10 \(1 failed\)\s+95 \(5 failed\)\s+1:02:05\s+/,
    );
    expect(lines[1]!.endsWith(dir)).toBe(true);
    // Columns line up: NAME starts at the same offset on both lines.
    expect(lines[1]!.indexOf('score-digits')).toBe(lines[0]!.indexOf('NAME'));
    expect(formatHistory([])).toMatch(/No runs recorded yet/);
    const json = formatHistoryJson(entries);
    expect(json.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(entries)));
  });
});
