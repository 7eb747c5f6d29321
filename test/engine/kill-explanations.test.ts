// How a killed worker is explained, through the real CLI with real workers: a run() stopped for its
// timeout (busy or waiting, from the CPU time of its process tree read at the kill), and a worker
// killed by somebody else's `kill -9` (out of memory only on the kernel's evidence).

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/common/events';
import { FailureLog } from '../../src/engine/failures';
import {
  collect,
  DEBIAN_PYTHON,
  KILLED_ONCE_SAMPLED,
  nodeJob,
  PRS,
  prs,
  tempDir,
  writeFiles,
} from '../helpers';

function findings(runDir: string): Finding[] {
  return JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')).summary.findings;
}

async function runNode(script: string, spec: Record<string, unknown>) {
  const dir = tempDir();
  const specPath = nodeJob(dir, {
    script,
    files: 1,
    spec: { run_max_try: 1, process_count_per_node: 1, ...spec },
  });
  return prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
}

describe.runIf(process.platform === 'linux')('a run() stopped for its timeout', () => {
  it('a Node busy loop is explained as busy computing, with the CPU time of its process', async () => {
    const r = await runNode('export function run(b) { for (;;) {} }', { run_invocation_timeout: 3 });
    expect(r.json!.mini_batches.failed).toBe(1);
    const timeout = findings(r.json!.run_dir).find((f) => f.kind === 'timeout')!;
    const m = /run\(\) was busy computing: CPU time (\d+\.\d) s of (\d+\.\d) s/.exec(timeout.detail);
    expect(m, timeout.detail).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(r.stderr + r.stdout).toMatch(/busy computing: CPU time/);
    const csv = readFileSync(
      path.join(r.json!.run_dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      'utf8',
    );
    const header = csv.split('\n')[0]!.split(',');
    const row = csv
      .split('\n')
      .find((l) => l.startsWith('0,1,'))!
      .split(',');
    expect(Number(row[header.indexOf('process_time_s')])).toBeGreaterThan(0);
  });

  it('a run() that sleeps is explained as waiting', async () => {
    const r = await runNode(
      'export async function run(b) { await new Promise((r) => setTimeout(r, 60000)); }',
      {
        run_invocation_timeout: 2,
      },
    );
    const timeout = findings(r.json!.run_dir).find((f) => f.kind === 'timeout')!;
    expect(timeout.detail).toMatch(
      /run\(\) was mostly waiting, on I\/O, the network or a lock: CPU time 0\.\d s of/,
    );
  });

  it('a Python sum(range(10**11)) is explained as busy computing, its interpreter counted', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'src/score.py': 'def init():\n    pass\n\ndef run(batch):\n    return [sum(range(10**11))]\n',
      'data/a.txt': 'a\n',
    });
    const specPath = path.join(dir, 'job.json');
    writeFileSync(
      specPath,
      JSON.stringify({
        name: 'py-busy',
        entry_script: 'score.py',
        source_directory: './src',
        python: DEBIAN_PYTHON,
        inputs: [{ path: './data', type: 'files' }],
        mini_batch_size: 1,
        process_count_per_node: 1,
        run_invocation_timeout: 3,
        run_max_try: 1,
      }),
    );
    const r = await prs(['run', specPath, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.json!.mini_batches.failed).toBe(1);
    const timeout = findings(r.json!.run_dir).find((f) => f.kind === 'timeout')!;
    const m = /run\(\) was busy computing: CPU time (\d+\.\d) s of (\d+\.\d) s/.exec(timeout.detail);
    expect(m, timeout.detail).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
  });
});

describe('the timeout explanation from CPU figures', () => {
  const explain = (cpu: { cpuS: number; runQueueS: number; windowS: number } | null) => {
    const log = new FailureLog();
    log.record({
      miniBatchId: 7,
      attempt: 1,
      process: 'process001',
      status: 'timeout',
      error: { type: 'TimeoutError', message: 'run() did not return' },
      elapsedS: 3.1,
      cpuS: cpu?.cpuS ?? 0,
      cpu,
      logFile: 'logs/user/stderr/0/process001.stderr.txt',
    });
    return log.findings(3)[0]!.detail;
  };

  it('a loaded machine: little CPU time but runnable all along is still computing', () => {
    expect(explain({ cpuS: 0.6, runQueueS: 2.3, windowS: 3 })).toMatch(
      /run\(\) was busy computing: CPU time 0\.6 s of 3\.0 s .*, and 2\.3 s more ready to run but waiting for a CPU/,
    );
  });

  it('neither running nor runnable is waiting', () => {
    expect(explain({ cpuS: 0.1, runQueueS: 0.05, windowS: 3 })).toMatch(
      /run\(\) was mostly waiting, on I\/O/,
    );
  });

  it('without figures it says it does not know', () => {
    expect(explain(null)).toMatch(/CPU time could not be read on this system/);
  });
});

describe.runIf(process.platform === 'linux')('a worker killed by signal 9', () => {
  it("somebody else's kill -9 at low memory is not called out of memory, and the evidence is named", async () => {
    // `kill` is another process: the signal comes from outside the worker, as an operator's would;
    // it comes once the leader has memory samples of the worker to give as evidence.
    const dir = tempDir();
    const runsDir = path.join(dir, 'runs');
    const specPath = nodeJob(dir, {
      script: KILLED_ONCE_SAMPLED,
      files: 1,
      spec: { run_max_try: 1, process_count_per_node: 1, environment_variables: { RUNS_DIR: runsDir } },
    });
    const r = await prs(['run', specPath, '--runs-dir', runsDir, '--json']);
    expect(r.code).toBe(0);
    expect(r.json!.mini_batches.failed).toBe(1);
    const killed = findings(r.json!.run_dir).find(
      (f) => f.process === 'process000' && /signal 9/.test(f.title),
    )!;
    expect(killed.title).toBe('process000 killed by signal 9 from outside (not out of memory)');
    // This machine's kernel has /proc/vmstat's oom_kill (Linux 4.13+): the evidence is the counter.
    expect(killed.detail).toMatch(/counted no out-of-memory kill while it ran \(oom_kill in .+ unchanged\)/);
    expect(killed.detail).toMatch(
      /peak \d+(\.\d)? MiB of the (node's|memory cgroup's limit of) [\d.]+ [GT]iB \(\d+%\)/,
    );
    expect(killed.miniBatchId).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/killed by signal 9 from outside \(not out of memory\)/);
    expect(r.stderr + r.stdout).not.toMatch(/out of memory:/);
  });
});

/** Where a memory cgroup v1 or v2 of this process is mounted in the usual place; null if none. */
function memoryCgroupBase(): { dir: string; limitFile: string } | null {
  try {
    const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
    const v1 = lines.find((l) => l.split(':')[1]?.split(',').includes('memory'));
    const v2 = lines.find((l) => l.startsWith('0::'));
    if (v1) return { dir: `/sys/fs/cgroup/memory${v1.split(':')[2]}`, limitFile: 'memory.limit_in_bytes' };
    if (v2) return { dir: `/sys/fs/cgroup${v2.slice(3)}`, limitFile: 'memory.max' };
  } catch {
    // not Linux, or no /proc
  }
  return null;
}

/** A child cgroup with a memory limit, where this process may make one (root); null elsewhere. */
function makeMemoryCgroup(limitBytes: number): string | null {
  const base = memoryCgroupBase();
  if (!base) return null;
  const dir = `${base.dir}/prs-oom-test-${process.pid}-${Date.now()}`;
  try {
    mkdirSync(dir);
  } catch {
    return null;
  }
  try {
    writeFileSync(`${dir}/${base.limitFile}`, String(limitBytes));
    return dir;
  } catch {
    rmdirSync(dir);
    return null;
  }
}

/** Whether this machine lets the test make a memory cgroup (probed once, left as found). */
function canMakeMemoryCgroup(): boolean {
  const dir = process.platform === 'linux' ? makeMemoryCgroup(1 << 30) : null;
  if (dir) rmdirSync(dir);
  return dir !== null;
}

describe.runIf(canMakeMemoryCgroup())('a worker the kernel kills for memory', () => {
  it("is called out of memory, on the kernel's oom_kill count, with the cgroup's limit", async () => {
    const dir = tempDir();
    const script = `
const hog = [];
export async function run(b) {
  await new Promise((r) => setTimeout(r, 1500)); // a few memory samples first
  for (;;) {
    hog.push(Buffer.alloc(16 * 1024 * 1024, 1));
    await new Promise((r) => setTimeout(r, 5));
  }
}`;
    const specPath = nodeJob(dir, { script, files: 1, spec: { run_max_try: 1, process_count_per_node: 1 } });
    const cgroup = makeMemoryCgroup(400 * 1024 * 1024)!;
    try {
      // The whole run inside the cgroup: its 400 MiB limit is what the worker runs out of.
      const child = spawn(
        '/bin/sh',
        [
          '-c',
          `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`,
          'sh',
          process.execPath,
          PRS,
          'run',
          specPath,
          '--runs-dir',
          path.join(dir, 'runs'),
          '--json',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const r = await collect(child);
      expect(r.json!.mini_batches.failed, r.stderr).toBe(1);
      const oom = findings(r.json!.run_dir).find((f) => f.kind === 'oom')!;
      expect(oom, JSON.stringify(findings(r.json!.run_dir))).toBeDefined();
      expect(oom.title).toBe('process000 killed (signal 9): out of memory');
      expect(oom.detail).toMatch(
        /The kernel's out-of-memory killer killed \d+ process\(es\) while it ran \(oom_kill in .*prs-oom-test-[\d-]+\/memory\.(oom_control|events)\)/,
      );
      expect(oom.detail).toMatch(/of the memory cgroup's limit of 400 MiB/);
      expect(oom.remedy).toMatch(/Reduce the number of processes per node/);
    } finally {
      // Empty by now: the run and its workers have exited.
      rmdirSync(cgroup);
    }
  });
});
