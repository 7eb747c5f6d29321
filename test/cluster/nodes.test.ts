// A job on a real cluster: a redis-server of the test's own, agents as `prs agent` processes,
// real workers. Every input's line is in the output exactly once, whatever happened to the nodes.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, DEBIAN_PYTHON, nodeJob, prs, startPrs, tempDir, writeFiles } from '../helpers';
import { clusterJob, expectedInputs, marksOn, readOutput, useCluster, waitFor } from './kit';

const cluster = useCluster();

function runOnCluster(spec: string, url: string, extra: string[] = []) {
  const child = startPrs(['run', spec, '--cluster', url, '--json', ...extra]);
  return { child, result: collect(child) };
}

describe('prs run --cluster', () => {
  it('runs a 3-node job on three agents with every output line exactly once', async () => {
    const redis = await cluster.redis();
    await cluster.agents(redis.url, ['n1', 'n2', 'n3'], 2);
    // The barrier: every worker of the three nodes begins a mini-batch before any goes on.
    const job = clusterJob({ files: 30, delayMs: 200, nodeCount: 3, barrier: true });
    const r = await runOnCluster(job.spec, redis.url).result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.status).toBe('completed');
    expect(r.json!.mini_batches).toEqual({ total: 30, succeeded: 30, failed: 0 });
    const out = readOutput(r.json!.output_file!);
    expect(out.duplicates).toEqual([]);
    expect(out.inputs).toEqual(expectedInputs(30));
    // Every node ran some of it, and nothing ran here.
    expect([...out.nodes.keys()].sort()).toEqual(['n1', 'n2', 'n3']);
    // One node id per agent, each with its own log folder.
    const master = readFileSync(path.join(r.json!.run_dir, 'logs/sys/master_role.txt'), 'utf8');
    const seats = [...master.matchAll(/Node (\d) runs on agent (n\d)/g)].map((m) => `${m[1]}=${m[2]}`);
    expect(seats.map((x) => x.split('=')[0]).sort()).toEqual(['0', '1', '2']);
    expect(seats.map((x) => x.split('=')[1]).sort()).toEqual(['n1', 'n2', 'n3']);
    for (const id of ['0', '1', '2'])
      expect(readFileSync(path.join(r.json!.run_dir, `logs/sys/node/${id}/_main.txt`), 'utf8')).toMatch(
        /process\d{3} starts/,
      );
  });

  it('reruns the mini-batches of an agent SIGKILLed mid-run elsewhere, says the node was lost, and completes exactly once', async () => {
    const redis = await cluster.redis();
    const agents = await cluster.agents(redis.url, ['k1', 'k2', 'victim'], 2);
    // The barrier: the victim's workers are running before the others can take the whole plan.
    const job = clusterJob({ files: 60, delayMs: 150, nodeCount: 3, barrier: true });
    const { result } = runOnCluster(job.spec, redis.url);
    await waitFor(
      'the victim to run mini-batches',
      () => (marksOn(job, 'victim') >= 3 ? true : undefined),
      60_000,
    );
    agents[2]!.child.kill('SIGKILL');
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 60, succeeded: 60, failed: 0 });
    const out = readOutput(r.json!.output_file!);
    expect(out.duplicates).toEqual([]);
    expect(out.inputs).toEqual(expectedInputs(60));
    const logs = path.join(r.json!.run_dir, 'logs/sys');
    const master = readFileSync(path.join(logs, 'master_role.txt'), 'utf8');
    const lost =
      /Node (\d) was lost: agent victim \(.*\) sent no heartbeat for 2 s and was taken for lost at (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(
        master,
      );
    expect(lost, master).not.toBeNull();
    const [, nodeId, at] = lost!;
    // Its workers' mini-batches in flight were failed attempts (node-lost), retried on another node.
    expect(master).toMatch(
      new RegExp(`was running mini-batch \\d+ on node ${nodeId} when it was lost: .*; retrying`),
    );
    const main = readFileSync(path.join(logs, `node/${nodeId}/_main.txt`), 'utf8');
    expect(main).toContain(`node ${nodeId} was lost: agent victim`);
    expect(main).toContain(at);
    expect(main).toMatch(/exits with returncode -9 \(its agent victim was lost at /);
    expect(r.stderr).toMatch(/Node \d was lost: agent victim/);
    // The lost node's -9s are the leader's account of the loss: no signal-9 finding about memory.
    const summary = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8')).summary;
    expect(summary.findings.map((f: { title: string }) => f.title)).not.toContainEqual(
      expect.stringMatching(/signal 9/),
    );
  });

  it("runs a Python entry script on agents too, with its logs in each node's folders", async () => {
    const redis = await cluster.redis();
    await cluster.agents(redis.url, ['p1', 'p2'], 1);
    const dir = tempDir('prs-cluster-py-');
    // Each agent's worker leaves a marker as it begins a mini-batch and none goes on until both
    // have (50 s at most): a slow-starting interpreter on one agent cannot leave it without work.
    const barrier = path.join(dir, 'barrier');
    writeFiles(dir, {
      'barrier/.keep': '',
      'src/score.py': [
        'import os, sys, time',
        `BARRIER = ${JSON.stringify(barrier)}`,
        'def init():',
        '    print("init on", os.environ.get("PRS_AGENT_NAME"), file=sys.stderr)',
        'def run(mini_batch):',
        '    open(os.path.join(BARRIER, os.environ["PRS_AGENT_NAME"]), "w").close()',
        '    until = time.time() + 50',
        '    while len([f for f in os.listdir(BARRIER) if f != ".keep"]) < 2 and time.time() < until:',
        '        time.sleep(0.05)',
        '    time.sleep(0.3)',
        '    return [os.path.basename(f) + " " + os.environ["PRS_AGENT_NAME"] for f in mini_batch]',
        '',
      ].join('\n'),
      ...Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`data/f${String(i).padStart(4, '0')}.txt`, `${i}\n`]),
      ),
    });
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'cluster-py',
        entry_script: 'score.py',
        source_directory: './src',
        python: DEBIAN_PYTHON,
        inputs: [{ path: './data', type: 'files' }],
        mini_batch_size: 1,
        node_count: 2,
        process_count_per_node: 1,
      }),
    );
    const r = await runOnCluster(spec, redis.url).result;
    expect(r.code, r.stderr).toBe(0);
    const out = readOutput(r.json!.output_file!);
    expect(out.duplicates).toEqual([]);
    expect(out.inputs).toEqual(expectedInputs(8));
    expect([...out.nodes.keys()].sort()).toEqual(['p1', 'p2']);
    // The worker's stderr reached the leader's log tree, under its node.
    const stderrs = ['0', '1'].map((id) => {
      const folder = path.join(r.json!.run_dir, 'logs/user/stderr', id);
      return readdirSync(folder)
        .map((f) => readFileSync(path.join(folder, f), 'utf8'))
        .join('');
    });
    expect(stderrs.join('')).toMatch(/init on p1/);
    expect(stderrs.join('')).toMatch(/init on p2/);
  });

  it('applies the per-node init() rule on each agent node, then fails the job for want of workers', async () => {
    const redis = await cluster.redis();
    await cluster.agents(redis.url, ['i1', 'i2'], 1);
    const dir = tempDir('prs-cluster-init-');
    const spec = nodeJob(dir, {
      name: 'cluster-init',
      script: `export function init() { throw new Error('no model on ' + process.env.PRS_AGENT_NAME); }\nexport function run(b) { return b; }\n`,
      files: 4,
      spec: { node_count: 2, process_count_per_node: 1 },
    });
    const r = await runOnCluster(spec, redis.url).result;
    expect(r.code, r.stderr).toBe(42);
    const master = readFileSync(path.join(r.json!.run_dir, 'logs/sys/master_role.txt'), 'utf8');
    for (const id of ['0', '1'])
      expect(master).toContain(
        `(3 × process_count_per_node = 3): no new processes will be started on node ${id}.`,
      );
    expect(master).toMatch(/no model on i1/);
    expect(master).toMatch(/no model on i2/);
    expect(r.json!.reason).toMatch(/no worker process is left/);
  });

  it('fails with a clear message and exit 42 when too few agents join in time', async () => {
    const redis = await cluster.redis();
    await cluster.agent(redis.url, 'only', 1);
    const job = clusterJob({ files: 4, delayMs: 0, nodeCount: 2 });
    const r = await runOnCluster(job.spec, redis.url, ['--cluster-wait', '2']).result;
    expect(r.stderr).toMatch(/Waiting for 2 node\(s\) at redis:\/\/127\.0\.0\.1:\d+: 1 joined \(only\)/);
    expect(r.code, r.stderr).toBe(42);
    expect(r.json!.status).toBe('failed');
    expect(r.json!.reason).toMatch(/only 1 of the 2 node\(s\) the job needs \(node_count: 2\) had joined/);
    const result = readFileSync(path.join(r.json!.run_dir, 'logs/job_result.txt'), 'utf8');
    expect(result).toMatch(/only 1 of the 2 node\(s\)/);
    expect(marksOn(job, 'only')).toBe(0);
  });

  it('refuses a cluster where no Redis answers with exit 2, naming the URL', async () => {
    const { freePort } = await import('../../src/engine/cluster/localRedis');
    const url = `redis://127.0.0.1:${await freePort()}`;
    const job = clusterJob({ files: 2, delayMs: 0, nodeCount: 1 });
    const r = await runOnCluster(job.spec, url, ['--cluster-wait', '1']).result;
    expect(r.code).toBe(2);
    expect(r.json!.reason).toContain(`--cluster: no Redis answered at ${url} within --cluster-wait`);
    const status = await prs(['cluster', 'status', '--cluster', url]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain(`--cluster: no Redis answered at ${url}`);
  });

  it('refuses a cluster URL that is not redis:// with exit 2', async () => {
    const job = clusterJob({ files: 2, delayMs: 0, nodeCount: 1 });
    const r = await runOnCluster(job.spec, 'http://127.0.0.1:1').result;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--cluster: "http:\/\/127\.0\.0\.1:1" uses http:\/\/ \(expected redis:\/\/ or rediss:\/\/\)/,
    );
  });

  it("gives an agent's workers their share of the agent's cores for math libraries' threads", async () => {
    const redis = await cluster.redis();
    await cluster.agent(redis.url, 'threads', 2);
    const dir = tempDir();
    const spec = nodeJob(dir, {
      script: `export function run(b) { return b.map(() => [process.env.OMP_NUM_THREADS, process.env.OPENBLAS_NUM_THREADS, process.env.MKL_NUM_THREADS].join(' ')); }\n`,
      files: 4,
    });
    const r = await runOnCluster(spec, redis.url).result;
    expect(r.code, r.stderr).toBe(0);
    const share = String(Math.max(1, Math.floor(os.availableParallelism() / 2)));
    const lines = readFileSync(r.json!.output_file!, 'utf8').trim().split('\n');
    expect(new Set(lines)).toEqual(new Set([`${share} ${share} ${share}`]));
  });
});
