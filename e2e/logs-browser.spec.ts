// The log tree in the app (issue 14, section 2) against a real `prs serve`, real job processes and
// Chromium: the tree of logs/, search, processed_mini-batches.csv as a sortable table whose rows
// show their inputs and link to their process-log lines, the diagnosis chip that brings its row
// into view, the perf CSVs as charts, and a log followed while the job writes it.

import { expect, test, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, writeExample, type Files, type Host, screenshotPath } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

function items(n: number): Files {
  const files: Files = {};
  for (let i = 0; i < n; i++) files[`data/item${String(i).padStart(2, '0')}.txt`] = `item ${i}\n`;
  return files;
}

async function openApp(page: Page) {
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
}

async function startExample(page: Page, name: string) {
  await page.getByTestId(`example-${name}`).getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
}

const treeNode = (page: Page, rel: string) => page.locator(`[data-testid="log-node"][data-path="${rel}"]`);

test('a failed run: the chip brings its mini-batch into view; the log tree, search, the sortable table, inputs and process-log lines', async ({
  page,
}) => {
  // 40 one-file mini-batches on one process; the last one fails, so its row starts out of view.
  host = await startHost((dir) =>
    writeExample(dir, 'late-failure', {
      'job.yaml': `name: late-failure
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_max_try: 1
allowed_failed_count: 0
`,
      'score.mjs': `import path from 'node:path';
export async function run(batch, ctx) {
  for (const f of batch) {
    ctx.logger.info('scoring ' + path.basename(f));
    if (path.basename(f) === 'item39.txt') throw new Error('checksum mismatch in item39.txt');
  }
  return batch.map((f) => path.basename(f));
}
`,
      ...items(40),
    }),
  );
  await openApp(page);
  await startExample(page, 'late-failure');
  await expect(page.locator('[data-run-state="failed"]')).toBeVisible();
  await expect(page.getByTestId('batch-row').first()).toBeVisible();

  // The chip scrolls the mini-batch table to row 39 and opens it, with its inputs.
  const row39 = page.locator('[data-testid="batch-row"][data-batch="39"]');
  await expect(row39).not.toBeInViewport();
  await page.getByTestId('diagnosis').getByRole('button', { name: 'Mini-batch 39' }).first().click();
  await expect(row39).toBeInViewport();
  await expect(row39).toHaveAttribute('aria-selected', 'true');
  const detail = page.getByTestId('batch-detail');
  await expect(detail.getByRole('heading', { name: 'Mini-batch 39' })).toBeVisible();
  await expect(detail.getByTestId('mb-inputs')).toContainText(path.join('data', 'item39.txt'));
  await expect(detail.getByTestId('mb-inputs')).toContainText('1 item');

  // Its rows in processed_mini-batches.csv: the logs browser, that row selected and in view.
  await detail.getByTestId('open-in-logs').click();
  await expect(page.getByTestId('logs-browser')).toBeVisible();
  await expect(page.getByTestId('log-file-path')).toHaveText(
    'logs/sys/job_report/processed_mini-batches.csv',
  );
  const csvRow39 = page.locator('[data-testid="csv-row"][aria-selected="true"]');
  await expect(csvRow39).toHaveCount(1);
  await expect(csvRow39).toBeInViewport();
  await expect(csvRow39).toContainText('checksum mismatch in item39.txt');
  const mb = page.getByTestId('mb-detail');
  await expect(mb.getByTestId('mb-inputs')).toContainText('item39.txt');
  await page.screenshot({ path: screenshotPath('logs-browser.png') });

  // Its lines in the process log: the process's log opens at them, both marked.
  await mb.getByTestId('mb-process-log').click();
  await expect(page.getByTestId('log-file-path')).toHaveText('logs/sys/node/0/process000.txt');
  const focused = page.locator('.log-line.focus');
  await expect(focused).toHaveCount(2);
  await expect(focused.first()).toContainText('mini-batch 39 attempt 1 starts: inputs');
  await expect(focused.last()).toContainText('mini-batch 39 attempt 1 failed');
  await expect(page.getByTestId('log-text')).not.toContainText('mini-batch 38 attempt 1 succeeded');

  // The tree: every part of the log tree is there, and a file opens from it.
  for (const rel of [
    'logs/job_result.txt',
    'logs/job_error.txt',
    'logs/sys/master_role.txt',
    'logs/sys/node/0/_main.txt',
    'logs/user/entry_script_log/0/process000.log.txt',
    'logs/user/stdout/0/process000.stdout.txt',
  ])
    await expect(treeNode(page, rel)).toBeVisible();
  await expect(page.locator('.tree-dir[data-path="logs/user/error/0"]')).toBeVisible();
  await page.getByLabel('Filter files').fill('master');
  await expect(page.getByTestId('log-node')).toHaveCount(1);
  await page.getByLabel('Filter files').fill('');
  await treeNode(page, 'logs/job_result.txt').click();
  await expect(page.getByTestId('log-text')).toContainText('item39');

  // Search marks every match and says how many lines have one.
  await treeNode(page, 'logs/user/entry_script_log/0/process000.log.txt').click();
  await expect(page.getByTestId('log-text')).toContainText('scoring item00.txt');
  await page.getByLabel('Search this log').fill('ITEM3');
  await expect(page.getByTestId('log-matches')).toHaveText('1 of 10 lines');
  await expect(page.getByTestId('log-text').locator('mark')).toHaveCount(10);
  await page.getByLabel('Search this log').press('Enter');
  await expect(page.getByTestId('log-matches')).toHaveText('2 of 10 lines');

  // The table sorts by a column, numbers as numbers, both ways.
  await treeNode(page, 'logs/sys/job_report/processed_mini-batches.csv').click();
  const firstCell = page.getByTestId('csv-row').first().getByRole('cell').first();
  await expect(page.getByTestId('csv-count')).toHaveText('40 rows');
  await expect(firstCell).toHaveText('0');
  const byStatus = page.getByRole('columnheader', { name: 'status' });
  await byStatus.click();
  await expect(page.getByTestId('csv-row').first()).toContainText('failed');
  const byId = page.getByRole('columnheader', { name: 'mini_batch_id' });
  await byId.click();
  await expect(firstCell).toHaveText('0');
  await expect(page.getByTestId('csv-row').nth(1).getByRole('cell').first()).toHaveText('1');
  await byId.click();
  await expect(byId).toHaveAttribute('aria-sort', 'descending');
  await expect(firstCell).toHaveText('39');

  // A reload keeps the view: the route names the file.
  await page.reload();
  await expect(page.getByTestId('log-file-path')).toHaveText(
    'logs/sys/job_report/processed_mini-batches.csv',
  );
});

test('a running job: its log is followed as it is written, and the perf CSVs show as charts', async ({
  page,
}) => {
  // One worker ticks until `go` appears beside the script, prints a marker, then stops at `stop`.
  host = await startHost((dir) =>
    writeExample(dir, 'ticker', {
      'job.yaml': `name: ticker
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_invocation_timeout: 600
resource_monitor_interval: 1
`,
      'score.mjs': `import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function run(batch) {
  for (let i = 0; !existsSync(path.join(here, 'go')); i++) {
    console.log('tick ' + i);
    await sleep(200);
  }
  console.log('marker written after the log was opened');
  while (!existsSync(path.join(here, 'stop'))) await sleep(100);
  return batch.map((f) => path.basename(f));
}
`,
      ...items(1),
    }),
  );
  await openApp(page);
  await startExample(page, 'ticker');
  await expect(page.locator('[data-run-state="running"]')).toBeVisible();
  await expect(page.getByTestId('terminal-process000')).toContainText('tick 1');
  // A terminal's "Log file" opens its log in the logs browser.
  await page
    .locator('.term-panel', { has: page.getByTestId('terminal-process000') })
    .getByRole('button', { name: 'Log file' })
    .click();
  await expect(page.getByTestId('logs-browser')).toBeVisible();
  await expect(page.getByTestId('log-file-path')).toHaveText('logs/user/stdout/0/process000.stdout.txt');
  const text = page.getByTestId('log-text');
  await expect(text).toContainText('tick 1');
  await expect(page.getByLabel('Follow while running')).toBeChecked();
  await expect(text).not.toContainText('marker written');

  // Written after the log was on screen: it appears without any reload or click.
  writeFileSync(path.join(host.examplesDir, 'ticker', 'go'), '');
  await expect(text).toContainText('marker written after the log was opened');

  // The perf CSVs as charts, while the run goes on.
  await treeNode(page, 'logs/perf/0/processes_resource_usage.csv').click();
  await expect(page.getByTestId('perf-charts')).toBeVisible();
  await expect(page.getByTestId('perf-chart-cpu_percent').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('perf-chart-rss_bytes')).toContainText('process000');
  await page.getByRole('button', { name: 'Table' }).click();
  await expect(page.getByRole('columnheader', { name: 'rss_bytes' })).toBeVisible();

  writeFileSync(path.join(host.examplesDir, 'ticker', 'stop'), '');
  await page.getByRole('button', { name: 'Back to the run' }).click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  // Finished: nothing more to follow.
  await page.getByTestId('browse-logs').click();
  await treeNode(page, 'logs/user/stdout/0/process000.stdout.txt').click();
  await expect(page.getByLabel('Follow while running')).toBeDisabled();
  await expect(page.getByTestId('log-text')).toContainText('marker written after the log was opened');
});

test("a table's mini-batch shows its file, byte range, lines and rows", async ({ page }) => {
  const lines = ['id,note'];
  for (let i = 0; i < 200; i++) lines.push(`${i},note ${i}`);
  host = await startHost((dir) =>
    writeExample(dir, 'table', {
      'job.yaml': `name: table-job
entry_script: score.mjs
inputs:
  - path: ./data/t.csv
    type: tabular
mini_batch_size: 1KB
process_count_per_node: 1
`,
      'score.mjs': 'export function run(t) { return t.rows.map((r) => r[0]); }\n',
      'data/t.csv': lines.join('\n') + '\n',
    }),
  );
  await openApp(page);
  await startExample(page, 'table');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await page.locator('[data-testid="batch-row"][data-batch="1"]').click();
  const inputs = page.getByTestId('batch-detail').getByTestId('mb-inputs');
  await expect(inputs).toContainText(path.join('data', 't.csv'));
  await expect(inputs).toHaveText(/bytes [1-9]\d*–\d+ \(lines \d+–\d+\) \(\d+ rows\)/);
  // The lines it names are the rows it counts.
  const text = (await inputs.textContent()) ?? '';
  const [, first, last, rows] = /lines (\d+)–(\d+)\) \((\d+) rows/.exec(text)!.map(Number);
  expect(last - first + 1).toBe(rows);
});
