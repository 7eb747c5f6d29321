// Each mini-batch attempt of a cluster run is a BullMQ job on its remote worker's own run queue,
// with the deterministic id `<session>.<batch>.<attempt>`. Real redis-server, real BullMQ queues,
// real agents and workers: the queues are read (and, for reconciliation, changed) in Redis itself.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { PREFIX } from '../../src/engine/cluster/settings';
import { attemptJobId } from '../../src/engine/cluster/wire';
import { collect, startPrs } from '../helpers';
import { clusterJob, expectedInputs, marksOn, readOutput, sleep, useCluster, waitFor } from './kit';

const clients: Array<{ close(): Promise<unknown> }> = [];

const cluster = useCluster();
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
});

function client(port: number): Redis {
  const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
  clients.push({ close: () => r.quit() });
  return r;
}

function queue(name: string, port: number): Queue {
  const q = new Queue(name, { connection: { host: '127.0.0.1', port }, prefix: PREFIX });
  clients.push(q);
  return q;
}

/** Every run queue in Redis (`run-<session>-<process>`) with the ids of its jobs in `state`. */
async function runQueues(r: Redis, state: 'completed' | 'active'): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const suffix = state === 'completed' ? 'completed' : 'active';
  for (const key of await r.keys(`${PREFIX}:run-*:${suffix}`)) {
    const name = key.slice(PREFIX.length + 1, -(suffix.length + 1));
    const ids = state === 'completed' ? await r.zrange(key, 0, -1) : await r.lrange(key, 0, -1);
    out.set(name, ids);
  }
  return out;
}

describe('mini-batch attempts as BullMQ jobs', () => {
  it("re-adding a mini-batch attempt's job id is a no-op: one job, the first one's data", async () => {
    const redis = await cluster.redis();
    const q = queue('run-s1-process000', redis.port);
    const id = attemptJobId('s1', 7, 1);
    expect(id).toBe('s1.7.1');
    await q.add('run', { seq: 0, first: true }, { jobId: id, attempts: 1 });
    await q.addBulk([{ name: 'run', data: { seq: 0, first: false }, opts: { jobId: id, attempts: 1 } }]);
    await q.add('run', { seq: 0, first: false }, { jobId: id, attempts: 1 });
    expect(await q.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({
      waiting: 1,
      active: 0,
      completed: 0,
      failed: 0,
    });
    expect((await Job.fromId(q, id))!.data).toEqual({ seq: 0, first: true });
    // The next attempt of the same mini-batch is another job.
    await q.add('run', { seq: 1 }, { jobId: attemptJobId('s1', 7, 2), attempts: 1 });
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 2 });
  });

  it('a cluster run leaves one completed job per attempt, named <session>.<batch>.<attempt>, on each worker’s queue', async () => {
    const redis = await cluster.redis();
    await cluster.agent(redis.url, 'j1', 2);
    // The barrier: both workers begin a mini-batch before either goes on, so each has a queue with
    // completed jobs (one could otherwise take all twelve before the other was ready).
    const job = clusterJob({ files: 12, delayMs: 20, nodeCount: 1, barrier: true });
    const r = await collect(startPrs(['run', job.spec, '--cluster', redis.url, '--json']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 12, succeeded: 12, failed: 0 });

    const queues = await runQueues(client(redis.port), 'completed');
    // One queue per remote worker of the session: run-<session>-<process>.
    expect(queues.size).toBe(2);
    const batches: number[] = [];
    for (const [name, ids] of queues) {
      const m = /^run-(.+)-(process\d{3})$/.exec(name);
      expect(m, name).not.toBeNull();
      const session = m![1]!;
      const q = queue(name, redis.port);
      for (const id of ids) {
        const parts = new RegExp(`^${session.replace(/[.]/g, '\\.')}\\.(\\d+)\\.(\\d+)$`).exec(id);
        expect(parts, id).not.toBeNull();
        expect(parts![2]).toBe('1');
        batches.push(Number(parts![1]));
        const done = (await Job.fromId(q, id))!;
        expect(done.returnvalue).toBe('done');
        expect(done.data.batch.id).toBe(Number(parts![1]));
      }
    }
    expect(batches.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('an attempt whose job fails in Redis while the leader waits on it is retried, and the run completes exactly once', async () => {
    const redis = await cluster.redis();
    await cluster.agent(redis.url, 'rc', 1);
    const job = clusterJob({ files: 3, delayMs: 4000, nodeCount: 1, processes: 1 });
    const result = collect(startPrs(['run', job.spec, '--cluster', redis.url, '--json']));
    await waitFor('a mini-batch to start', () => (marksOn(job, 'rc') >= 1 ? true : undefined), 60_000);
    const r0 = client(redis.port);
    // The worker's queue and its first attempt, taken (active) and running now.
    let active: [string, string[]] | undefined;
    for (let i = 0; i < 300 && !active; i++) {
      const [first] = await runQueues(r0, 'active');
      if (first && first[1].length > 0) active = first;
      else await sleep(100);
    }
    expect(active, 'an active run queue').toBeDefined();
    const [name, ids] = active!;
    const session = /^run-(.+)-process\d{3}$/.exec(name)![1]!;
    const id = attemptJobId(session, 0, 1);
    expect(ids).toContain(id);
    // Failed as BullMQ fails a stalled job, with the agent's lock: its agent never reports it.
    const q = queue(name, redis.port);
    const token = (await r0.get(`${PREFIX}:${name}:${id}:lock`))!;
    expect(token).toBeTruthy();
    await (await Job.fromId(q, id))!.moveToFailed(new Error('failed by the test'), token);

    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.mini_batches).toEqual({ total: 3, succeeded: 3, failed: 0 });
    const out = readOutput(r.json!.output_file!);
    expect(out.duplicates).toEqual([]);
    expect(out.inputs).toEqual(expectedInputs(3));
    const main = readFileSync(path.join(r.json!.run_dir, 'logs/sys/node/0/_main.txt'), 'utf8');
    expect(main).toContain(`the BullMQ job ${id} of mini-batch 0 on `);
    expect(main).toContain('failed: failed by the test');
    // Its retry is the next attempt's job, on the replacement worker's queue.
    const done = [...(await runQueues(r0, 'completed')).values()].flat();
    expect(done).toContain(attemptJobId(session, 0, 2));
  });
});
