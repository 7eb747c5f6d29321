// Issue 6 against a real `prs serve`: a job made in the wizard by clicking and typing only, saved,
// run, its output browsed, searched and exported, found in history and reopened; the wizard's
// messages are `prs validate`'s; an imported Azure ML v2 job runs; the output browser on 1 GB.

import { expect, test, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { LINE_INDEX_STRIDE, lineIndexPath } from '../src/common/lineIndex';
import { ROOT, startHost, writeExample, type Host, screenshotPath } from './host';

let host: Host;
/** Big files a test made, removed after it (the 1 GB output is real disk). */
const scratch: string[] = [];
test.afterEach(async () => {
  await host?.stop();
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function openApp(page: Page, hash = '') {
  await page.goto(host.url + hash);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
}

const SCORE = `import { readFile } from 'node:fs/promises';
import path from 'node:path';
export async function init() {}
export async function run(batch) {
  const out = [];
  for (const f of batch) out.push(path.basename(f) + ' ' + (await readFile(f, 'utf8')).length + ' ok');
  return out;
}
`;

function userFolder(dir: string): string {
  const files: Record<string, string> = { 'score.mjs': SCORE };
  for (let i = 0; i < 6; i++) files[`data/item0${i}.txt`] = 'x'.repeat(10 + i);
  return writeExample(dir, 'mine', files);
}

/** What `prs validate` says about a spec file, problem lines only. */
function prsValidate(specPath: string): string[] {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'prs.js'), 'validate', specPath], {
    encoding: 'utf8',
    env: { ...process.env, PRS_DATA_DIR: host.dataDir },
  });
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim());
}

test('a job made in the wizard: saved, run, output browsed, searched, exported, found in history', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => void (dir = userFolder(path.join(examples, '..'))));
  const specPath = path.join(dir, 'job.yaml');
  await openApp(page);
  await page.getByRole('link', { name: 'New job' }).click();
  await expect(page.getByTestId('wizard')).toBeVisible();

  // An invalid name is refused with exactly what `prs validate` says.
  await page.getByTestId('field-name').fill('Bad_Name');
  const bad = path.join(host.dataDir, 'bad.yaml');
  writeFileSync(bad, `name: Bad_Name\nentry_script: ${dir}/score.mjs\ninputs:\n  - path: ${dir}/data\n`);
  const cli = prsValidate(bad).find((l) => l.startsWith('name:'));
  expect(cli).toBeTruthy();
  await expect(page.getByTestId('field-name-error')).toHaveText(cli!);
  await expect(page.getByTestId('wizard-start')).toBeDisabled();

  await page.getByTestId('field-name').fill('wizard-job');
  await expect(page.getByTestId('field-name-error')).toHaveCount(0);
  await page.getByTestId('field-entry_script').fill(path.join(dir, 'score.mjs'));
  await expect(page.getByTestId('script-facts')).toContainText('node');
  await expect(page.getByTestId('script-facts')).toContainText('run() ✓');

  await page.getByRole('tab', { name: 'Inputs' }).click();
  await page.getByTestId('field-input-path').fill(path.join(dir, 'data'));
  await expect(page.getByTestId('inputs-count')).toContainText('6 file(s)');

  await page.getByRole('tab', { name: 'Partitioning' }).click();
  await page.getByTestId('field-mini_batch_size').fill('2');
  await expect(page.getByTestId('minibatch-count')).toHaveText('3 mini-batch(es)');

  await page.getByRole('tab', { name: 'Execution' }).click();
  await expect(page.getByTestId('devices')).toContainText('CPU');
  await page.getByTestId('field-process_count_per_node').fill('0');
  await expect(page.getByTestId('field-process_count_per_node-error')).toContainText(
    'process_count_per_node:',
  );
  await page.getByTestId('field-process_count_per_node').fill('2');
  await page.getByTestId('field-run_max_try').fill('1');

  await page.getByRole('tab', { name: 'Output' }).click();
  await page.getByTestId('field-append_row_file_name').fill('results.txt');

  await page.getByRole('tab', { name: 'Review' }).click();
  await expect(page.getByTestId('spec-yaml')).toContainText('name: wizard-job');
  await expect(page.getByTestId('draft-valid')).toBeVisible();
  await page.screenshot({ path: screenshotPath('wizard.png') });
  // A new job's Save asks where the spec goes; the paths inside its folder become relative.
  await page.getByTestId('wizard-save').click();
  await page.getByTestId('spec-file-path').fill(specPath);
  await page.getByTestId('spec-file-ok').click();
  await expect(page.getByTestId('wizard-notice')).toContainText('Saved');
  expect(readFileSync(specPath, 'utf8')).toContain('mini_batch_size: 2');
  expect(readFileSync(specPath, 'utf8')).toContain('entry_script: score.mjs\n');
  // The saved file is one `prs validate` accepts.
  expect(prsValidate(specPath)).toEqual([]);

  await page.getByTestId('wizard-start').click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('3 / 3');

  // The output browser.
  await page.getByTestId('browse-output').click();
  await expect(page.getByTestId('output-line')).toHaveCount(6);
  await expect(page.getByTestId('output-line').first()).toContainText('ok');
  await page.getByTestId('search-input').fill('item03');
  await page.getByTestId('search-start').click();
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-search-state', 'done');
  await expect(page.getByTestId('search-result')).toHaveCount(1);
  await expect(page.getByTestId('search-result')).toContainText('item03.txt 13 ok');

  // Export as CSV: the download holds every row, split into columns.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-output-csv').click(),
  ]);
  const csvPath = path.join(host.dataDir, 'export.csv');
  await download.saveAs(csvPath);
  const csv = readFileSync(csvPath, 'utf8').trim().split('\n');
  // The download followed a single-use ticket: without one (or the token) /export refuses.
  expect(
    (await fetch(`${host.base}/export?runDir=${encodeURIComponent(host.dataDir)}&what=run-zip`)).status,
  ).toBe(401);
  expect(csv[0]).toBe('col1,col2,col3');
  expect(csv.slice(1).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `item0${i}.txt,${10 + i},ok`));

  // History: the run is there; reopening it shows the finished run.
  await page.getByRole('link', { name: 'History' }).click();
  const row = page.getByTestId('history-row').filter({ hasText: 'wizard-job' });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('completed');
  await row.getByRole('button', { name: 'Open' }).click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('3 / 3');
});

test('an imported Azure ML v2 parallel job runs', async ({ page }) => {
  let dir = '';
  host = await startHost((examples) => {
    dir = writeExample(path.join(examples, '..'), 'v2', {
      'src/score.mjs': SCORE,
      ...Object.fromEntries([0, 1, 2, 3].map((i) => [`data/item0${i}.txt`, 'y'.repeat(i + 1)])),
      'parallel.yml': `$schema: https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json
type: parallel
name: v2-import
inputs:
  data:
    type: uri_folder
    path: ./data
input_data: \${{inputs.data}}
mini_batch_size: "2"
resources:
  instance_count: 1
max_concurrency_per_instance: 1
retry_settings:
  max_retries: 0
  timeout: 30
task:
  type: run_function
  code: ./src
  entry_script: score.mjs
`,
    });
  });
  await openApp(page, '#/wizard');
  await page.getByTestId('wizard-open').click();
  await page.getByTestId('spec-file-path').fill(path.join(dir, 'parallel.yml'));
  await page.getByTestId('spec-file-ok').click();
  await expect(page.getByTestId('wizard-notice')).toContainText('Imported Azure ML v2 job');
  await expect(page.getByTestId('spec-file')).toHaveAttribute(
    'data-spec-path',
    path.join(dir, 'v2-import.prs.yaml'),
  );
  await expect(page.getByTestId('wizard-start')).toBeEnabled();
  await page.getByTestId('wizard-start').click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('2 / 2');
  expect(existsSync(path.join(dir, 'v2-import.prs.yaml'))).toBe(true);
});

test('the output browser on a 1 GB file: first page, jump to a line, search', async ({ page }) => {
  host = await startHost(() => undefined);
  const runDir = path.join(host.dataDir, 'runs', 'big', 'run-1');
  scratch.push(runDir);
  mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
  writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ spec: { name: 'big' } }));
  // 1 GB of numbered-by-position rows: a 1 MB block written 1024 times, then one distinct last line.
  const block = Array.from(
    { length: 16384 },
    (_, i) => `row-${String(i).padStart(5, '0')} ${'v'.repeat(53)}\n`,
  ).join('');
  expect(block.length).toBe(1024 * 1024);
  const out = createWriteStream(path.join(runDir, 'outputs', 'parallel_run_step.txt'));
  for (let i = 0; i < 1024; i++) if (!out.write(block)) await once(out, 'drain');
  out.end('needle-at-the-end\n');
  await once(out, 'finish');
  const totalLines = 1024 * 16384 + 1;

  await openApp(page, `#/output?runDir=${encodeURIComponent(runDir)}`);
  await expect(page.getByTestId('output-line').first()).toContainText('row-00000');
  await expect(page.getByTestId('output-position')).toContainText('lines 1–100');

  // Line 10,000,001 is block 610 (10,000,000 = 610 * 16384 + 5,760), row 5,760.
  await page.getByTestId('goto-line').fill('10000001');
  await page.getByTestId('goto-line').press('Enter');
  await expect(page.getByTestId('output-position')).toContainText('lines 10000001–10000100', {
    timeout: 60_000,
  });
  await expect(page.getByTestId('output-line').first()).toContainText('row-05760');

  await page.getByTestId('search-input').fill('needle-at-\\w+');
  await page.getByText('regular expression').click();
  await page.getByTestId('search-start').click();
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-search-state', 'done', {
    timeout: 90_000,
  });
  await expect(page.getByTestId('search-result')).toHaveCount(1);
  await page.getByTestId('search-result').getByRole('button').click();
  await expect(page.getByTestId('output-line').first()).toContainText('needle-at-the-end');
  await expect(page.getByTestId('output-position')).toContainText(`of ${totalLines}`);
});

test('a search of the output can be stopped while it runs', async ({ page }) => {
  host = await startHost(() => undefined);
  const runDir = path.join(host.dataDir, 'runs', 'huge', 'run-1');
  scratch.push(runDir);
  mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
  writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ spec: { name: 'huge' } }));
  // 32 GB that take 32 MB of disk: a sparse file, a line end every 4 MB. Searching it takes the
  // host a minute or more, so the Stop lands on a running search however loaded the machine is (a
  // 1 GB file could be searched to the end between the search starting and the click). Beside it
  // the line index a run writes, so the host has no reason to scan the file but the search.
  const file = path.join(runDir, 'outputs', 'parallel_run_step.txt');
  const LINE = 4 * 1024 ** 2;
  const size = 8192 * LINE;
  const fd = openSync(file, 'w');
  try {
    for (let end = LINE; end <= size; end += LINE) writeSync(fd, '\n', end - 1);
  } finally {
    closeSync(fd);
  }
  const index = Buffer.alloc(8 * (8192 / LINE_INDEX_STRIDE + 1));
  for (let i = 0; i * 8 < index.length; i++)
    index.writeBigUInt64LE(BigInt(i * LINE_INDEX_STRIDE * LINE), i * 8);
  writeFileSync(lineIndexPath(file), index);
  expect(statSync(file).size).toBe(size);

  await openApp(page, `#/output?runDir=${encodeURIComponent(runDir)}`);
  await expect(page.getByTestId('output-position')).toBeVisible();
  await page.getByTestId('search-input').fill('no such text anywhere');
  await page.getByTestId('search-start').click();
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-search-state', 'running');
  await page.getByTestId('search-stop').click();
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-search-state', 'cancelled');
  // Stopped part way: the progress bar never reached the end.
  const scanned = Number(await page.getByTestId('search-progress').getAttribute('value'));
  expect(scanned).toBeLessThan(size);
});
