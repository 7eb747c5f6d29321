// The bundled batch deployment on the home page (issue 12, section 7) against a real `prs serve`,
// real Python and Chromium: its card scores the example's own data with one click (until the data
// is made, it says which input is missing), the run opens in the run view, its predictions.csv in
// the output browser, and Run again scores the same data again.

import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { copyBundledExample, startHost, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

/** The run folder the page shows, from its address. */
function runDirOf(page: Page): string {
  return new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '').get('runDir') ?? '';
}

test('the batch deployment card scores its data, its predictions open in the output browser, and Run again scores them again', async ({
  page,
}) => {
  test.setTimeout(300_000);
  let example = '';
  host = await startHost(
    (dir) => {
      copyBundledExample(dir, 'batch-deployment');
      example = path.join(dir, 'batch-deployment');
      // As in a fresh checkout: no data until prepare.py makes it.
      rmSync(path.join(example, 'data'), { recursive: true, force: true });
    },
    // The scoring runs python3 on PATH: Debian's has pandas and scikit-learn.
    { PATH: `/usr/bin:${process.env.PATH ?? ''}` },
  );
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  const card = page.getByTestId('example-batch-deployment');
  await expect(card).toContainText('An Azure ML batch endpoint deployment');

  // No data yet: the error names the input the card scores.
  await card.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByRole('alert')).toContainText(
    `input: ${path.join(example, 'data')} does not exist (expected the file or folder`,
  );
  await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click();

  execFileSync('/usr/bin/python3', [path.join(example, 'prepare.py')]);
  await card.getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('batches-done')).toHaveText('3 / 3');
  const first = runDirOf(page);

  await page.getByTestId('browse-output').click();
  await expect(page.getByTestId('output-browser')).toBeVisible();
  await expect(page.getByTestId('output-line')).toHaveCount(3);
  // One line per file, its species counted, in the order the two workers finished them (the
  // browser shows the space-separated parts as columns).
  for (const i of [0, 1, 2])
    await expect(page.getByTestId('output-line').filter({ hasText: `iris-${i}.csv` })).toHaveText(
      new RegExp(`iris-${i}\\.csv\\s*setosa=\\d+\\s*versicolor=\\d+\\s*virginica=\\d+`),
    );

  // Run again scores the same data: a new run folder, the same three files.
  await page.goBack();
  await expect(page.getByTestId('run-view')).toBeVisible();
  await page.locator('.run-header').getByRole('button', { name: 'Run again' }).click();
  await expect.poll(() => runDirOf(page)).not.toBe(first);
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('batches-done')).toHaveText('3 / 3');
  await page.getByTestId('browse-output').click();
  await expect(page.getByTestId('output-line')).toHaveCount(3);
  await expect(page.getByTestId('output-browser')).toContainText('iris-2.csv');
});
