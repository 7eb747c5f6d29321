// Simulated nodes in the app: a node_count 2 job's workers each say which node they are on.

import { expect, test } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalRedis, type LocalRedis } from '../src/engine/cluster/localRedis';
import { ROOT, startHost, writeExample, type Host } from './host';

let host: Host;
let redis: LocalRedis | undefined;
const agents: ChildProcess[] = [];
test.afterEach(async () => {
  await host?.stop();
  for (const a of agents.splice(0)) {
    if (a.exitCode === null && a.signalCode === null) a.kill('SIGKILL');
    await new Promise((r) => (a.exitCode !== null || a.signalCode !== null ? r(null) : a.once('exit', r)));
  }
  await redis?.stop('SIGKILL');
  redis = undefined;
});

/** Short heartbeats, for the agents and the host's leader alike (the default is 15 s). */
const CLUSTER_ENV = { PRS_CLUSTER_HEARTBEAT_TTL_S: '2' };

/** A real `prs agent` with one worker slot; resolves once it has joined. */
async function startAgent(url: string, name: string, dataDir: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      path.join(ROOT, 'bin', 'prs.js'),
      'agent',
      '--cluster',
      url,
      '--name',
      name,
      '--processes',
      '1',
      '--gpus',
      'none',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...CLUSTER_ENV, PRS_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  agents.push(child);
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      text += d.toString();
      if (/joined the cluster/.test(text)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`agent ${name} exited with ${code}:\n${text}`)));
  });
}

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
// Every worker says where it runs, whether or not it gets a mini-batch.
const where = 'node ' + process.env.PRS_NODE_ID + (process.env.PRS_AGENT_NAME ? ' of ' + process.env.PRS_AGENT_NAME : '');
export async function init() {
  console.log('init on ' + where);
}
export async function run(batch) {
  console.log('scoring ' + batch.map((f) => path.basename(f)).join(',') + ' on ' + where);
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

test('the wizard runs a job on a cluster: Check lists its agents, Start says it waits for the second, the run shows them as its nodes, the URL is not saved', async ({
  page,
}) => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'prs-e2e-cluster-'));
  redis = await startLocalRedis(path.join(scratch, 'redis'));
  // One agent of the two the job needs: Start waits for the other, and says so.
  await startAgent(redis.url, 'agent-a', path.join(scratch, 'agents'));
  let specPath = '';
  host = await startHost(
    (dir) => (specPath = path.join(writeExample(dir, 'nodes', NODES_JOB), 'job.yaml')),
    CLUSTER_ENV,
  );
  await page.goto(host.url + '#/wizard');
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('wizard-open').click();
  await page.getByTestId('spec-file-path').fill(specPath);
  await page.getByTestId('spec-file-ok').click();
  await page.getByRole('tab', { name: 'Review' }).click();
  const runOn = page.getByTestId('run-on');
  await runOn.getByRole('radio', { name: 'cluster' }).check();
  await runOn.getByTestId('cluster-url').fill('http://not-redis');
  await expect(runOn.getByTestId('cluster-problem')).toContainText('expected as redis://');
  await expect(page.getByTestId('wizard-start')).toBeDisabled();
  await runOn.getByTestId('cluster-url').fill(redis.url);
  await runOn.getByTestId('cluster-check').click();
  await expect(runOn.getByTestId('cluster-node-agent-a')).toBeVisible();
  await expect(runOn.getByTestId('cluster-nodes')).toContainText('1 agent(s); the job needs 2');
  await expect(page.getByTestId('wizard-start')).toBeEnabled();
  await page.getByTestId('wizard-start').click();
  await expect(page.getByTestId('wizard-starting')).toContainText(
    'waiting for 2 agent(s) of the cluster to take the job',
  );
  await expect(page.getByTestId('wizard-start')).toBeDisabled();
  await startAgent(redis.url, 'agent-b', path.join(scratch, 'agents'));

  await expect(page.getByTestId('run-view')).toBeVisible();
  const panel = page.getByTestId('nodes-panel');
  await expect(panel.getByTestId('node-name')).toHaveText([/agent-[ab]/, /agent-[ab]/]);
  const names = await panel.getByTestId('node-name').allTextContents();
  expect(names.sort()).toEqual(['agent-a', 'agent-b']);
  for (const id of ['0', '1']) {
    const agent = (await panel.getByTestId(`node-${id}`).getByTestId('node-name').textContent())!;
    const worker = (await panel.getByTestId(`node-${id}`).getByTestId('node-workers').textContent())!;
    const terminal = page.locator(`.term-panel[data-node="${id}"]`).getByTestId(`terminal-${worker}`);
    await terminal.scrollIntoViewIfNeeded();
    await expect(terminal).toContainText(`on node ${id} of ${agent}`);
  }
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible();
  await expect(page.getByTestId('batches-done')).toHaveText('4 / 4');
  // A run option, like prs run --cluster: the spec file never holds it.
  expect(readFileSync(specPath, 'utf8')).not.toContain('redis');
});
