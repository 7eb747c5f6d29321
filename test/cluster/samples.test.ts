// Resource samples of a cluster's nodes: each agent samples its own machine and its workers'
// process trees, and the leader writes them into the node's logs/perf/<id>/, as on one machine.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_CSV, PROCESSES_CSV, PROCESSES_CSV_HEADER, DISK_CSV } from '../../src/engine/monitor';
import type { Finding } from '../../src/common/events';
import { collect, KILLED_ONCE_SAMPLED, nodeJob, startPrs, tempDir } from '../helpers';
import { clusterJob, useCluster } from './kit';

const cluster = useCluster();

/** Data rows of a CSV, split into fields (none of these fields holds a comma). */
function rows(file: string): string[][] {
  const [, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return lines.map((l) => l.split(','));
}

describe('resource samples on a cluster', () => {
  it("writes each node's perf files from its agent: that machine's rows and its workers' processes by their pids", async () => {
    const redis = await cluster.redis();
    await cluster.agents(redis.url, ['s1', 's2'], 2);
    // Paced mini-batches keep the workers alive over several samples. The barrier: every worker
    // begins a mini-batch (and leaves its pid in the marks) before any goes on, so a sampled worker
    // is always one of those the marks name.
    const job = clusterJob({
      files: 24,
      delayMs: 500,
      nodeCount: 2,
      barrier: true,
      spec: { resource_monitor_interval: 1 },
    });
    const r = await collect(startPrs(['run', job.spec, '--cluster', redis.url, '--json']));
    expect(r.code, r.stderr).toBe(0);
    const runDir = r.json!.run_dir;

    // The pids each agent's workers had, from the marks their run() left: `<agent>-<pid>-<file>`.
    const pidsOf = new Map<string, Set<string>>();
    for (const mark of readdirSync(job.marksDir)) {
      const [agent, pid] = mark.split('-');
      pidsOf.set(agent!, (pidsOf.get(agent!) ?? new Set()).add(pid!));
    }
    const master = readFileSync(path.join(runDir, 'logs/sys/master_role.txt'), 'utf8');
    const seats = new Map([...master.matchAll(/Node (\d) runs on agent (s\d)/g)].map((m) => [m[1]!, m[2]!]));
    expect([...seats.keys()].sort()).toEqual(['0', '1']);

    for (const [nodeId, agent] of seats) {
      const perf = path.join(runDir, 'logs/perf', nodeId);
      const agentPids = pidsOf.get(agent)!;
      expect(agentPids.size, `workers of ${agent}`).toBeGreaterThan(0);

      const processes = readFileSync(path.join(perf, PROCESSES_CSV), 'utf8');
      expect(processes.split('\n')[0]).toBe(PROCESSES_CSV_HEADER);
      const processRows = rows(path.join(perf, PROCESSES_CSV));
      expect(processRows.length, processes).toBeGreaterThan(0);
      for (const [, name, pid] of processRows) {
        // Only the node's workers: the leader's process is not on that machine.
        expect(name, processes).toMatch(/^process\d{3}$/);
        expect(agentPids, `${name}'s pid ${pid} on node ${nodeId} (agent ${agent})`).toContain(pid);
      }

      const machine = rows(path.join(perf, NODE_CSV));
      expect(machine.length).toBeGreaterThan(0);
      for (const [time, cpu, used, total] of machine) {
        expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
        expect(Number(cpu)).toBeGreaterThanOrEqual(0);
        expect(Number(used)).toBeGreaterThan(0);
        expect(Number(total)).toBeGreaterThanOrEqual(Number(used));
      }
      expect(rows(path.join(perf, DISK_CSV)).length).toBe(machine.length);
      // The agent's process listing of each check.
      expect(existsSync(path.join(perf, 'os'))).toBe(true);

      // The app's samples (samples.jsonl redraws a finished run's graphs) carry the same workers.
      const sampled = readFileSync(path.join(perf, 'samples.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .flatMap((l) => (JSON.parse(l) as { processes: Array<{ pid: number }> }).processes);
      expect(sampled.length).toBeGreaterThan(0);
      for (const p of sampled) expect(agentPids).toContain(String(p.pid));
    }
  });

  it("explains a remote worker's kill -9 from its agent's samples: that machine's memory, not out of memory", async () => {
    const redis = await cluster.redis();
    await cluster.agent(redis.url, 'k1', 1);
    const dir = tempDir('prs-cluster-kill-');
    // `kill` is another process: the signal comes from outside the worker, as an operator's would;
    // it comes once the leader has the agent's samples of the worker (its pid in samples.jsonl).
    const spec = nodeJob(dir, {
      files: 1,
      script: KILLED_ONCE_SAMPLED,
      spec: {
        run_max_try: 1,
        process_count_per_node: 1,
        node_count: 1,
        environment_variables: { RUNS_DIR: path.join(dir, 'runs') },
      },
    });
    const r = await collect(
      startPrs(['run', spec, '--cluster', redis.url, '--runs-dir', path.join(dir, 'runs'), '--json']),
    );
    expect(r.json!.mini_batches.failed, r.stderr).toBe(1);
    const summary = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8')).summary;
    const killed = (summary.findings as Finding[]).find(
      (f) => f.process === 'process000' && /signal 9/.test(f.title),
    )!;
    expect(killed.title, killed.detail).toBe(
      'process000 killed by signal 9 from outside (not out of memory)',
    );
    expect(killed.detail).toMatch(/in its last \d+ samples? \(1 s apart, oldest first\)/);
    expect(killed.detail).toMatch(/peak \d+(\.\d)? MiB of the node's [\d.]+ [GT]iB \(\d+%\)/);
  });
});
