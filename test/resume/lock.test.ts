// One process at a time in a run folder: a resume of a run that is still going is refused.

import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, nodeJob, prs, startPrs, tempDir } from '../helpers';

describe('run folder lock', () => {
  it('refuses to resume a run that another process is still running, and releases the lock at the end', async () => {
    const dir = tempDir();
    const script = `export async function run(b) { await new Promise((r) => setTimeout(r, 300)); return b; }`;
    const spec = nodeJob(dir, { script, files: 12, spec: { process_count_per_node: 1 } });
    const running = startPrs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    const result = collect(running);
    const jobRuns = path.join(dir, 'runs', 'test-job');
    let runDir = '';
    while (!runDir || !existsSync(path.join(runDir, '.lock'))) {
      await new Promise((r) => setTimeout(r, 50));
      const id = existsSync(jobRuns) ? readdirSync(jobRuns)[0] : undefined;
      if (id) runDir = path.join(jobRuns, id);
    }
    const second = await prs(['resume', runDir]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`is in use by process ${running.pid}`));
    const first = await result;
    expect(first.code).toBe(0);
    expect(first.json!.items.succeeded).toBe(12);
    expect(existsSync(path.join(runDir, '.lock'))).toBe(false);
  });
});
