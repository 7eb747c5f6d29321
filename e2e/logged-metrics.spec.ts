// The run view's Metrics panel: what a Python entry script logs with mlflow and Run.log, shown once
// the run ends and again when the run is reopened from its folder. Real `prs serve`, Debian's python3.

import { expect, test } from '@playwright/test';
import { startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

test('metrics, params and tags the script logged show in the run view, live and reopened', async ({
  page,
}) => {
  host = await startHost((dir) =>
    writeExample(dir, 'logging', {
      'job.yaml': `name: logging-job
entry_script: score.py
python: /usr/bin/python3
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
`,
      'score.py': `import mlflow
from azureml.core import Run

def init():
    mlflow.log_param("alpha", 0.25)
    Run.get_context().tag("stage", "e2e")

def run(mini_batch):
    mlflow.log_metric("accuracy", 0.5 + 0.1 * len(mini_batch[0]) / 100)
    return mini_batch
`,
      'data/a.txt': 'a\n',
      'data/b.txt': 'b\n',
      'data/c.txt': 'c\n',
    }),
  );
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-logging').getByRole('button', { name: 'Start' }).click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 60_000 });

  const check = async () => {
    const panel = page.getByRole('region', { name: 'Metrics' });
    await expect(panel).toBeVisible();
    await expect(panel.getByTestId('logged-metric')).toHaveCount(3);
    await expect(panel.getByRole('row', { name: /accuracy/ })).toContainText('3 values');
    await expect(panel.getByRole('row', { name: /alpha/ })).toContainText('0.25');
    await expect(panel.getByRole('row', { name: /stage/ })).toContainText('e2e');
  };
  await check();

  await page.getByRole('link', { name: 'Parallel Run Studio' }).click();
  await page.getByTestId('run-row').first().getByRole('button', { name: 'Open' }).click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await check();
});
