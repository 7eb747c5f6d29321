// A run whose inputs changed while it ran is never reused: its outputs belong to neither version.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeJob, prs, tempDir } from '../helpers';

describe('allow_reuse and inputs changed during a run', () => {
  it('records no fingerprint, so the next run of the unchanged job runs anew', async () => {
    const dir = tempDir();
    // The first mini-batch rewrites an input file of a later one (as a user editing data would).
    const script = `
import { appendFileSync } from 'node:fs';
export function run(batch) {
  if (process.env.TOUCH && batch.some((f) => f.endsWith('f0000.txt'))) appendFileSync(process.env.TOUCH, 'more\\n');
  return batch;
}`;
    const spec = nodeJob(dir, { script, files: 4, spec: { process_count_per_node: 1 } });
    const touched = path.join(dir, 'data', 'f0003.txt');
    const first = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { TOUCH: touched },
    });
    expect(first.code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(first.json!.run_dir, 'run.json'), 'utf8'));
    expect(record.fingerprint).toBeUndefined();

    const second = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(second.code).toBe(0);
    expect((second.json as { reused_from?: string }).reused_from).toBeUndefined();
    const secondRecord = JSON.parse(readFileSync(path.join(second.json!.run_dir, 'run.json'), 'utf8'));
    expect(secondRecord.fingerprint).toMatch(/^[0-9a-f]{64}$/);

    // Nothing changed since the second run: the third reuses it.
    const third = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect((third.json as { reused_from?: string }).reused_from).toBe(second.json!.run_dir);
  });
});
