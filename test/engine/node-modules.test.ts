// The Node runtime loads entry scripts as .mjs, .cjs, .js and .ts modules.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prs, tempDir, writeFiles } from '../helpers';

const SCRIPTS: Record<string, string> = {
  'score.cjs': `module.exports = { run: (batch, ctx) => batch.map((f) => 'cjs ' + ctx.agentName) };`,
  'score.js': `exports.run = (batch) => batch.map(() => 'js');`,
  'score.ts': `interface Ctx { agentName: string }\nexport function run(batch: string[], ctx: Ctx): string[] { return batch.map((): string => 'ts ' + ctx.agentName); }`,
};

describe('Node entry script module kinds', () => {
  for (const [file, script] of Object.entries(SCRIPTS)) {
    it(`runs a ${path.extname(file)} entry script`, async () => {
      const dir = tempDir();
      writeFiles(dir, { [`src/${file}`]: script, 'data/a.txt': 'a', 'data/b.txt': 'b' });
      writeFileSync(
        path.join(dir, 'job.json'),
        JSON.stringify({
          name: 'kinds',
          entry_script: file,
          source_directory: './src',
          inputs: [{ path: './data' }],
          process_count_per_node: 1,
        }),
      );
      const r = await prs([
        'run',
        path.join(dir, 'job.json'),
        '--runs-dir',
        path.join(dir, 'runs'),
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(new RegExp(`^${path.extname(file).slice(1)}`));
    });
  }

  it('names the missing export when a module has no run()', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'src/score.mjs': 'export function init() {}', 'data/a.txt': 'a' });
    writeFileSync(
      path.join(dir, 'job.json'),
      JSON.stringify({
        name: 'kinds',
        entry_script: 'score.mjs',
        source_directory: './src',
        inputs: [{ path: './data' }],
        process_count_per_node: 1,
      }),
    );
    const r = await prs(['run', path.join(dir, 'job.json'), '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(42);
    const result = readFileSync(path.join(r.json!.run_dir, 'logs/job_result.txt'), 'utf8');
    expect(result).toMatch(/does not export a run\(miniBatch, ctx\) function/);
  });
});
