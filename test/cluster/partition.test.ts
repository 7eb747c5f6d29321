// An agent cut off by a network partition: it runs in a network namespace joined to this one by a
// veth pair, and the test takes the link down, then up again. Its heartbeat lapses, the leader takes
// it for lost and reruns its work elsewhere; when the link is back, what it sends late is dropped and
// the agent, finding itself written off, stops its workers and joins again. Needs root (ip netns);
// without it the test says why it skips.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalRedis } from '../../src/engine/cluster/localRedis';
import { collect, startPrs, tempDir } from '../helpers';
import { clusterJob, type ClusterJob, expectedInputs, marksOn, readOutput, useCluster, waitFor } from './kit';

const suffix = String(process.pid % 10000);
const NS = `prs-part-${suffix}`;
const HOST_IF = `vh${suffix}`;
const NS_IF = `va${suffix}`;
const subnet = 100 + (process.pid % 100);
const HOST_IP = `10.213.${subnet}.1`;
const NS_IP = `10.213.${subnet}.2`;
// Redis accepts a non-loopback client only with a password (protected mode).
const PASSWORD = 'partition';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Why this machine cannot run the test, or null when it can. */
function cannotPartition(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace (ip netns)';
  try {
    ip('netns', 'add', `${NS}-probe`);
    ip('netns', 'del', `${NS}-probe`);
    return null;
  } catch (err) {
    return `ip netns is not usable here: ${(err as Error).message.split('\n')[0]}`;
  }
}

const why = cannotPartition();
if (why) console.warn(`test/cluster/partition.test.ts skipped: ${why}`);

function setUpNamespace(): void {
  ip('netns', 'add', NS);
  ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
  ip('link', 'set', NS_IF, 'netns', NS);
  ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
  ip('link', 'set', HOST_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
  ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
  ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
}

function tearDownNamespace(): void {
  try {
    ip('link', 'del', HOST_IF);
  } catch {
    // Gone with the namespace already.
  }
  try {
    ip('netns', 'del', NS);
  } catch {
    // Never made.
  }
}

function masterRole(job: ClusterJob): string {
  const base = path.join(job.runsDir, 'cluster-job');
  if (!existsSync(base)) return '';
  const file = path.join(base, readdirSync(base).sort().pop()!, 'logs/sys/master_role.txt');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

describe.skipIf(why !== null)('an agent cut off by a network partition', () => {
  // Registered first, so it runs after the cluster's own clean-up (the last registered runs first).
  afterEach(() => tearDownNamespace());
  const cluster = useCluster();

  it('has its work moved on, and its late results discarded', async () => {
    setUpNamespace();
    const redis = await startLocalRedis(tempDir('prs-redis-'), undefined, {
      bind: ['127.0.0.1', HOST_IP],
      password: PASSWORD,
    });
    cluster.adopt(redis);
    // Inside the namespace, reaching Redis over the veth link only.
    const cut = await cluster.agent(`redis://:${PASSWORD}@${HOST_IP}:${redis.port}`, 'cut', 2, { netns: NS });
    await cluster.agents(redis.url, ['near', 'spare'], 2);
    // Inputs from 40 on wait for the go file, made once the agent has rejoined: the others could
    // otherwise finish the job before it comes back (CI saw it once), and its rejoining would go unseen.
    const job = clusterJob({ files: 60, delayMs: 200, nodeCount: 2, holdFrom: 40 });
    const child = startPrs(['run', job.spec, '--cluster', redis.url, '--json']);
    const result = collect(child);
    await waitFor(
      'the cut-off agent to run mini-batches',
      () => (marksOn(job, 'cut') >= 3 ? true : undefined),
      60_000,
    );
    ip('link', 'set', HOST_IF, 'down');
    await waitFor(
      'the leader to take the agent for lost',
      () => (/agent cut \(.*\) sent no heartbeat .* taken for lost/.test(masterRole(job)) ? true : undefined),
      30_000,
    );
    // Its workers ran on meanwhile: their results are on their way, late.
    const ranBeforeReturn = marksOn(job, 'cut');
    ip('link', 'set', HOST_IF, 'up');
    await waitFor(
      'the agent to find itself written off',
      () => (/the cluster took this node for lost/.test(cut.log()) ? true : undefined),
      30_000,
    );
    await waitFor(
      'the agent to rejoin',
      () => (/Agent cut \(.*\) rejoined the cluster/.test(masterRole(job)) ? true : undefined),
      30_000,
    );
    writeFileSync(job.goFile, '');
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 60, succeeded: 60, failed: 0 });
    const out = readOutput(r.json!.output_file!);
    expect(out.duplicates).toEqual([]);
    expect(out.inputs).toEqual(expectedInputs(60));
    // Fewer of its lines were committed than it ran: what came after the partition was dropped.
    expect(out.nodes.get('cut') ?? 0).toBeLessThan(ranBeforeReturn);
    expect(masterRole(job)).toMatch(/Agent cut \(.*\) rejoined the cluster/);
    // Longer than its waits together (60 + 3 × 30 s, and the run's end): a wait that gives up says
    // which one it was, where vitest's own limit would only say the test took too long.
  }, 240_000);
});
