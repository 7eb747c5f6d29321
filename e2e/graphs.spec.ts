// The run view's graphs and worker tiles (issue 14, section 5) against a real `prs serve`, a real
// job and Chromium: time in seconds since the start (not dates), the time under the pointer in
// seconds, no GPU chart and no "GPU —" on a machine without GPUs.

import { expect, test } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { startHost, writeExample, type Host } from './host';
import { pacedJob } from './jobs';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

/** Whether this machine shows the scheduler a GPU (nvidia-smi lists one). */
function machineHasGpus(): boolean {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  return r.status === 0 && /GPU \d/.test(r.stdout);
}

test('graphs count seconds from the start, hover says the seconds, and no GPU panel or "GPU —" without GPUs', async ({
  page,
}) => {
  host = await startHost((dir) => writeExample(dir, 'paced', pacedJob()));
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-paced').getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();

  // Even the first sample's axis is seconds from 0 (it used to span the years 2027-2029).
  const chart = page.getByTestId('chart-node');
  await expect(chart).toHaveAttribute('data-points', /^[1-9]\d*$/);
  await expect(chart).toHaveAttribute('data-x-ticks', /^0 s\|/);
  expect(await chart.getAttribute('data-x-ticks')).not.toMatch(/20\d\d|:/);

  // Under the pointer, the legend gives the time in seconds.
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  const over = chart.locator('.u-over');
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
  await expect(chart.locator('.u-legend .u-series').first().locator('.u-value')).toHaveText(/^\d+\.\d s$/);

  const tiles = page.locator('[data-testid^="worker-process"]');
  await expect(tiles.first()).toBeVisible();
  if (!machineHasGpus()) {
    await expect(page.getByTestId('chart-gpu')).toHaveCount(0);
    for (const text of await tiles.allTextContents()) expect(text).not.toContain('GPU');
  } else {
    await expect(page.getByTestId('chart-gpu')).toHaveCount(1);
  }
});
