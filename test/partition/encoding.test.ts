// Text tables that are not UTF-8, through the real CLI and real Node and Python workers: read as
// UTF-8 they fail naming the file and byte (never U+FFFD in silence); with the input's `encoding`
// they are read right; a spec with an unknown encoding is refused.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/events';
import { DEBIAN_PYTHON, prs, tempDir, writeFiles } from '../helpers';

const HEADER = 'id,city\n';
// 'Zürich' and 'café' in Latin-1: ü is 0xFC, é is 0xE9, neither valid UTF-8 on its own.
const LATIN1 = Buffer.concat([
  Buffer.from(HEADER),
  Buffer.from('1,Bern\n2,Z\xfcrich\n3,caf\xe9\n', 'latin1'),
]);
const BAD_BYTE = LATIN1.indexOf(0xfc);

const NODE_SCRIPT = `export function run(t) { return t.rows.map((r) => r.join('|')); }`;
const PY_SCRIPT = `def run(df):\n    return [f"{r.id}|{r.city}" for r in df.itertuples()]\n`;

async function runCities(runtime: 'node' | 'python', input: Record<string, unknown>) {
  const dir = tempDir('prs-enc-');
  writeFiles(dir, runtime === 'node' ? { 'src/score.mjs': NODE_SCRIPT } : { 'src/score.py': PY_SCRIPT });
  writeFileSync(path.join(dir, 'cities.csv'), LATIN1);
  const spec = path.join(dir, 'job.json');
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'enc-job',
      entry_script: runtime === 'node' ? 'score.mjs' : 'score.py',
      source_directory: './src',
      ...(runtime === 'python' ? { python: DEBIAN_PYTHON } : {}),
      inputs: [{ path: './cities.csv', type: 'tabular', ...input }],
      mini_batch_size: '1MB',
      process_count_per_node: 1,
      run_max_try: 1,
    }),
  );
  const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
  return { r, dir, file: path.join(dir, 'cities.csv'), spec };
}

function findings(runDir: string): Finding[] {
  return JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).summary.findings;
}

describe('a Latin-1 CSV', () => {
  for (const runtime of ['node', 'python'] as const) {
    it(`${runtime}: read as UTF-8 it fails, naming the file and the byte, with the encoding as the remedy`, async () => {
      const { r, file } = await runCities(runtime, {});
      expect(r.json!.mini_batches.failed).toBe(1);
      const f = findings(r.json!.run_dir).find((x) => x.title.startsWith('An input record'))!;
      expect(f, JSON.stringify(findings(r.json!.run_dir))).toBeDefined();
      expect(f.detail).toContain(file);
      expect(f.detail).toMatch(
        new RegExp(`not valid UTF-8( at)? byte ${BAD_BYTE}|byte ${BAD_BYTE}: not valid UTF-8`),
      );
      if (runtime === 'python') expect(f.detail).toContain(`${file} line 3:`);
      expect(f.remedy).toMatch(/set the input's encoding \(latin1 or windows1252\)/);
      // Nothing was written with U+FFFD in it.
      expect(readFileSync(r.json!.output_file!, 'utf8')).not.toContain('\ufffd');
    });

    for (const encoding of ['latin1', 'iso88591']) {
      it(`${runtime}: with encoding: ${encoding} run() gets the right text`, async () => {
        const { r } = await runCities(runtime, { encoding });
        expect(r.code).toBe(0);
        expect(readFileSync(r.json!.output_file!, 'utf8').split('\n').filter(Boolean).sort()).toEqual([
          '1|Bern',
          '2|Zürich',
          '3|café',
        ]);
      });
    }
  }

  it('windows1252 reads the bytes Latin-1 has no letter for (0x80 is €)', async () => {
    const dir = tempDir('prs-enc-');
    writeFiles(dir, { 'src/score.mjs': NODE_SCRIPT });
    writeFileSync(
      path.join(dir, 'p.csv'),
      Buffer.concat([Buffer.from('id,price\n'), Buffer.from([0x31, 0x2c, 0x35, 0x80, 0x0a])]),
    );
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'enc-job',
        entry_script: 'score.mjs',
        source_directory: './src',
        inputs: [{ path: './p.csv', type: 'tabular', encoding: 'windows1252' }],
        mini_batch_size: '1MB',
      }),
    );
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(r.json!.output_file!, 'utf8')).toBe('1|5€\n');
  });

  it('partition_keys: a key that is not UTF-8 fails planning with the file, line and byte', async () => {
    const dir = tempDir('prs-enc-');
    writeFiles(dir, { 'src/score.mjs': NODE_SCRIPT });
    writeFileSync(path.join(dir, 'cities.csv'), LATIN1);
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'enc-job',
        entry_script: 'score.mjs',
        source_directory: './src',
        inputs: [{ path: './cities.csv', type: 'tabular' }],
        partition_keys: ['city'],
        mini_batch_size: '1MB',
      }),
    );
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code).toBe(42);
    expect(r.json!.reason).toContain(
      `${path.join(dir, 'cities.csv')}: line 3: byte ${BAD_BYTE}: not valid UTF-8`,
    );
  });

  it('an unknown encoding is refused with what is accepted', async () => {
    const { spec } = await runCities('node', { encoding: 'ebcdic' });
    const v = await prs(['validate', spec]);
    expect(v.code).toBe(2);
    expect(v.stdout + v.stderr).toMatch(/inputs\.0\.encoding: .*utf8, latin1, iso88591 or windows1252/);
  });
});
