// The run view against a real `prs serve` and real job processes.

import { expect, test, type Page } from '@playwright/test';
import { statSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copyBundledExample, startHost, writeExample, type Host, screenshotPath } from './host';
import { failingJob, FLOOD_BYTES, floodJob, pacedJob } from './jobs';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

async function openApp(page: Page) {
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
}

async function startExample(page: Page, name: string) {
  await page.getByTestId(`example-${name}`).getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
}

test('the bundled example runs to completion from the home page', async ({ page }) => {
  host = await startHost((dir) => copyBundledExample(dir, 'hello-files'));
  await openApp(page);
  await startExample(page, 'hello-files');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('6 / 6');
  // The terminals received output (or the run's recent output, if the run outpaced the page). The
  // faster worker may take every mini-batch of so small a job, so look for output from any worker.
  await expect(page.getByTestId('terminal-leader')).not.toHaveAttribute('data-received', '0');
  await expect(
    page.locator('[data-testid^="terminal-process"]').filter({ hasText: 'hello from process' }),
  ).not.toHaveCount(0);
});

test('a live run: terminals receive output, the run completes; reopening shows it again', async ({
  page,
}) => {
  // Gated: its last mini-batch waits for the go file, so everything below is seen while it runs.
  host = await startHost((dir) => writeExample(dir, 'paced', pacedJob({ gated: true })));
  await openApp(page);
  await startExample(page, 'paced');
  await expect(page.locator('[data-run-state="running"]')).toBeVisible();
  for (const name of ['leader', 'process000', 'process001']) {
    await expect(page.getByTestId(`terminal-${name}`)).not.toHaveAttribute('data-received', '0');
  }
  await expect(page.getByTestId('worker-process000')).toBeVisible();
  // Stderr lines arrive too, in the same terminal.
  await expect(page.getByTestId('terminal-process000')).toContainText('note: item');
  await expect(page.locator('[data-run-state="running"]')).toBeVisible();
  await writeFile(path.join(host.examplesDir, 'paced', 'go'), '');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('10 / 10');
  await expect(page.getByTestId('batch-row')).toHaveCount(10);

  await page.evaluate(() =>
    (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
  );
  await page.screenshot({ path: screenshotPath('run-view.png'), fullPage: false });

  // A row shows its attempts.
  await page.getByTestId('batch-row').first().click();
  await expect(page.getByTestId('batch-detail')).toContainText('Attempt 1');

  // Reopen from the run folder: the same view, from disk.
  await page.getByRole('link', { name: 'Parallel Run Studio' }).click();
  await page.getByTestId('run-row').first().getByRole('button', { name: 'Open' }).click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batch-row')).toHaveCount(10);
  await expect(page.getByTestId('terminal-process000')).toContainText('item');
});

test('graphs draw from the metric samples of a live run', async ({ page }) => {
  host = await startHost((dir) => writeExample(dir, 'paced', pacedJob()));
  await openApp(page);
  await startExample(page, 'paced');
  // Samples arrive about once a second while the run is active (RunEvent 'metrics').
  await expect(page.getByTestId('chart-node')).toHaveAttribute('data-points', /^[1-9]\d*$/);
  await expect(page.getByTestId('chart-node').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('chart-proc-cpu').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('chart-proc-mem').locator('canvas')).toBeVisible();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
});

test('a failing job shows the diagnosis naming the cause', async ({ page }) => {
  host = await startHost((dir) => writeExample(dir, 'failing', failingJob()));
  await openApp(page);
  await startExample(page, 'failing');
  await expect(page.locator('[data-run-state="failed"]')).toBeVisible();
  const diagnosis = page.getByTestId('diagnosis');
  await expect(diagnosis).toBeVisible();
  await expect(diagnosis).toContainText('checksum mismatch in item03.txt');
  // The finding links to its mini-batch, whose attempt shows the error.
  await page.getByLabel('Filter by status').selectOption('failed');
  await expect(page.getByTestId('batch-row')).toHaveCount(1);
  await page.getByTestId('batch-row').click();
  await expect(page.getByTestId('batch-detail')).toContainText('checksum mismatch');
});

test('a worker printing 50 MB as fast as it can leaves the page responsive and the log complete', async ({
  page,
}) => {
  host = await startHost((dir) => writeExample(dir, 'flood', floodJob()));
  await openApp(page);
  await startExample(page, 'flood');
  await expect(page.getByTestId('terminal-process000')).not.toHaveAttribute('data-received', '0');
  // While output pours in (the job writes until told to stop), every click is answered. The bound
  // is a freeze's, not a speed claim: a page without flow control stays stuck for minutes or dies,
  // while a loaded machine may take seconds.
  for (let i = 0; i < 6; i++) {
    const layout = i % 2 === 0 ? 'Tabs' : 'Grid';
    await page.getByRole('button', { name: layout, exact: true }).click({ timeout: 30_000 });
    await expect(page.getByRole('button', { name: layout, exact: true })).toHaveAttribute(
      'aria-pressed',
      'true',
      { timeout: 30_000 },
    );
  }
  // Still pouring: the clicks above were answered during the flood, not after it.
  await expect(page.locator('[data-run-state="running"]')).toBeVisible();
  await writeFile(path.join(host.examplesDir, 'flood', 'stop'), '');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 90_000 });
  // The view says what it left out; the file has everything.
  await page.getByRole('button', { name: 'Grid', exact: true }).click();
  await expect(page.getByTestId('dropped-process000')).toContainText('not shown, open the full log');
  const runsRoot = path.join(host.examplesDir, 'flood', 'runs', 'flood-job');
  const [runId] = await readdir(runsRoot);
  const log = path.join(runsRoot, runId, 'logs', 'user', 'stdout', '0', 'process000.stdout.txt');
  expect(statSync(log).size).toBeGreaterThanOrEqual(FLOOD_BYTES);
});
