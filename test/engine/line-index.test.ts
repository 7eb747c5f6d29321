// The engine writes the output's line index while it appends rows, and the output browser jumps
// with it without scanning the file.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINE_INDEX_STRIDE, lineIndexPath } from '../../src/common/lineIndex';
import { indexFor, readPage } from '../../src/host/outputIndex';
import { nodeJob, prs, tempDir } from '../helpers';

// 40 files, 100 rows each, of varying (multi-byte) lengths.
const SCRIPT = `
export function run(batch) {
  return batch.flatMap((f) => Array.from({ length: 100 }, (_, i) => f.split('/').pop() + ' row ' + i + ' ' + 'é'.repeat(i % 7)));
}`;

describe('the output line index', () => {
  it('holds the offset of every 1024th line, and the output browser jumps with it', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, { script: SCRIPT, files: 40, spec: { mini_batch_size: 3 } });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    const file = r.json!.output_file!;
    const output = readFileSync(file);
    const lineStarts = [0];
    for (let i = 0; i < output.length - 1; i++) if (output[i] === 10) lineStarts.push(i + 1);
    expect(lineStarts.length).toBe(4000);

    const raw = readFileSync(lineIndexPath(file));
    const offsets = Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigUInt64LE(i * 8)));
    expect(offsets).toEqual(lineStarts.filter((_, i) => i % LINE_INDEX_STRIDE === 0));

    // Seeded from the engine's index: nothing scanned before the last indexed line.
    const idx = await indexFor(file);
    expect(idx.scannedLines).toBe(3 * LINE_INDEX_STRIDE);
    const page = await readPage(file, 'outputs/parallel_run_step.txt', { line: 3500, maxLines: 2 });
    const all = output.toString('utf8').split('\n');
    expect(page.lines).toEqual([all[3500], all[3501]]);
  });

  it('is not written for a resumed output (its line count is unknown), and the browser scans instead', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: `export function run(b) { if (process.env.PRS_FAIL_ONCE && b.some((f) => f.endsWith('f0003.txt'))) throw new Error('x'); return b; }`,
      files: 6,
      spec: { allowed_failed_count: 0, run_max_try: 1, process_count_per_node: 1 },
    });
    const first = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { PRS_FAIL_ONCE: '1' },
    });
    expect(first.code).toBe(42);
    const resumed = await prs(['resume', first.json!.run_dir, '--retry-failed', '--json']);
    expect(resumed.code).toBe(0);
    const file = resumed.json!.output_file!;
    expect(existsSync(lineIndexPath(file))).toBe(false);
    const page = await readPage(file, 'outputs/parallel_run_step.txt', { line: 5, maxLines: 1 });
    expect(page.lines).toEqual([readFileSync(file, 'utf8').trim().split('\n')[5]]);
  });
});
