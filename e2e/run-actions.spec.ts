// Acting on a run (issue 14, section 1) against a real `prs serve`, real job processes and Chromium:
// every next step is offered where the user is, reuse is a visible choice, and the status says
// what happened.

import { expect, test, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, writeExample, type Files, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

function items(n: number): Files {
  const files: Files = {};
  for (let i = 0; i < n; i++) files[`data/item${String(i).padStart(2, '0')}.txt`] = `item ${i}\n`;
  return files;
}

/** A Node job: `body` is run()'s loop body over the mini-batch's files `f` (one per mini-batch). */
function job(name: string, settings: string, body: string, n: number): Files {
  return {
    'job.yaml': `name: ${name}
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
run_max_try: 1
${settings}
`,
    'score.mjs': `import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export async function run(batch) {
  const out = [];
  for (const f of batch) {
    const name = path.basename(f);
    ${body}
    out.push(name + ' ok');
  }
  return out;
}
void existsSync, mkdirSync, readdirSync, writeFileSync, here, sleep;
`,
    ...items(n),
  };
}

async function openApp(page: Page) {
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
}

async function startExample(page: Page, name: string) {
  await page.getByTestId(`example-${name}`).getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
}

/** The run folder the page shows, from its address. */
async function runDirOf(page: Page): Promise<string> {
  const hash = new URL(page.url()).hash;
  return new URLSearchParams(hash.split('?')[1] ?? '').get('runDir') ?? '';
}

async function elapsedS(page: Page): Promise<number> {
  return Number(await page.getByTestId('elapsed').getAttribute('data-elapsed-s'));
}

const header = (page: Page) => page.locator('.run-header');

test('Run again runs the job; reusing its results is a choice that says what it reused, and that output opens', async ({
  page,
}) => {
  host = await startHost((dir) => writeExample(dir, 'quick', job('quick-job', '', '', 4)));
  await openApp(page);
  await startExample(page, 'quick');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  const first = await runDirOf(page);

  // Run again really runs: a new folder, every mini-batch run, nothing reused.
  await header(page).getByRole('button', { name: 'Run again' }).click();
  await expect.poll(() => runDirOf(page)).not.toBe(first);
  const second = await runDirOf(page);
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('4 / 4');
  await expect(page.getByTestId('batch-row')).toHaveCount(4);
  await expect(page.getByTestId('reused')).toHaveCount(0);
  await expect(page.getByTestId('run-status')).toHaveText('completed');

  // Reuse is the other button: the run says it ran nothing, whose results it took, and counts them.
  await header(page).getByRole('button', { name: 'Reuse results' }).click();
  await expect.poll(() => runDirOf(page)).not.toBe(second);
  await expect(page.getByTestId('reused')).toBeVisible();
  await expect(page.getByTestId('reused-from')).toHaveText(second);
  await expect(page.getByTestId('run-status')).toHaveText('completed (reused)');
  await expect(page.getByTestId('batches-done')).toHaveText('4 / 4');

  // Its output opens: the reused run's rows, not an ENOENT.
  await page.getByTestId('browse-output').click();
  await expect(page.getByTestId('output-browser')).toBeVisible();
  await expect(page.getByTestId('output-line')).toHaveCount(4);
  await expect(page.getByTestId('output-browser')).toContainText('item00.txt');
  await expect(page.getByTestId('output-browser')).not.toContainText('ENOENT');
});

test('a failed run is retried from its view, keeping its earlier attempts and time; history offers the same steps', async ({
  page,
}) => {
  // item05 (the last) fails until fixed.flag exists; each mini-batch takes a while, so the first
  // session is clearly longer than the retry, which runs one mini-batch.
  host = await startHost((dir) =>
    writeExample(
      dir,
      'fixable',
      job(
        'fixable-job',
        'process_count_per_node: 1\nallowed_failed_count: 0',
        `await sleep(700);
    if (name === 'item05.txt' && !existsSync(path.join(here, 'fixed.flag'))) throw new Error('item05 needs fixed.flag');`,
        6,
      ),
    ),
  );
  await openApp(page);
  await startExample(page, 'fixable');
  await expect(page.locator('[data-run-state="failed"]')).toBeVisible();
  const runDir = await runDirOf(page);
  await expect(page.getByTestId('batch-row')).toHaveCount(6);
  const before = await elapsedS(page);
  // A failed run is retried, not resumed (resume alone would refuse it).
  await expect(header(page).getByRole('button', { name: 'Resume' })).toHaveCount(0);
  await expect(header(page).getByRole('button', { name: 'Edit in wizard' })).toBeEnabled();

  writeFileSync(path.join(host.examplesDir, 'fixable', 'fixed.flag'), 'yes');
  await header(page).getByRole('button', { name: 'Retry failed' }).click();
  await expect(page.getByTestId('resumed')).toHaveText('resumed once');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  expect(await runDirOf(page)).toBe(runDir);
  await expect(page.getByTestId('batches-done')).toHaveText('6 / 6');
  await expect(page.getByTestId('run-status')).toHaveText('completed');
  // The run's whole life: the mini-batches of the first session are still listed, the retried
  // one shows both its attempts, and the time includes the first session's.
  await expect(page.getByTestId('batch-row')).toHaveCount(6);
  await page.getByLabel('Filter by status').selectOption('retried');
  await expect(page.getByTestId('batch-row')).toHaveCount(1);
  await page.getByTestId('batch-row').click();
  await expect(page.getByTestId('batch-detail')).toContainText('Attempt 1');
  await expect(page.getByTestId('batch-detail')).toContainText('item05 needs fixed.flag');
  await expect(page.getByTestId('batch-detail')).toContainText('Attempt 2');
  expect(await elapsedS(page)).toBeGreaterThanOrEqual(before);

  // Reopened from its folder, the run still shows its whole life.
  await page.reload();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('resumed')).toHaveText('resumed once');
  expect(await elapsedS(page)).toBeGreaterThanOrEqual(before);

  // History: the same steps on the run's row; Edit in wizard opens its spec.
  await page.goto(`${host.base}/#/history`);
  const row = page.locator(`[data-testid="history-row"][data-run-dir="${runDir}"]`);
  await expect(row.getByTestId('history-status')).toHaveText('completed');
  await expect(row.getByRole('button', { name: 'Run again' })).toBeEnabled();
  await expect(row.getByRole('button', { name: 'Reuse results' })).toBeEnabled();
  await row.getByRole('button', { name: 'Edit in wizard' }).click();
  await expect(page.getByTestId('wizard')).toBeVisible();
  expect(decodeURIComponent(page.url())).toContain(path.join(host.examplesDir, 'fixable', 'job.yaml'));
});

test('Cancel asks first; a cancelled run says its workers were stopped, and resumes to the end', async ({
  page,
}) => {
  // item00 runs at once; the others wait for a go file (made before the resume), so the run is
  // still going, with a mini-batch running, through every click below however slow the machine.
  host = await startHost((dir) =>
    writeExample(
      dir,
      'slow',
      job(
        'slow-job',
        'process_count_per_node: 1\nrun_invocation_timeout: 300',
        `await sleep(300);
    while (name !== 'item00.txt' && !existsSync(path.join(here, 'go'))) await sleep(100);`,
        6,
      ),
    ),
  );
  await openApp(page);
  await startExample(page, 'slow');
  await expect(page.getByTestId('batches-done')).toHaveText(/^1 \//);
  await header(page).getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByTestId('confirm-cancel')).toBeVisible();
  await page.getByRole('button', { name: 'Keep running' }).click();
  await expect(page.getByTestId('confirm-cancel')).toHaveCount(0);
  await expect(page.locator('[data-run-state="running"]')).toBeVisible();
  await header(page).getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('button', { name: 'Yes, cancel the run' }).click();
  await expect(page.locator('[data-run-state="cancelled"]')).toBeVisible();
  await expect(page.getByTestId('worker-process000').getByTestId('worker-state')).toHaveText(
    'stopped by the leader as the job ended',
  );
  // The mini-batch it was running did not finish: it says so rather than running forever.
  await expect(page.getByTestId('batch-row').filter({ hasText: 'running' })).toHaveCount(0);

  writeFileSync(path.join(host.examplesDir, 'slow', 'go'), '');
  await header(page).getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('resumed')).toHaveText('resumed once');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('6 / 6');
});

test('status tells the truth: completed with failures; mini-batches of a failed job stop; a worker the leader killed says so', async ({
  page,
}) => {
  host = await startHost((dir) => {
    // The default thresholds tolerate every failure.
    writeExample(dir, 'all-fail', job('all-fail-job', '', "throw new Error('no good: ' + name);", 3));
    // item00 fails once another mini-batch is under way; the others would take a minute each.
    writeExample(
      dir,
      'stuck',
      job(
        'stuck-job',
        'process_count_per_node: 2\nallowed_failed_count: 0\nrun_invocation_timeout: 300',
        `const marks = path.join(here, 'marks');
    if (name === 'item00.txt') {
      for (let i = 0; i < 200 && !(existsSync(marks) && readdirSync(marks).length > 0); i++) await sleep(100);
      throw new Error('item00 fails');
    }
    mkdirSync(marks, { recursive: true });
    writeFileSync(path.join(marks, name), '');
    await sleep(60000);`,
        4,
      ),
    );
  });
  await openApp(page);
  await startExample(page, 'all-fail');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('run-status')).toHaveText('completed with failures');
  await expect(page.getByTestId('run-status')).toHaveClass(/completed-with-failures/);
  await expect(header(page).getByRole('button', { name: 'Retry failed' })).toBeVisible();
  await page.goto(`${host.base}/#/history`);
  await expect(page.getByTestId('history-status').first()).toHaveText('completed with failures');

  await page.goto(`${host.base}/#/`);
  await startExample(page, 'stuck');
  await expect(page.locator('[data-run-state="failed"]')).toBeVisible();
  await expect(page.getByTestId('batch-row').filter({ hasText: 'running' })).toHaveCount(0);
  await expect(page.getByTestId('batch-row').filter({ hasText: 'stopped' })).not.toHaveCount(0);
  await expect(page.getByTestId('worker-state').filter({ hasText: 'stopped by the leader' })).not.toHaveCount(
    0,
  );
  await expect(page.getByTestId('worker-state').filter({ hasText: 'code -9' })).toHaveCount(0);
});
