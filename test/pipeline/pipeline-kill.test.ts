// A pipeline run killed with SIGKILL while its parallel node runs, then `prs resume`: the command node
// that completed is not run again, the parallel node resumes in its folder, and every output line is
// there exactly once. And a command node running when prs is killed goes with it.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { isRunning } from '../../src/engine/runFolderLock';
import { collect, prs, startPrs, tempDir, writeFiles } from '../helpers';

// Items after the fourth wait for a go file (at most a minute): the kill comes while they wait.
const SCORE = `import { existsSync } from 'node:fs';
import path from 'node:path';
export async function run(batch) {
  const name = path.basename(batch[0]);
  const n = Number(name.replace(/\\D/g, ''));
  const deadline = Date.now() + 60_000;
  while (n >= 4 && !existsSync(process.env.GO_FILE) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  return [name];
}
`;

it('prs resume of a pipeline killed mid-node: completed nodes stay, the parallel node resumes, each line once', async () => {
  const dir = tempDir('prs-pipeline-kill-');
  const go = path.join(dir, 'go');
  writeFiles(dir, {
    'prep.mjs': `import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
appendFileSync(path.join(process.cwd(), 'prep_runs.txt'), 'ran\\n');
for (let i = 0; i < 12; i++) writeFileSync(path.join(process.argv[2], 'item' + String(i).padStart(2, '0') + '.txt'), String(i));
`,
    'src/score.mjs': SCORE,
    'pipeline.yml': `type: pipeline
name: kill-me
jobs:
  prep:
    type: command
    code: .
    command: '"${process.execPath}" prep.mjs \${{outputs.items}}'
    outputs:
      items: {type: uri_folder}
  score:
    type: parallel
    inputs:
      items:
        type: uri_folder
        path: \${{parent.jobs.prep.outputs.items}}
    outputs:
      lines: {type: uri_file, path: lines.txt}
    input_data: \${{inputs.items}}
    mini_batch_size: "1"
    max_concurrency_per_instance: 2
    retry_settings: {max_retries: 2, timeout: 120}
    environment_variables: {GO_FILE: "${go}"}
    task:
      type: run_function
      code: ./src
      entry_script: score.mjs
      append_row_to: \${{outputs.lines}}
`,
  });
  const env = { PRS_DATA_DIR: path.join(dir, 'data-dir') };
  const child = startPrs(
    ['run', path.join(dir, 'pipeline.yml'), '--runs-dir', path.join(dir, 'runs'), '--json'],
    {
      env,
    },
  );
  let exited = false;
  const result = collect(child).then((r) => ((exited = true), r));
  // Killed once the node has committed some lines (and the rest wait for the go file).
  const runs = path.join(dir, 'runs', 'kill-me');
  let output = '';
  const deadline = Date.now() + 60_000;
  for (;;) {
    const id = existsSync(runs) ? readdirSync(runs)[0] : undefined;
    output = id ? path.join(runs, id, 'jobs/score/outputs/lines.txt') : '';
    if (output && existsSync(output) && readFileSync(output, 'utf8').trim().split('\n').length >= 2) break;
    if (exited) throw new Error(`prs run ended before the kill:\n${(await result).stderr}`);
    if (Date.now() > deadline) throw new Error('the parallel node committed no lines within a minute');
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  await result;
  const runDir = path.dirname(path.dirname(path.dirname(path.dirname(output))));

  writeFileSync(go, '');
  const resumed = await prs(['resume', runDir, '--json'], { env });
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(readFileSync(path.join(dir, 'prep_runs.txt'), 'utf8')).toBe('ran\n');
  const lines = readFileSync(output, 'utf8').trim().split('\n').sort();
  expect(lines).toEqual(Array.from({ length: 12 }, (_, i) => `item${String(i).padStart(2, '0')}.txt`));
}, 180_000);

it('a command node running when prs is killed (SIGKILL) goes with it, and so does what it started', async () => {
  // The command writes its shell's pid and a background child's, then waits; prs is killed at once.
  const dir = tempDir('prs-pipeline-kill-command-');
  const pids = path.join(dir, 'pids');
  writeFiles(dir, {
    'pipeline.yml': `type: pipeline
name: kill-command
jobs:
  wait:
    type: command
    code: .
    command: 'echo $$ > "${pids}.tmp"; sleep 300 & echo $! >> "${pids}.tmp"; mv "${pids}.tmp" "${pids}"; wait'
`,
  });
  const child = startPrs(['run', path.join(dir, 'pipeline.yml'), '--runs-dir', path.join(dir, 'runs')], {
    env: { PRS_DATA_DIR: path.join(dir, 'data-dir') },
  });
  let exited = false;
  const result = collect(child).then((r) => ((exited = true), r));
  const started = Date.now() + 60_000;
  while (!existsSync(pids)) {
    if (exited) throw new Error(`prs run ended before the kill:\n${(await result).stderr}`);
    if (Date.now() > started) throw new Error('the command node did not start within a minute');
    await new Promise((r) => setTimeout(r, 50));
  }
  const running = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  expect(running).toHaveLength(2);
  expect(running.every((pid) => isRunning(pid))).toBe(true);
  child.kill('SIGKILL');
  await result;
  const gone = Date.now() + 30_000;
  while (running.some((pid) => isRunning(pid)) && Date.now() < gone)
    await new Promise((r) => setTimeout(r, 50));
  expect(running.filter((pid) => isRunning(pid))).toEqual([]);
}, 120_000);

it('what a command node leaves running when it ends is stopped then, and the pipeline goes on', async () => {
  // The background sleep holds the command's stdout: the node would not end until it did.
  const dir = tempDir('prs-pipeline-leftover-');
  const pid = path.join(dir, 'pid');
  writeFiles(dir, {
    'pipeline.yml': `type: pipeline
name: leftover
jobs:
  first:
    type: command
    code: .
    command: 'sleep 300 & echo $! > "${pid}"'
    outputs:
      done: {type: uri_folder}
  second:
    type: command
    code: .
    command: 'echo second'
    inputs:
      after: \${{parent.jobs.first.outputs.done}}
`,
  });
  const r = await prs(
    ['run', path.join(dir, 'pipeline.yml'), '--runs-dir', path.join(dir, 'runs'), '--json'],
    {
      env: { PRS_DATA_DIR: path.join(dir, 'data-dir') },
    },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(isRunning(Number(readFileSync(pid, 'utf8')))).toBe(false);
}, 120_000);
