// The output browser (issue 14, section 4) against a real `prs serve`, a real job and Chromium: it
// refreshes while the run writes, a jump past the end says so, the search sits above the rows and
// its matches are highlighted in them, and the output exports as Parquet that a reader reads back.

import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { startHost, writeExample, type Files, type Host, screenshotPath } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

const ITEMS = 5;

/**
 * One worker, one file per mini-batch; every mini-batch after the first waits until the test drops
 * a release file for it, so the test decides when each row reaches the output.
 */
function gatedJob(): Files {
  const files: Files = {
    'job.yaml': `name: gated-job
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_invocation_timeout: 300
run_max_try: 1
`,
    'score.mjs': `import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const here = path.dirname(fileURLToPath(import.meta.url));
export async function run(batch) {
  const out = [];
  for (const f of batch) {
    const name = path.basename(f);
    if (name !== 'item00.txt')
      while (!existsSync(path.join(here, 'release', name))) await new Promise((r) => setTimeout(r, 50));
    out.push(name + ' ok ' + name.length);
  }
  return out;
}
`,
  };
  for (let i = 0; i < ITEMS; i++) files[`data/item${String(i).padStart(2, '0')}.txt`] = `item ${i}\n`;
  return files;
}

async function openApp(page: Page) {
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
}

test('the output browser follows a live run, says when a jump is past the end, highlights matches and exports Parquet', async ({
  page,
}) => {
  let jobDir = '';
  host = await startHost((dir) => (jobDir = writeExample(dir, 'gated', gatedJob())));
  mkdirSync(path.join(jobDir, 'release'));
  const release = (i: number) =>
    writeFileSync(path.join(jobDir, 'release', `item${String(i).padStart(2, '0')}.txt`), '');

  await openApp(page);
  await page.getByTestId('example-gated').getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText(/^1 \//);
  await page.getByTestId('browse-output').click();

  // The first row is there; the page says the run is still writing, and shows each new row as its
  // mini-batch is committed, without a click.
  const rows = page.getByTestId('output-line');
  await expect(rows).toHaveCount(1);
  await expect(page.getByTestId('output-live')).toBeVisible();
  release(1);
  await expect(rows).toHaveCount(2, { timeout: 60_000 });
  await expect(rows.nth(1)).toContainText('item01.txt');
  for (let i = 2; i < ITEMS; i++) release(i);
  await expect(rows).toHaveCount(ITEMS, { timeout: 60_000 });
  await expect(page.getByTestId('output-live')).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('output-position')).toContainText(`lines 1–${ITEMS} of ${ITEMS}`);

  // A jump past the end says so, and shows the last lines.
  await page.getByTestId('goto-line').fill('999');
  await page.getByTestId('goto-line').press('Enter');
  await expect(page.getByTestId('output-notice')).toHaveText(
    `Line 999 is past the end: the output has ${ITEMS} lines. Showing the last.`,
  );
  await expect(rows).toHaveCount(ITEMS);

  // The search box sits above the rows; its matches are highlighted in them.
  const searchBox = await page.getByTestId('search-input').boundingBox();
  const firstRow = await rows.first().boundingBox();
  expect(searchBox!.y + searchBox!.height).toBeLessThanOrEqual(firstRow!.y);
  await page.getByTestId('search-input').fill('ITEM03');
  await page.getByTestId('search-start').click();
  await expect(page.getByTestId('search-status')).toHaveAttribute('data-search-state', 'done');
  await expect(page.getByTestId('search-result')).toHaveCount(1);
  const marks = rows.locator('mark');
  await expect(marks).toHaveCount(1);
  await expect(marks).toHaveText('item03');
  await expect(rows.filter({ has: page.locator('mark') })).toContainText('item03.txt');
  await page.screenshot({ path: screenshotPath('output-browser.png') });

  // Parquet: a download an independent reader reads back, the number column as numbers.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-output-parquet').click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^gated-job-.*-output\.parquet$/);
  const file = path.join(host.dataDir, 'out.parquet');
  await download.saveAs(file);
  const parquet = await parquetReadObjects({ file: await asyncBufferFromFile(file) });
  expect(parquet.map((r) => [r.col1, r.col2, r.col3]).sort()).toEqual(
    Array.from({ length: ITEMS }, (_, i) => [`item0${i}.txt`, 'ok', 10n]),
  );
});
