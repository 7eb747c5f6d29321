// History as a daily tool (issue 14, section 5) against a real `prs serve` and Chromium: reached from
// Home, a run id column, a header that stays in view, a page at a time, and a deleted run's row goes
// (from the index too, so a reload does not bring it back as "missing").

import { expect, test, type Page } from '@playwright/test';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});
test.use({ viewport: { width: 1024, height: 700 } });

const COPIES = 59;

async function runDirOf(page: Page): Promise<string> {
  const hash = new URL(page.url()).hash;
  return new URLSearchParams(hash.split('?')[1] ?? '').get('runDir') ?? '';
}

test('History: reached from Home, run ids, a sticky header, pages of runs, and Delete removes the row', async ({
  page,
}) => {
  host = await startHost((dir) =>
    writeExample(dir, 'quick', {
      'job.yaml': 'name: quick-job\nentry_script: score.mjs\ninputs:\n  - path: ./data\nmini_batch_size: 1\n',
      'score.mjs': 'export async function run(batch) { return batch.map((f) => f + " ok"); }\n',
      'data/a.txt': 'a\n',
    }),
  );
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-quick').getByRole('button', { name: 'Start' }).click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  const runDir = await runDirOf(page);
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
    runId: string;
    startedAt: string;
  };

  // Older runs of the same job: copies of the real folder, each with its own id and start time.
  for (let i = 0; i < COPIES; i++) {
    const id = `20200101T0000${String(i).padStart(2, '0')}000Z-copy`;
    const dir = path.join(path.dirname(runDir), id);
    cpSync(runDir, dir, { recursive: true });
    const startedAt = new Date(Date.parse('2020-01-01T00:00:00Z') + i * 1000).toISOString();
    writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ ...record, runId: id, startedAt }));
  }

  // Home links to History.
  await page.getByRole('link', { name: 'Home' }).click();
  await page.getByTestId('home-history-link').click();
  await expect(page.getByTestId('history')).toBeVisible();

  // A page of 50, newest first, each with its run id.
  const rows = page.getByTestId('history-row');
  await expect(page.getByTestId('history-range')).toHaveText(`runs 1–50 of ${COPIES + 1}`);
  await expect(rows).toHaveCount(50);
  await expect(rows.first().getByTestId('history-run-id')).toHaveText(record.runId);
  await expect(rows.nth(1).getByTestId('history-run-id')).toHaveText(/-copy$/);

  // The header stays in view when the table is scrolled.
  await rows.last().scrollIntoViewIfNeeded();
  const header = page.locator('.history-table thead th').first();
  await expect.poll(async () => (await rows.first().boundingBox())!.y).toBeLessThan(0);
  const box = (await header.boundingBox())!;
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.y).toBeLessThan(700);

  // The next page has the rest.
  await page.getByTestId('history-pager').getByRole('button', { name: 'Next' }).click();
  await expect(page.getByTestId('history-range')).toHaveText(`runs 51–${COPIES + 1} of ${COPIES + 1}`);
  await expect(rows).toHaveCount(COPIES + 1 - 50);
  await page.getByTestId('history-pager').getByRole('button', { name: 'Previous' }).click();

  // Delete: the row goes, and stays gone after a reload (no "missing" row left behind).
  page.once('dialog', (d) => void d.accept());
  const real = page.locator(`[data-testid="history-row"][data-run-dir="${runDir}"]`);
  await real.getByRole('button', { name: 'Delete' }).click();
  await expect(real).toHaveCount(0);
  await expect(page.getByTestId('history-range')).toHaveText(`runs 1–50 of ${COPIES}`);
  await page.reload();
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await expect(page.getByTestId('history-range')).toHaveText(`runs 1–50 of ${COPIES}`);
  await expect(real).toHaveCount(0);
  await expect(page.getByTestId('history-status').filter({ hasText: 'missing' })).toHaveCount(0);
});
