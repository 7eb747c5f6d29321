// The app's runs on a cluster: a real redis-server of the test's own, two real `prs agent`
// processes, and the host's API as a tab calls it (runs.start with `cluster`, cluster.status).
// The run's nodes reach the host's snapshot and the tab's events as the agents that fill them.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/common/contract';
import type { RunNode } from '../../src/common/events';
import { appendRowFile } from '../../src/common/spec';
import { AppHost, type HostConnection } from '../../src/host/appHost';
import { clusterJob, expectedInputs, marksOn, readOutput, useCluster, waitFor } from './kit';

let host: AppHost | undefined;
let conn: HostConnection | undefined;

const cluster = useCluster();
afterEach(async () => {
  conn?.close();
  await host?.close();
  host = conn = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the app on a cluster', () => {
  it('starts a run with cluster through the API: two cluster nodes named by their agents, then it completes', async () => {
    const redis = await cluster.redis();
    await cluster.agents(redis.url, ['agent-a', 'agent-b'], 1);
    // Every input waits for the go file, made once the tab has seen both nodes live: on a loaded
    // machine the run could otherwise end before this tab opened it, and no live node be seen.
    const job = clusterJob({ files: 8, delayMs: 100, nodeCount: 2, processes: 1, holdFrom: 0 });
    host = new AppHost({ examplesDir: path.join(job.dir, 'examples'), runsDir: job.runsDir });
    const seen: RunNode[] = [];
    conn = host.connect((e: AppEvent) => {
      if (e.type === 'run-events') for (const r of e.events) if (r.type === 'node') seen.push(r.node);
    });

    const status = await conn.call('clusterStatus', { cluster: redis.url });
    expect(status.nodes.map((n) => n.name).sort()).toEqual(['agent-a', 'agent-b']);
    expect(status.nodes.every((n) => n.processes === 1 && n.host.length > 0)).toBe(true);

    const { runId, runDir } = await conn.call('startRun', { specPath: job.spec, cluster: redis.url });
    let snapshot = await conn.call('openRun', { runId });
    // What happened before this tab opened the run is in the snapshot; the rest comes as events.
    seen.push(...snapshot.nodes);
    const liveNames = () => new Set(seen.filter((n) => n.state === 'live').map((n) => n.name));
    for (let i = 0; i < 600 && liveNames().size < 2; i++) await sleep(100);
    writeFileSync(job.goFile, '');
    for (let i = 0; i < 3000 && snapshot.status === 'running'; i++) {
      await sleep(100);
      snapshot = await conn.call('openRun', { runId });
    }
    expect(snapshot.status).toBe('completed');
    expect(snapshot.nodes.map((n) => [n.id, n.agent, n.state])).toEqual([
      ['0', true, 'left'],
      ['1', true, 'left'],
    ]);
    expect(snapshot.nodes.map((n) => n.name).sort()).toEqual(['agent-a', 'agent-b']);
    // The tab saw them live, by their agents' names, while the run ran.
    const live = seen.filter((n) => n.state === 'live');
    expect(new Set(live.map((n) => `${n.id}:${n.name}`)).size).toBe(2);
    expect(new Set(live.map((n) => n.name))).toEqual(new Set(['agent-a', 'agent-b']));
    // Its mini-batches ran on the agents (which of them took how many is the scheduler's affair).
    const out = readOutput(path.join(runDir, appendRowFile(snapshot.spec!)));
    expect(out.inputs).toEqual(expectedInputs(8));
    expect(out.duplicates).toEqual([]);
    for (const node of out.nodes.keys()) expect(['agent-a', 'agent-b']).toContain(node);
  }, 180_000);

  it("shows a SIGKILLed agent's node as lost, then the spare agent that takes its node id, and completes", async () => {
    const redis = await cluster.redis();
    const agents = await cluster.agents(redis.url, ['keep', 'victim'], 1);
    // The barrier: the victim's worker is running before the keeper's can take the whole plan.
    const job = clusterJob({ files: 30, delayMs: 150, nodeCount: 2, processes: 1, barrier: true });
    host = new AppHost({ examplesDir: path.join(job.dir, 'examples'), runsDir: job.runsDir });
    const seen: RunNode[] = [];
    conn = host.connect((e: AppEvent) => {
      if (e.type === 'run-events') for (const r of e.events) if (r.type === 'node') seen.push(r.node);
    });
    const { runId } = await conn.call('startRun', { specPath: job.spec, cluster: redis.url });
    await conn.call('openRun', { runId });
    await waitFor(
      'the victim to run mini-batches',
      () => (marksOn(job, 'victim') >= 2 ? true : undefined),
      60_000,
    );
    // The spare joins only now, so the victim's node id is the one it can take.
    await cluster.agent(redis.url, 'spare', 1);
    agents[1]!.child.kill('SIGKILL');
    const lost = await waitFor(
      "the victim's node to be lost",
      () => seen.find((n) => n.name === 'victim' && n.state === 'lost'),
      60_000,
    );
    await waitFor(
      'the spare to take its node id',
      () => seen.find((n) => n.id === lost.id && n.name === 'spare' && n.state === 'live'),
      60_000,
    );
    let snapshot = await conn.call('openRun', { runId });
    for (let i = 0; i < 3000 && snapshot.status === 'running'; i++) {
      await sleep(100);
      snapshot = await conn.call('openRun', { runId });
    }
    expect(snapshot.status).toBe('completed');
    expect(snapshot.nodes.map((n) => n.name).sort()).toEqual(['keep', 'spare']);
  }, 180_000);

  it('refuses a cluster URL that is not redis:// or rediss://, naming the key, before anything runs', async () => {
    const job = clusterJob({ files: 1, delayMs: 0, nodeCount: 1 });
    host = new AppHost({ examplesDir: path.join(job.dir, 'examples'), runsDir: job.runsDir });
    conn = host.connect(() => undefined);
    for (const cluster of ['http://user:secret@host:6379', 'host:6379', '']) {
      const refused = conn.call('startRun', { specPath: job.spec, cluster });
      await expect(refused).rejects.toThrow(
        /^startRun: cluster: expected redis:\/\/\[user:pass@\]host:port or rediss:\/\//,
      );
      await expect(refused).rejects.toMatchObject({ name: 'BadRequest' });
      // The URL may hold a password: the refusal never repeats it.
      await expect(refused).rejects.not.toThrow(/secret/);
    }
    await expect(conn.call('clusterStatus', { cluster: 'ftp://h' })).rejects.toThrow(
      /^clusterStatus: cluster: expected redis:/,
    );
    expect(await conn.call('listRuns', {})).toEqual([]);
  });
});
