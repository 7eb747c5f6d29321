// The pipeline view against a real `prs serve`: a v2 pipeline started from the home page runs its
// command node, then its parallel node; the graph shows each node's status, a parallel node opens in
// the run view, and history lists the pipeline's run (not its nodes) and opens it as a graph.

import { expect, test } from '@playwright/test';
import { rmSync } from 'node:fs';
import { startHost, writeExample, type Files, type Host, screenshotPath } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

function pipelineExample(): Files {
  return {
    'pipeline.yml': `# A command node writes six files; a parallel node counts their characters.
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: e2e-pipeline
jobs:
  prepare:
    type: command
    compute: azureml:cpu-cluster
    code: .
    command: '"${process.execPath}" prepare.mjs \${{outputs.files}}'
    outputs:
      files: {type: uri_folder}
  score:
    type: parallel
    inputs:
      data:
        type: uri_folder
        path: \${{parent.jobs.prepare.outputs.files}}
    outputs:
      counts: {type: uri_file, path: counts.txt}
    input_data: \${{inputs.data}}
    mini_batch_size: "2"
    max_concurrency_per_instance: 2
    retry_settings: {max_retries: 0, timeout: 30}
    task:
      type: run_function
      code: ./src
      entry_script: score.mjs
      append_row_to: \${{outputs.counts}}
`,
    'prepare.mjs': `import { writeFileSync } from 'node:fs';
import { rmSync } from 'node:fs';
import path from 'node:path';
for (let i = 0; i < 6; i++) writeFileSync(path.join(process.argv[2], 'f' + i + '.txt'), 'x'.repeat(i + 1));
console.log('prepared 6 files');
`,
    'src/score.mjs': `import { readFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import path from 'node:path';
export async function run(batch) {
  return Promise.all(batch.map(async (f) => path.basename(f) + ' ' + (await readFile(f, 'utf8')).length));
}
`,
  };
}

test('a v2 pipeline from the home page: its graph, a parallel node in the run view, and history', async ({
  page,
}) => {
  host = await startHost((dir) => writeExample(dir, 'pipe', pipelineExample()));
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-pipe').getByRole('button', { name: 'Start' }).click();

  const view = page.getByTestId('pipeline-view');
  await expect(view).toBeVisible();
  const node = (name: string) => page.locator(`[data-testid="pipeline-node"][data-node="${name}"]`);
  await expect(node('prepare')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  await expect(node('score')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  await expect(page.getByTestId('pipeline-status')).toHaveText('completed');
  await expect(node('score')).toContainText('3/3 mini-batches');
  await expect(view).toContainText('compute: no local meaning');
  await page.screenshot({
    path: screenshotPath('pipeline-view.png'),
    fullPage: false,
  });

  await node('score').getByRole('button', { name: 'Open run' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('3 / 3');

  await page.getByRole('link', { name: 'History' }).click();
  const rows = page.getByTestId('history-row');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('e2e-pipeline (pipeline)');
  await expect(rows.first()).toContainText('completed');
  await rows.first().getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('pipeline-view')).toBeVisible();
  await expect(node('prepare')).toHaveAttribute('data-status', 'completed');
});

test('a failed pipeline shows the failed node and its cause, and Resume in history completes it', async ({
  page,
}) => {
  let marker = '';
  host = await startHost((dir) => {
    const files = pipelineExample();
    marker = `${dir}/pipe/fail-now`;
    files['pipeline.yml'] = files['pipeline.yml']!.replace(
      '    input_data:',
      `    mini_batch_error_threshold: 0\n    environment_variables: {FAIL_WHILE: "${marker}"}\n    input_data:`,
    );
    files['src/score.mjs'] = `import { existsSync } from 'node:fs';
import { rmSync } from 'node:fs';
import path from 'node:path';
export async function run(batch) {
  if (existsSync(process.env.FAIL_WHILE)) throw new Error('marker file present');
  return batch.map((f) => path.basename(f));
}
`;
    files['fail-now'] = 'x';
    writeExample(dir, 'pipe', files);
  });
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-pipe').getByRole('button', { name: 'Start' }).click();
  const node = (name: string) => page.locator(`[data-testid="pipeline-node"][data-node="${name}"]`);
  await expect(node('score')).toHaveAttribute('data-status', 'failed', { timeout: 60_000 });
  await expect(node('prepare')).toHaveAttribute('data-status', 'completed');
  await expect(page.getByTestId('pipeline-status')).toHaveText('failed');
  await expect(page.getByTestId('pipeline-reason')).toContainText('jobs.score (parallel) failed:');
  await expect(page.getByTestId('pipeline-reason')).toContainText('marker file present');

  rmSync(marker);
  await page.getByRole('link', { name: 'History' }).click();
  await page.getByTestId('history-row').first().getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('pipeline-view')).toBeVisible();
  await expect(node('score')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  await expect(page.getByTestId('pipeline-status')).toHaveText('completed');
});
