// `prs history` over real runs (contracts.md §2): two `prs run` at once both land in the index,
// a deleted run folder shows as missing, and a killed then resumed run is one entry.

import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/engine/history';
import { collect, nodeJob, prs, startPrs, tempDir } from '../helpers';
import { readJournal, resumePrs, runAndKill, tracedJob } from '../resume/kit';

const SCRIPT = `export async function run(batch) { await new Promise((r) => setTimeout(r, 20)); return batch; }\n`;

async function history(dataDir: string): Promise<HistoryEntry[]> {
  const r = await prs(['history', '--json'], { env: { PRS_DATA_DIR: dataDir } });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as HistoryEntry[];
}

describe('prs history', () => {
  it('lists two runs started at once, then a deleted run folder as missing', async () => {
    const data = tempDir('prs-data-');
    const env = { PRS_DATA_DIR: data };
    const a = nodeJob(tempDir(), { script: SCRIPT, files: 12, name: 'job-a', spec: { allow_reuse: false } });
    const b = nodeJob(tempDir(), { script: SCRIPT, files: 8, name: 'job-b', spec: { allow_reuse: false } });
    const [ra, rb] = await Promise.all([
      prs(['run', a, '--json'], { env }),
      prs(['run', b, '--json'], { env }),
    ]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);

    const entries = await history(data);
    expect(entries).toHaveLength(2);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('job-a')).toMatchObject({
      status: 'completed',
      specPath: a,
      runDir: ra.json!.run_dir,
      items: { succeeded: 12, failed: 0 },
      miniBatches: { total: 6, succeeded: 6, failed: 0 },
      folder: 'present',
    });
    expect(byName.get('job-b')).toMatchObject({ status: 'completed', specPath: b, folder: 'present' });
    expect(byName.get('job-a')!.durationS).toBeGreaterThan(0);

    rmSync(ra.json!.run_dir, { recursive: true });
    const table = await prs(['history'], { env });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/STARTED\s+NAME\s+STATUS/);
    expect(table.stdout).toContain(`${ra.json!.run_dir}  [folder missing: moved or deleted]`);
    expect(table.stdout).toMatch(/job-b\s+completed/);
  });

  it('shows a killed run as interrupted, and the same entry completed after resume', async () => {
    const data = tempDir('prs-data-');
    // Mini-batches from 20 (of some 45) on wait for the go file, made after the kill: the run
    // cannot end before the kill however slowly the test polls.
    const dir = tempDir();
    const go = path.join(dir, 'go');
    const job = tracedJob(dir, {
      rows: 1500,
      rowPad: 20,
      env: { RUN_DELAY_MS: '30', GO_FILE: go, GO_FROM: '20' },
    });
    // startPrs passes the test process's environment on to the CLI.
    process.env.PRS_DATA_DIR = data;
    try {
      const killed = await runAndKill(job, (d) => readJournal(d).succeeded.size >= 3);
      let [e] = await history(data);
      expect(e).toMatchObject({ runDir: killed.runDir, status: 'interrupted' });
      writeFileSync(go, '');
      const r = await resumePrs(killed.runDir).result;
      expect(r.code, r.stderr).toBe(0);
      const entries = await history(data);
      expect(entries).toHaveLength(1);
      e = entries[0];
      expect(e).toMatchObject({ runDir: killed.runDir, status: 'completed', resumes: 1, folder: 'present' });
      expect(path.isAbsolute(e!.runDir)).toBe(true);
    } finally {
      delete process.env.PRS_DATA_DIR;
    }
  });

  it('a garbage history index: prs history names the file (exit 2), and a run still completes with a warning', async () => {
    const data = tempDir('prs-data-');
    const index = path.join(data, 'history.sqlite');
    writeFileSync(index, 'not a database\n'.repeat(100));
    const listed = await prs(['history', '--json'], { env: { PRS_DATA_DIR: data } });
    expect(listed.code).toBe(2);
    expect(listed.stderr).toMatch(
      new RegExp(`^prs: ${index}: file is not a database .*\\(expected the index of past runs`),
    );
    expect(listed.stderr).not.toMatch(/SqliteError|^\s+at /m);

    const spec = nodeJob(tempDir(), { script: SCRIPT, files: 2, spec: { allow_reuse: false } });
    const r = await prs(['run', spec, '--json'], { env: { PRS_DATA_DIR: data } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: history index not updated: ${index}: file is not a database`);
  });

  it('a data folder that cannot be created (under /proc): refused at once, not a spinning mkdir', async () => {
    const child = startPrs(['history'], { env: { PRS_DATA_DIR: '/proc/prs-data' } });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const r = await collect(child);
    clearTimeout(timer);
    expect(r.signal, 'prs history hung').toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^prs: cannot create the data folder \(PRS_DATA_DIR\) \/proc\/prs-data: /);
  });
});
