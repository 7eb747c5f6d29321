// Simulated nodes in the app: a node_count 2 job's workers each say which node they are on.

import { expect, test } from '@playwright/test';
import { startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

const NODES_JOB = {
  'job.yaml': `# Two simulated nodes with one worker each.
name: nodes-job
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
node_count: 2
process_count_per_node: 1
run_invocation_timeout: 30
`,
  'score.mjs': `import path from 'node:path';
export async function run(batch) {
  console.log('scoring ' + batch.map((f) => path.basename(f)).join(',') + ' on node ' + process.env.PRS_NODE_ID);
  await new Promise((r) => setTimeout(r, 200));
  return batch.map((f) => path.basename(f) + ' on node ' + process.env.PRS_NODE_ID);
}
`,
  'data/a.txt': 'a\n',
  'data/b.txt': 'b\n',
  'data/c.txt': 'c\n',
  'data/d.txt': 'd\n',
};

test('a node_count 2 job: the worker list shows each worker with its node', async ({ page }) => {
  host = await startHost((dir) => writeExample(dir, 'nodes', NODES_JOB));
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-nodes').getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
  await expect(page.getByTestId('worker-process000')).toContainText('node 0');
  await expect(page.getByTestId('worker-process001')).toContainText('node 1');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('4 / 4');
});

test('a node_count 2 job: the nodes panel lists both nodes, each with its workers and their terminals', async ({
  page,
}) => {
  host = await startHost((dir) => writeExample(dir, 'nodes', NODES_JOB));
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-nodes').getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('run-view')).toBeVisible();
  const panel = page.getByTestId('nodes-panel');
  for (const [id, worker] of [
    ['0', 'process000'],
    ['1', 'process001'],
  ] as const) {
    const row = panel.getByTestId(`node-${id}`);
    await expect(row.getByTestId('node-name')).toHaveText(`node ${id}`);
    await expect(row.getByTestId('node-workers')).toHaveText(worker);
    await expect(row).toContainText('1'); // processes
    await expect(page.getByTestId(`node-terminals-${id}`)).toContainText(`node ${id}`);
    // That node's worker's terminal sits under the node and shows what the worker printed there.
    const terminal = page.locator(`.term-panel[data-node="${id}"]`).getByTestId(`terminal-${worker}`);
    // xterm draws only what is on screen.
    await terminal.scrollIntoViewIfNeeded();
    await expect(terminal).toContainText(`on node ${id}`);
  }
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(panel.getByTestId('node-0').getByTestId('node-state')).toHaveText('left');
  await expect(panel.getByTestId('node-1').getByTestId('node-state')).toHaveText('left');
  // Only one node: the other's tiles and terminals are hidden, the leader's terminal stays.
  await panel.getByTestId('node-1').getByRole('button', { name: 'Only this node' }).click();
  await expect(page.getByTestId('worker-process001')).toBeVisible();
  await expect(page.getByTestId('worker-process000')).toHaveCount(0);
  await expect(page.getByTestId('terminal-process000')).toHaveCount(0);
  await expect(page.getByTestId('terminal-process001')).toBeVisible();
  await panel.getByRole('button', { name: 'All nodes' }).click();
  await expect(page.getByTestId('worker-process000')).toBeVisible();
});
