// What a cluster run survives besides a lost agent (nodes.test.ts): Redis killed and restarted on
// its AOF, the leader killed and resumed with --cluster, an agent that joins mid-run and one that
// leaves with Ctrl-C. Each ends with every input's line exactly once.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, startPrs } from '../helpers';
import {
  clusterJob,
  type ClusterJob,
  expectedInputs,
  marksOn,
  readOutput,
  sleep,
  useCluster,
  waitFor,
} from './kit';

const cluster = useCluster();

function runOnCluster(spec: string, url: string) {
  const child = startPrs(['run', spec, '--cluster', url, '--json']);
  return { child, result: collect(child) };
}

function allMarks(job: ClusterJob): number {
  return existsSync(job.marksDir) ? readdirSync(job.marksDir).length : 0;
}

function masterRole(job: ClusterJob): string {
  const base = path.join(job.runsDir, 'cluster-job');
  if (!existsSync(base)) return '';
  const file = path.join(base, readdirSync(base).sort().pop()!, 'logs/sys/master_role.txt');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function expectExactlyOnce(outputFile: string, files: number) {
  const out = readOutput(outputFile);
  expect(out.duplicates).toEqual([]);
  expect(out.inputs).toEqual(expectedInputs(files));
  return out;
}

describe('a cluster run survives', () => {
  it('Redis SIGKILLed mid-run and restarted on its AOF', async () => {
    const redis = await cluster.redis();
    await cluster.agents(redis.url, ['r1', 'r2'], 2);
    // Inputs from 20 on wait for the go file, made once Redis is down: work always remains.
    const job = clusterJob({ files: 40, delayMs: 150, nodeCount: 2, holdFrom: 20 });
    const { result } = runOnCluster(job.spec, redis.url);
    await waitFor('mini-batches to run', () => (allMarks(job) >= 6 ? true : undefined), 60_000);
    const { dir, port } = redis;
    await redis.stop('SIGKILL');
    const before = allMarks(job);
    writeFileSync(job.goFile, '');
    await sleep(500);
    await cluster.redis(dir, port);
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 40, succeeded: 40, failed: 0 });
    expectExactlyOnce(r.json!.output_file!, 40);
    // It was killed while work remained, or this test would prove nothing.
    expect(before).toBeLessThan(40);
  });

  it('the leader SIGKILLed: prs resume --cluster re-attaches and completes exactly once', async () => {
    const redis = await cluster.redis();
    const agents = await cluster.agents(redis.url, ['l1', 'l2'], 2);
    const job = clusterJob({ files: 40, delayMs: 150, nodeCount: 2 });
    const { child, result } = runOnCluster(job.spec, redis.url);
    await waitFor('mini-batches to run', () => (allMarks(job) >= 8 ? true : undefined), 60_000);
    child.kill('SIGKILL');
    await result;
    // The agents stop the workers of a leader that is gone.
    await waitFor(
      'the agents to stop the killed leader’s workers',
      () => (agents.every((a) => /the leader of .* is gone/.test(a.log())) ? true : undefined),
      30_000,
    );
    const base = path.join(job.runsDir, 'cluster-job');
    const runDir = path.join(base, readdirSync(base).sort().pop()!);
    const resumed = startPrs(['resume', runDir, '--cluster', redis.url, '--json']);
    const r = await collect(resumed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.status).toBe('completed');
    expect(r.json!.mini_batches).toEqual({ total: 40, succeeded: 40, failed: 0 });
    expectExactlyOnce(r.json!.output_file!, 40);
    expect(readFileSync(path.join(runDir, 'logs/sys/master_role.txt'), 'utf8')).toMatch(
      /Resuming: \d+ mini-batch/,
    );
  });

  it('an agent stops a worker past run_invocation_timeout itself when its leader cannot', async () => {
    const redis = await cluster.redis();
    // The agent's own deadline comes 1 s after the timeout; the leader's key must outlive the test's pause.
    const agents = [await cluster.agent(redis.url, 'alone', 1, { env: { PRS_AGENT_TIMEOUT_GRACE_S: '1' } })];
    const job = clusterJob({ files: 2, delayMs: 60_000, nodeCount: 1, spec: { run_invocation_timeout: 5 } });
    const child = startPrs(['run', job.spec, '--cluster', redis.url, '--json'], {
      env: { PRS_CLUSTER_HEARTBEAT_TTL_S: '60' },
    });
    const result = collect(child);
    await waitFor('a mini-batch to start', () => (marksOn(job, 'alone') >= 1 ? true : undefined), 60_000);
    // A leader that can no longer act (stopped well before the 5 s timeout its pool would enforce).
    child.kill('SIGSTOP');
    try {
      await waitFor(
        'the agent to stop the worker',
        () =>
          /ran past run_invocation_timeout and its leader did not stop it; stopping process\d{3}/.test(
            agents[0]!.log(),
          )
            ? true
            : undefined,
        30_000,
      );
    } finally {
      child.kill('SIGKILL');
      child.kill('SIGCONT');
      await result;
    }
  });

  it('an agent that joins mid-run gets work, and one that leaves with Ctrl-C hands its mini-batches back', async () => {
    const redis = await cluster.redis();
    const agents = await cluster.agents(redis.url, ['stay', 'leave'], 2);
    // The barrier: the leaving agent's workers run before the staying one's can take the plan.
    // Inputs from 20 on wait for a go file of their agent's (the late one has its from the start):
    // the leaving agent's until it has been told to leave, the staying one's until the late agent
    // has begun a mini-batch, so there is always work left for the late agent to get.
    const job = clusterJob({ files: 60, delayMs: 400, nodeCount: 2, barrier: true, holdFrom: 20 });
    writeFileSync(job.goFile + '.late', '');
    const { result } = runOnCluster(job.spec, redis.url);
    await waitFor(
      'the leaving agent to run mini-batches',
      () => (marksOn(job, 'leave') >= 3 ? true : undefined),
      60_000,
    );
    const late = await cluster.agent(redis.url, 'late', 2);
    agents.push(late);
    await waitFor(
      'the leader to see the new node',
      () => (/Agent late \(.*\) joined the cluster/.test(masterRole(job)) ? true : undefined),
      30_000,
    );
    const leaving = agents[1]!;
    leaving.child.kill('SIGINT');
    writeFileSync(job.goFile + '.leave', '');
    expect(await leaving.exited).toBe(0);
    expect(leaving.log()).toMatch(/finishing \d+ worker\(s\)' current mini-batches before leaving/);
    await waitFor(
      'the late agent to begin a mini-batch',
      () => (marksOn(job, 'late') >= 1 ? true : undefined),
      60_000,
    );
    writeFileSync(job.goFile, '');
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 60, succeeded: 60, failed: 0 });
    const out = expectExactlyOnce(r.json!.output_file!, 60);
    expect(out.nodes.get('late') ?? 0).toBeGreaterThan(0);
    // Handed back, not lost: no attempt failed.
    const master = readFileSync(path.join(r.json!.run_dir, 'logs/sys/master_role.txt'), 'utf8');
    expect(master).not.toMatch(/retrying/);
    expect(master).toMatch(/Node \d runs on agent late/);
  });
});
