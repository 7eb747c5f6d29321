// allow_reuse through the CLI: an unchanged job reuses the last completed run's outputs, says so,
// and starts no worker; a changed script or input, allow_reuse: false and --no-reuse run anew.

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeJob, prs, tempDir, type PrsResult } from '../helpers';

/** Every worker that loads the script leaves a file named for its pid in LOADS_DIR. */
const SCRIPT = `
import { writeFileSync } from 'node:fs';
import path from 'node:path';
writeFileSync(path.join(process.env.LOADS_DIR, String(process.pid)), '');
export async function run(batch) { return batch.map((f) => path.basename(f)); }
`;

// Runs record themselves in the history index: keep that out of the user's data folder.
process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

function setup(spec: Record<string, unknown> = {}) {
  const dir = tempDir('prs-reuse-cli-');
  const loads = path.join(dir, 'loads');
  const specPath = nodeJob(dir, {
    script: SCRIPT,
    files: 8,
    spec: { environment_variables: { LOADS_DIR: loads }, ...spec },
  });
  mkdirSync(loads);
  return { dir, specPath, loads, runsDir: path.join(dir, 'runs') };
}

type Setup = ReturnType<typeof setup>;

async function run(s: Setup, extra: string[] = []): Promise<PrsResult & { workers: number }> {
  const before = readdirSync(s.loads).length;
  const r = await prs(['run', s.specPath, '--runs-dir', s.runsDir, '--json', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json!.status).toBe('completed');
  return { ...r, workers: readdirSync(s.loads).length - before };
}

function reusedFrom(r: PrsResult): string | undefined {
  return (r.json as { reused_from?: string } | undefined)?.reused_from;
}

describe('allow_reuse through prs run', () => {
  it('reuses an unchanged job: says so, starts no worker, reports the earlier run', async () => {
    const s = setup();
    const first = await run(s);
    expect(first.workers).toBeGreaterThan(0);
    expect(reusedFrom(first)).toBeUndefined();
    const firstDir = first.json!.run_dir;

    const second = await run(s);
    expect(second.stderr).toContain(`Reusing the outputs of ${firstDir}`);
    expect(reusedFrom(second)).toBe(firstDir);
    expect(second.workers).toBe(0);
    expect(second.json!.items).toEqual(first.json!.items);
    expect(second.json!.mini_batches).toEqual(first.json!.mini_batches);
    // The reused run points at the first run's output file, which holds what the first run computed;
    // its own folder holds no output of its own.
    const expected = Array.from({ length: 8 }, (_, i) => `f000${i}.txt`);
    expect(first.json!.output_file).toBe(path.join(firstDir, 'outputs', 'parallel_run_step.txt'));
    expect(second.json!.output_file).toBe(first.json!.output_file);
    expect(readFileSync(second.json!.output_file!, 'utf8').trim().split('\n').sort()).toEqual(expected);
    expect(existsSync(path.join(second.json!.run_dir, 'outputs', 'parallel_run_step.txt'))).toBe(false);
    expect(second.json!.run_dir).not.toBe(firstDir);
    // A third run still points at the run that computed the outputs.
    const third = await run(s);
    expect(reusedFrom(third)).toBe(firstDir);
  });

  it('runs anew after the entry script changes', async () => {
    const s = setup();
    await run(s);
    appendFileSync(path.join(s.dir, 'src', 'score.mjs'), '// changed\n');
    const r = await run(s);
    expect(reusedFrom(r)).toBeUndefined();
    expect(r.stderr).not.toContain('Reusing the outputs');
    expect(r.workers).toBeGreaterThan(0);
  });

  it("runs anew after an input file's modification time changes or a file is added", async () => {
    const s = setup();
    await run(s);
    const t = new Date('2024-05-06T07:08:09Z');
    utimesSync(path.join(s.dir, 'data', 'f0003.txt'), t, t);
    const a = await run(s);
    expect(reusedFrom(a)).toBeUndefined();
    expect(a.workers).toBeGreaterThan(0);
    // Unchanged since that run: reused from it.
    expect(reusedFrom(await run(s))).toBe(a.json!.run_dir);
    writeFileSync(path.join(s.dir, 'data', 'f0100.txt'), 'item 100\n');
    const b = await run(s);
    expect(reusedFrom(b)).toBeUndefined();
    expect(b.json!.items.succeeded).toBe(9);
  });

  it('runs anew after a setting changes', async () => {
    const s = setup();
    await run(s);
    const spec = JSON.parse(readFileSync(s.specPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(s.specPath, JSON.stringify({ ...spec, mini_batch_size: 3 }));
    const r = await run(s);
    expect(reusedFrom(r)).toBeUndefined();
    expect(r.json!.mini_batches.total).toBe(3);
  });

  it('--no-reuse and allow_reuse: false force a new run', async () => {
    const s = setup();
    await run(s);
    const forced = await run(s, ['--no-reuse']);
    expect(reusedFrom(forced)).toBeUndefined();
    expect(forced.workers).toBeGreaterThan(0);

    const off = setup({ allow_reuse: false });
    await run(off);
    const again = await run(off);
    expect(reusedFrom(again)).toBeUndefined();
    expect(again.workers).toBeGreaterThan(0);
  });

  it('does not reuse a run whose outputs were deleted', async () => {
    const s = setup();
    const first = await run(s);
    rmSync(first.json!.output_file!);
    const r = await run(s);
    expect(reusedFrom(r)).toBeUndefined();
    expect(existsSync(r.json!.output_file!)).toBe(true);
  });
});
