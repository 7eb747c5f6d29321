// Entry scripts that cannot be loaded, through the real CLI and real Node workers: the error names
// the file, the line and the column.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/events';
import { nodeJob, prs, tempDir, writeFiles } from '../helpers';

const BROKEN = 'export function run(b) {\n  return b.map((x) => x +);\n}\n';

async function runBroken(file: string, script: string) {
  const dir = tempDir();
  const spec = nodeJob(dir, {
    script: '',
    files: 2,
    spec: { entry_script: file, process_count_per_node: 1 },
  });
  writeFiles(dir, { [`src/${file}`]: script });
  const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
  const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
  return { r, findings: record.summary.findings as Finding[], file: path.join(dir, 'src', file) };
}

describe('a Node entry script with a syntax error', () => {
  for (const file of ['score.mjs', 'score.cjs', 'score.ts']) {
    it(`${file}: the error gives the file, line and column, and shows the line`, async () => {
      const script =
        file === 'score.cjs' ? BROKEN.replace('export function run', 'exports.run = function') : BROKEN;
      const { r, findings, file: scriptPath } = await runBroken(file, script);
      expect(r.code).toBe(42);
      const init = findings.find((f) => f.kind === 'init-failure')!;
      expect(init.detail).toContain(
        `SyntaxError: cannot load ${scriptPath}: SyntaxError at line 2, column 26: `,
      );
      expect(init.traceback).toContain(`${scriptPath}:2:26\n  return b.map((x) => x +);\n${' '.repeat(25)}^`);
      // Not Node's loader stack: nothing there is the user's.
      expect(init.traceback).not.toMatch(/node:internal/);
      expect(r.stderr + r.stdout).toContain(`${scriptPath}: SyntaxError at line 2, column 26`);
    });
  }
});
