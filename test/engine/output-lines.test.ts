// append_row lines: a returned element holding a newline becomes several output lines; the run says
// so once, naming the mini-batch, in the log tree and on the CLI. Real workers, Node and Python.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PYTHON, nodeJob, prs, tempDir, writeFiles } from '../helpers';

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

function expectOneWarning(r: Awaited<ReturnType<typeof prs>>): void {
  expect(r.code).toBe(0);
  const master = readFileSync(path.join(r.json!.run_dir, 'logs/sys/master_role.txt'), 'utf8');
  expect(count(master, 'holding a newline')).toBe(1);
  expect(master).toMatch(
    /WARNING mini-batch \d+: run\(\) returned an element holding a newline: it became several lines/,
  );
  expect(count(r.stderr + r.stdout, 'holding a newline')).toBe(1);
  expect(r.stderr + r.stdout).toMatch(
    /WARNING: mini-batch \d+: run\(\) returned an element holding a newline/,
  );
}

describe('a returned element with a newline', () => {
  it('Node runtime: warned once per run, with the mini-batch', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: "export function run(b) { return b.map((f) => 'first\\nsecond'); }",
      files: 6,
      spec: { mini_batch_size: 1, process_count_per_node: 2 },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expectOneWarning(r);
    // The lines are still written as they were returned: the warning explains them.
    expect(readFileSync(r.json!.output_file!, 'utf8').split('\n').filter(Boolean)).toHaveLength(12);
  });

  it('Node runtime: no warning when no element holds a newline', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, { script: 'export function run(b) { return b; }', files: 4 });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr + r.stdout).not.toContain('holding a newline');
  });

  for (const [what, body] of [
    ['a list', "    return ['a\\nb' for _ in batch]\n"],
    ['a DataFrame', "    import pandas as pd\n    return pd.DataFrame({'text': ['a\\nb' for _ in batch]})\n"],
  ] as const) {
    it(`Python runtime, ${what}: warned once per run, with the mini-batch`, async () => {
      const dir = tempDir();
      const files: Record<string, string> = { 'src/score.py': `def run(batch):\n${body}` };
      for (let i = 0; i < 4; i++) files[`data/f${i}.txt`] = `${i}\n`;
      writeFiles(dir, files);
      const spec = path.join(dir, 'job.json');
      writeFileSync(
        spec,
        JSON.stringify({
          name: 'py-lines',
          entry_script: 'score.py',
          source_directory: './src',
          python: DEBIAN_PYTHON,
          inputs: [{ path: './data', type: 'files' }],
          mini_batch_size: 1,
          process_count_per_node: 2,
        }),
      );
      expectOneWarning(await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']));
    });
  }
});
