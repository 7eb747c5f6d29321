// Every ParallelRunStep rule the leader applies, in-process: real scheduler, pools, journal and
// log files; fake workers (fakes.ts) and a fake clock, so "after 2 minutes" or "3 × timeout + 30 s"
// takes milliseconds. test/engine/faults.test.ts and thresholds.test.ts keep the same rules
// covered end to end through the CLI with real processes.

import { describe, expect, it } from 'vitest';
import type { LeaderMessage } from '../../src/common/protocol';
import { healthy, settle, type Behaviour } from './fakes';
import { startLeader } from './harness';

/** Workers that stay in init() until the test says. */
const waitInInit: Behaviour = (w, m) => {
  if (m.t === 'run') for (const b of m.batches) w.complete(b);
  if (m.t === 'stop') w.exit(0);
};

const initFails: Behaviour = (w, m) => {
  if (m.t === 'init') w.initFail();
};

function batchesOf(m: LeaderMessage): number[] {
  return m.t === 'run' ? m.batches.map((b) => b.id) : [];
}

describe('init() rules', () => {
  it('on one node: after 3 × process_count_per_node failures no process starts there; the job fails when none is left', async () => {
    const h = await startLeader({ spec: { process_count_per_node: 2 } });
    h.launcher.behaviour = initFails;
    h.leader.start();
    await settle(20);
    const summary = await h.finished();
    expect(summary.status).toBe('failed');
    // 2 first, then replacements while the budget (3 × 2 = 6) allows: never a 7th.
    expect(h.launcher.workers).toHaveLength(6);
    const master = await h.masterLog();
    expect(master).toContain('(3 × process_count_per_node = 6): no new processes will be started on node 0.');
    expect(summary.reason).toBe(
      'init() failed 6 time(s); no worker process is left to run the remaining mini-batches.',
    );
    expect(summary.exit_code).toBe(42);
  });

  it('per node with several nodes: a node whose init() keeps failing stops starting, the others finish the job', async () => {
    const h = await startLeader({ spec: { node_count: 3, process_count_per_node: 2 }, batches: 12 });
    // Node 1's workers (those with PRS_NODE_ID 1) fail init(); the others are healthy.
    h.launcher.behaviour = (w, m) => (w.options.env.PRS_NODE_ID === '1' ? initFails : healthy)(w, m);
    h.leader.start();
    await settle(30);
    const summary = await h.finished();
    expect(summary.status).toBe('completed');
    expect(summary.mini_batches).toEqual({ total: 12, succeeded: 12, failed: 0 });
    const onNode1 = h.launcher.workers.filter((w) => w.options.env.PRS_NODE_ID === '1');
    expect(onNode1).toHaveLength(6);
    const master = await h.masterLog();
    expect(master).toContain('no new processes will be started on node 1.');
    expect(master).not.toContain('started on node 0');
    expect(await h.mainLog('1')).toContain('no new processes will be started on node 1.');
    // Every mini-batch ran on node 0 or 2, exactly once.
    const rows = h.journal.state().succeeded;
    expect(rows.size).toBe(12);
  });

  it('for the job: after 2 minutes, 2 × node_count × process_count_per_node failures fail it', async () => {
    const h = await startLeader({
      spec: { node_count: 2, process_count_per_node: 1, run_invocation_timeout: 600 },
    });
    h.launcher.behaviour = waitInInit;
    h.leader.start();
    await settle();
    // Before 2 minutes, 4 failures (2 per node, under the per-node 3) only replace workers.
    const failOneEach = async () => {
      for (const w of h.launcher.alive()) w.initFail();
      await settle(10);
    };
    await failOneEach();
    await failOneEach();
    expect(h.leader.state).toBe('running');
    await h.clock.advance(121_000);
    expect(h.leader.state).toBe('running');
    // The job-wide limit is 2 × 2 × 1 = 4: the next failure, past 2 minutes, fails the job.
    h.launcher.alive()[0]!.initFail();
    await settle(10);
    const summary = await h.finished();
    expect(summary.status).toBe('failed');
    expect(summary.reason).toBe(
      'init() failed 5 times and the job has run for over 2 minutes (limit: 2 × node_count × process_count_per_node = 4).',
    );
  });

  it('no progress: every worker stuck in init() past 3 × run_invocation_timeout + 30 s fails the job (the CLI test takes 33 s)', async () => {
    const h = await startLeader({ spec: { run_invocation_timeout: 1, process_count_per_node: 2 } });
    h.launcher.behaviour = waitInInit;
    h.leader.start();
    await h.clock.advance(33_000);
    expect(h.leader.state).toBe('running');
    await h.clock.advance(1_000);
    const summary = await h.finished();
    expect(summary.reason).toBe(
      'No progress: every worker was stuck in init() for more than 3 × run_invocation_timeout + 30 seconds.',
    );
    expect(summary.findings.map((f) => f.title)).toContain('Every worker is stuck in init()');
  });

  it('one worker past init() is progress: the others stuck in it do not fail the job', async () => {
    const h = await startLeader({ spec: { run_invocation_timeout: 1, process_count_per_node: 2 } });
    h.launcher.behaviour = waitInInit;
    h.leader.start();
    await settle();
    h.launcher.workers[0]!.ready();
    await h.clock.advance(60_000);
    const summary = await h.finished();
    expect(summary.status).toBe('completed');
  });
});

describe('attempts and timeouts', () => {
  it('run_invocation_timeout: a run() past it is stopped, its worker replaced, the attempt retried', async () => {
    const h = await startLeader({
      spec: { run_invocation_timeout: 10, run_max_try: 2, process_count_per_node: 1 },
      batches: 1,
    });
    let hung = false;
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'run' && !hung) return void (hung = true); // the first attempt never returns
      healthy(w, m);
    };
    h.leader.start();
    await h.clock.advance(10_000);
    expect(h.launcher.workers[0]!.killedWith).toEqual([]);
    await h.clock.advance(400);
    expect(h.launcher.workers[0]!.killedWith).toEqual(['SIGKILL']);
    const summary = await h.finished();
    expect(summary.status).toBe('completed');
    expect(h.launcher.workers.map((w) => w.name)).toEqual(['process000', 'process001']);
    const attempts = h.events.filter((e) => e.type === 'attempt' && e.status !== 'running');
    expect(attempts.map((e) => e.type === 'attempt' && [e.attempt, e.status, e.process])).toEqual([
      [1, 'timeout', 'process000'],
      [2, 'succeeded', 'process001'],
    ]);
    expect(await h.masterLog()).toContain(
      'mini-batch 0 on process000 exceeded run_invocation_timeout (10 s)',
    );
  });

  it('run_max_try: a failing mini-batch gets exactly that many attempts, then counts as failed', async () => {
    const h = await startLeader({ spec: { run_max_try: 3, process_count_per_node: 1 }, batches: 2 });
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'run')
        for (const b of m.batches) {
          if (b.id === 1) w.fail(b);
          else w.complete(b);
        }
      else healthy(w, m);
    };
    h.leader.start();
    const summary = await h.finished();
    expect(summary.mini_batches).toEqual({ total: 2, succeeded: 1, failed: 1 });
    const tries = h.launcher.workers.flatMap((w) => w.sent.flatMap(batchesOf)).filter((id) => id === 1);
    expect(tries).toHaveLength(3);
    expect(await h.masterLog()).toContain('mini-batch 1 failed after 3 attempt(s): ValueError');
  });

  it('a worker that dies mid-batch fails that attempt as crashed, and the next process number replaces it', async () => {
    const h = await startLeader({ spec: { process_count_per_node: 1 }, batches: 2 });
    let crashed = false;
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'run' && !crashed) return void ((crashed = true), w.exit(3));
      healthy(w, m);
    };
    h.leader.start();
    const summary = await h.finished();
    expect(summary.status).toBe('completed');
    expect(await h.mainLog('0')).toMatch(/process000 exits with returncode 3\.[\s\S]*process001 starts/);
    const crash = h.events.find((e) => e.type === 'attempt' && e.status === 'crashed');
    expect(crash).toMatchObject({
      process: 'process000',
      error: 'ProcessExited: process000 exited with code 3 while running mini-batch 0.',
    });
  });

  it('--first_task_creation_timeout: no mini-batch created in time fails the job', async () => {
    const h = await startLeader({
      stalledPlan: true,
      spec: { arguments: ['--first_task_creation_timeout', '5'] },
    });
    h.leader.start();
    await h.clock.advance(5_000);
    expect(h.leader.state).toBe('running');
    await h.clock.advance(400);
    const summary = await h.finished();
    expect(summary.reason).toBe('No mini-batch was created within --first_task_creation_timeout (5 s).');
  });

  it('--progress_update_timeout: mini-batches running and none finishing fails the job', async () => {
    const h = await startLeader({
      spec: { arguments: ['--progress_update_timeout', '20'], run_invocation_timeout: 600 },
    });
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'init') w.ready();
    };
    h.leader.start();
    await h.clock.advance(20_000);
    expect(h.leader.state).toBe('running');
    await h.clock.advance(400);
    const summary = await h.finished();
    expect(summary.reason).toBe('No progress within --progress_update_timeout (20 s).');
  });
});

describe('thresholds', () => {
  const failing =
    (ids: number[]): Behaviour =>
    (w, m) => {
      if (m.t === 'run')
        for (const b of m.batches) {
          if (ids.includes(b.id)) w.fail(b);
          else w.complete(b);
        }
      else healthy(w, m);
    };

  it('error_threshold: at the limit completes, one above fails and says so', async () => {
    const at = await startLeader({ spec: { error_threshold: 2, run_max_try: 1 }, batches: 6 });
    at.launcher.behaviour = failing([1, 4]);
    at.leader.start();
    expect((await at.finished()).status).toBe('completed');
    const above = await startLeader({
      spec: { error_threshold: 1, run_max_try: 1, process_count_per_node: 1 },
      batches: 6,
    });
    above.launcher.behaviour = failing([1, 4]);
    above.leader.start();
    const summary = await above.finished();
    expect(summary.reason).toBe('error_threshold exceeded: 2 failed item(s), more than the 1 allowed.');
    expect(summary.findings[0]).toMatchObject({ kind: 'threshold', miniBatchId: 1 });
  });

  it('allowed_failed_count: one failed mini-batch too many fails the job, and the rest is not attempted', async () => {
    const h = await startLeader({
      spec: { allowed_failed_count: 0, run_max_try: 1, process_count_per_node: 1 },
      batches: 6,
    });
    h.launcher.behaviour = failing([0]);
    h.leader.start();
    const summary = await h.finished();
    expect(summary.reason).toBe(
      'allowed_failed_count exceeded: 1 failed mini-batch(es), more than the 0 allowed.',
    );
    expect(summary.mini_batches.succeeded).toBeLessThan(5);
  });

  it('allowed_failed_percent: 20% of 5 mini-batches is allowed at 20, not at 19', async () => {
    for (const [percent, status] of [
      [20, 'completed'],
      [19, 'failed'],
    ] as const) {
      const h = await startLeader({ spec: { allowed_failed_percent: percent, run_max_try: 1 }, batches: 5 });
      h.launcher.behaviour = failing([2]);
      h.leader.start();
      expect((await h.finished()).status).toBe(status);
    }
  });
});

describe('the worker pool', () => {
  it('GPU hand-over: 2 GPUs, 4 processes; a stopped one hands its index to the next started', async () => {
    const h = await startLeader({ spec: { process_count_per_node: 4 }, gpus: [0, 1], batches: 8 });
    let crashed = false;
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'run' && w.name === 'process000' && !crashed) return void ((crashed = true), w.exit(1));
      healthy(w, m);
    };
    h.leader.start();
    await h.finished();
    const gpu = (name: string) => h.launcher.named(name).options.env.CUDA_VISIBLE_DEVICES;
    expect(['process000', 'process001', 'process002', 'process003', 'process004'].map(gpu)).toEqual([
      '0',
      '1',
      undefined,
      undefined,
      '0',
    ]);
  });

  it("a line from a worker that is no message is that worker's protocol error: it is replaced, the job goes on", async () => {
    const h = await startLeader({ spec: { process_count_per_node: 1, run_max_try: 2 }, batches: 2 });
    let broke = false;
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'run' && !broke)
        return void ((broke = true), w.badLine('a line that is not JSON ("oops")'));
      healthy(w, m);
    };
    h.leader.start();
    const summary = await h.finished();
    expect(summary.status).toBe('completed');
    expect(await h.masterLog()).toContain(
      'process000 on node 0 broke the worker protocol: a line that is not JSON ("oops"); process000 is stopped and replaced.',
    );
    const failed = h.events.find((e) => e.type === 'attempt' && e.status === 'crashed');
    expect(failed).toMatchObject({ process: 'process000', error: expect.stringContaining('ProtocolError') });
  });
});

describe('short returns, resumes and the end of a job', () => {
  /** run() returns one element fewer than it was given for mini-batch 1. */
  const shortOnOne: Behaviour = (w, m) => {
    if (m.t === 'run')
      for (const b of m.batches) {
        if (b.id === 1) w.complete(b, b.items - 1);
        else w.complete(b);
      }
    else healthy(w, m);
  };

  it('a short return fails its mini-batch once, without a retry, unless error_threshold is -1', async () => {
    const strict = await startLeader({ spec: { error_threshold: 10, mini_batch_size: 1 }, batches: 3 });
    strict.launcher.behaviour = shortOnOne;
    strict.leader.start();
    const s = await strict.finished();
    expect(s.mini_batches).toEqual({ total: 3, succeeded: 2, failed: 1 });
    const runs = strict.launcher.workers.flatMap((w) => w.sent.flatMap(batchesOf)).filter((id) => id === 1);
    expect(runs).toHaveLength(1);

    const lenient = await startLeader({ spec: { error_threshold: -1 }, batches: 3 });
    lenient.launcher.behaviour = shortOnOne;
    lenient.leader.start();
    const l = await lenient.finished();
    expect(l.mini_batches).toEqual({ total: 3, succeeded: 3, failed: 0 });
    expect(l.notices?.[0]).toMatch(/^1 item\(s\) in 1 mini-batch\(es\) came back short/);
  });

  it('resume: committed mini-batches do not run again; attempts used before count against run_max_try', async () => {
    const resumed = {
      succeeded: new Map([[0, { itemsSucceeded: 1, itemsFailed: 0 }]]),
      failedAttempts: new Map([
        [1, 3],
        [2, 1],
      ]),
      outputEnd: 0,
      attemptRows: 0,
    };
    const h = await startLeader({ spec: { run_max_try: 3 }, batches: 4, resumed });
    h.leader.start();
    const s = await h.finished();
    // 0 was done; 1 used its 3 attempts already: failed, not run; 2 runs as its attempt 2; 3 runs.
    expect(s.mini_batches).toEqual({ total: 4, succeeded: 3, failed: 1 });
    const ran = h.events.flatMap((e) =>
      e.type === 'attempt' && e.status === 'running' ? [[e.miniBatchId, e.attempt]] : [],
    );
    expect(ran.sort()).toEqual([
      [2, 2],
      [3, 1],
    ]);
  });

  it('resume --retry-failed: used-up mini-batches get run_max_try fresh attempts, numbered after the old ones', async () => {
    const resumed = { succeeded: new Map(), failedAttempts: new Map([[0, 3]]), outputEnd: 0, attemptRows: 0 };
    const h = await startLeader({
      spec: { run_max_try: 2, process_count_per_node: 1 },
      batches: 1,
      resumed,
      retryFailed: true,
    });
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'run') for (const b of m.batches) w.fail(b);
      else healthy(w, m);
    };
    h.leader.start();
    const s = await h.finished();
    expect(s.mini_batches.failed).toBe(1);
    const tried = h.events.flatMap((e) => (e.type === 'attempt' && e.status === 'failed' ? [e.attempt] : []));
    expect(tried).toEqual([4, 5]);
  });

  it('cancel: workers get SIGTERM, the run ends cancelled with exit code 130', async () => {
    const h = await startLeader({ spec: { process_count_per_node: 2 } });
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'init') w.ready(); // and never finishes a mini-batch
    };
    h.leader.start();
    await settle();
    h.leader.cancel();
    const s = await h.finished();
    expect(s).toMatchObject({ status: 'cancelled', exit_code: 130, reason: 'Cancelled by the user.' });
    expect(h.launcher.workers.map((w) => w.killedWith[0])).toEqual(['SIGTERM', 'SIGTERM']);
    expect(h.leader.state).toBe('done');
  });

  it('a worker that cannot be started fails the job, naming the OS error', async () => {
    const h = await startLeader({ spec: { process_count_per_node: 1 } });
    h.launcher.behaviour = (w, m) => {
      if (m.t === 'init') w.launchFails('spawn ENOENT');
    };
    h.leader.start();
    const s = await h.finished();
    expect(s.reason).toBe('A worker process could not be started: spawn ENOENT');
  });
});
