// The allow_reuse fingerprint: equal for an unchanged job, different after each kind of change;
// and findReusable's choice among run folders.

import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import { findReusable, fingerprint, MAX_SOURCE_FILES } from '../../src/engine/reuse';
import { loadSpec } from '../../src/engine/spec/load';
import { nodeJob, tempDir, writeFiles } from '../helpers';

const SCRIPT = `export async function run(batch) { return batch; }\n`;

async function load(specPath: string): Promise<JobSpec> {
  const r = await loadSpec(specPath);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.spec;
}

async function fpOf(specPath: string): Promise<string> {
  return fingerprint(await load(specPath));
}

function job(spec: Record<string, unknown> = {}) {
  const dir = tempDir('prs-reuse-');
  const specPath = nodeJob(dir, { script: SCRIPT, files: 6, spec });
  return { dir, specPath };
}

function rewriteSpec(specPath: string, change: Record<string, unknown>): void {
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(specPath, JSON.stringify({ ...spec, ...change }, null, 2));
}

describe('fingerprint', () => {
  it('is stable for an unchanged job, and ignores name, spec file location and allow_reuse', async () => {
    // The source directory is the spec's folder, so the default runs/ folder is inside it.
    const { dir, specPath } = job({ source_directory: '.', entry_script: 'src/score.mjs' });
    const a = await fpOf(specPath);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await fpOf(specPath)).toBe(a);
    // Runs appearing under runs/ are no change to the source.
    writeFiles(dir, { 'runs/test-job/20260101T000000000Z-abcd/run.json': '{}' });
    expect(await fpOf(specPath)).toBe(a);
    rewriteSpec(specPath, { name: 'renamed-job', allow_reuse: false });
    expect(await fpOf(specPath)).toBe(a);
    // Key order in the spec file does not matter.
    const spec = await load(specPath);
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as unknown as JobSpec;
    expect(await fingerprint(reordered)).toBe(a);
  });

  it('changes with the entry script content', async () => {
    const { dir, specPath } = job();
    const a = await fpOf(specPath);
    appendFileSync(path.join(dir, 'src', 'score.mjs'), '// a comment\n');
    expect(await fpOf(specPath)).not.toBe(a);
  });

  it('changes with a helper module in the source directory', async () => {
    const { dir, specPath } = job();
    writeFiles(dir, { 'src/helper.mjs': 'export const x = 1;\n' });
    const a = await fpOf(specPath);
    writeFiles(dir, { 'src/helper.mjs': 'export const x = 22;\n' });
    expect(await fpOf(specPath)).not.toBe(a);
    // Caches are not the source.
    const b = await fpOf(specPath);
    writeFiles(dir, { 'src/__pycache__/helper.cpython-311.pyc': 'x', 'src/node_modules/m/index.js': 'y' });
    expect(await fpOf(specPath)).toBe(b);
  });

  it('changes with each result-affecting setting, changed alone in the same job folder', async () => {
    // One folder for every change: paths, input files and their times stay the same, so only the
    // setting can move the fingerprint.
    const { specPath } = job();
    const original = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
    const base = await fpOf(specPath);
    // A setting written out at the value it already has (2 here, 3 the default) is no change.
    rewriteSpec(specPath, { mini_batch_size: 2, run_max_try: 3 });
    expect(await fpOf(specPath)).toBe(base);
    const changes: Array<Record<string, unknown>> = [
      { mini_batch_size: 3 },
      { arguments: ['--threshold', '0.5'] },
      { environment_variables: { MODE: 'fast' } },
      { run_max_try: 5 },
      { error_threshold: 3 },
      { output_action: 'summary_only' },
      { append_row_file_name: 'out.txt' },
      { process_count_per_node: 1 },
    ];
    const seen = new Set([base]);
    for (const change of changes) {
      writeFileSync(specPath, JSON.stringify({ ...original, ...change }, null, 2));
      const fp = await fpOf(specPath);
      expect(seen.has(fp), JSON.stringify(change)).toBe(false);
      seen.add(fp);
      // Back to the original spec: back to the original fingerprint.
      writeFileSync(specPath, JSON.stringify(original, null, 2));
      expect(await fpOf(specPath), `after undoing ${JSON.stringify(change)}`).toBe(base);
    }
  });

  it("changes with an input file's content (size), modification time, an added or a removed file", async () => {
    const { dir, specPath } = job();
    const f = path.join(dir, 'data', 'f0002.txt');
    const fps = [await fpOf(specPath)];
    appendFileSync(f, 'more\n'); // size
    fps.push(await fpOf(specPath));
    const t = new Date('2024-01-02T03:04:05Z');
    utimesSync(f, t, t); // modification time only
    fps.push(await fpOf(specPath));
    writeFiles(dir, { 'data/f9999.txt': 'new\n' }); // added
    fps.push(await fpOf(specPath));
    rmSync(path.join(dir, 'data', 'f0000.txt')); // removed
    fps.push(await fpOf(specPath));
    expect(new Set(fps).size).toBe(fps.length);
    // Same size, same mtime, different bytes: not seen (documented: contents are not read).
    const before = await fpOf(specPath);
    const st = statSync(f);
    writeFileSync(f, 'item X\nmore\n'.slice(0, st.size));
    utimesSync(f, st.atime, st.mtime);
    expect(await fpOf(specPath)).toBe(before);
  });

  it('changes with a side input or a model file', async () => {
    const { dir, specPath } = job();
    writeFiles(dir, { 'side/labels.txt': 'a\n', 'models/m.bin': '1' });
    rewriteSpec(specPath, {
      side_inputs: [{ name: 'labels', path: './side' }],
      models: { m: './models/m.bin' },
    });
    const a = await fpOf(specPath);
    writeFiles(dir, { 'side/labels.txt': 'a\nb\n' });
    const b = await fpOf(specPath);
    expect(b).not.toBe(a);
    writeFiles(dir, { 'models/m.bin': '22' });
    expect(await fpOf(specPath)).not.toBe(b);
  });

  it('does not throw for a missing input; the error is part of the fingerprint', async () => {
    const { dir, specPath } = job();
    const spec = await load(specPath);
    rmSync(path.join(dir, 'data'), { recursive: true });
    const fp = await fingerprint(spec);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
  });

  it('bounds the source directory walk: files past the bound are not listed', async () => {
    expect(MAX_SOURCE_FILES).toBeGreaterThanOrEqual(1000);
    const { dir, specPath } = job();
    writeFiles(dir, { 'src/a.txt': '1', 'src/zz.txt': '1' });
    const spec = await load(specPath);
    // Sorted: a.txt, score.mjs, zz.txt. With a bound of 2, zz.txt is past it.
    const a = await fingerprint(spec, { maxSourceFiles: 2 });
    writeFiles(dir, { 'src/zz.txt': '22' });
    expect(await fingerprint(spec, { maxSourceFiles: 2 })).toBe(a);
    expect(await fingerprint(spec, { maxSourceFiles: 3 })).not.toBe(
      await fingerprint(spec, { maxSourceFiles: 2 }),
    );
    writeFiles(dir, { 'src/a.txt': '22' });
    expect(await fingerprint(spec, { maxSourceFiles: 2 })).not.toBe(a);
  });
});

describe('findReusable', () => {
  function runFolder(
    base: string,
    id: string,
    record: { fingerprint?: string; status?: string; reused_from?: string; output?: boolean },
  ): string {
    const dir = path.join(base, id);
    mkdirSync(path.join(dir, 'outputs'), { recursive: true });
    if (record.output !== false) writeFileSync(path.join(dir, 'outputs', 'parallel_run_step.txt'), 'x\n');
    writeFileSync(
      path.join(dir, 'run.json'),
      JSON.stringify({
        runId: id,
        fingerprint: record.fingerprint,
        spec: { output_action: 'append_row', append_row_file_name: 'parallel_run_step.txt' },
        summary: record.status ? { status: record.status, reused_from: record.reused_from } : undefined,
      }),
    );
    return dir;
  }

  it('returns the newest completed run with the fingerprint and its outputs present', async () => {
    const base = path.join(tempDir('prs-reuse-'), 'runs', 'job');
    expect(await findReusable(base, 'fp')).toBeNull(); // no folder at all
    const old = runFolder(base, '20260101T000000000Z-aaaa', { fingerprint: 'fp', status: 'completed' });
    runFolder(base, '20260102T000000000Z-bbbb', { fingerprint: 'other', status: 'completed' });
    runFolder(base, '20260103T000000000Z-cccc', { fingerprint: 'fp', status: 'failed' });
    runFolder(base, '20260104T000000000Z-dddd', { fingerprint: 'fp' }); // interrupted
    runFolder(base, '20260105T000000000Z-eeee', { fingerprint: 'fp', status: 'completed', output: false });
    runFolder(base, '20260106T000000000Z-ffff', { fingerprint: 'fp', status: 'completed', reused_from: old });
    mkdirSync(path.join(base, 'not-a-run'));
    writeFileSync(path.join(base, 'zz-broken'), 'x');
    expect(await findReusable(base, 'fp')).toBe(old);
    const newer = runFolder(base, '20260107T000000000Z-gggg', { fingerprint: 'fp', status: 'completed' });
    expect(await findReusable(base, 'fp')).toBe(newer);
    expect(await findReusable(base, 'nothing')).toBeNull();
  });
});
