// One process at a time in a run folder: a resume of a run that is still going is refused.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, DEBIAN_PYTHON, nodeJob, PRS, prs, startPrs, tempDir } from '../helpers';
import { waitFor } from './kit';

process.env.PRS_DATA_DIR ??= tempDir('prs-data-');

const SLOW = `export async function run(b) { await new Promise((r) => setTimeout(r, 300)); return b; }`;

/**
 * Holds every mini-batch until the file RELEASE names exists (25 s at most, within the 30 s
 * run_invocation_timeout): the run is still going for as long as the test needs it to be, however
 * slowly a loaded machine starts the second `prs`.
 */
const HELD = `import { existsSync } from 'node:fs';
export async function run(b) {
  const until = Date.now() + 25000;
  while (!existsSync(process.env.RELEASE) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return b;
}`;

/** The run folder under runs/test-job once it has a lock and a run.json. */
function lockedRunDir(dir: string): string | undefined {
  const jobRuns = path.join(dir, 'runs', 'test-job');
  const id = existsSync(jobRuns) ? readdirSync(jobRuns)[0] : undefined;
  const runDir = id ? path.join(jobRuns, id) : undefined;
  // run.json is written just after the lock is taken: resumable from then on.
  return runDir && existsSync(path.join(runDir, '.lock')) && existsSync(path.join(runDir, 'run.json'))
    ? runDir
    : undefined;
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

describe('run folder lock', () => {
  it('refuses to resume a run that another process is still running, and releases the lock at the end', async () => {
    const dir = tempDir();
    const release = path.join(dir, 'release');
    const spec = nodeJob(dir, {
      script: HELD,
      files: 12,
      spec: { process_count_per_node: 1, environment_variables: { RELEASE: release } },
    });
    const running = startPrs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    const result = collect(running);
    const jobRuns = path.join(dir, 'runs', 'test-job');
    let runDir = '';
    while (!runDir || !existsSync(path.join(runDir, '.lock'))) {
      await new Promise((r) => setTimeout(r, 50));
      const id = existsSync(jobRuns) ? readdirSync(jobRuns)[0] : undefined;
      if (id) runDir = path.join(jobRuns, id);
    }
    const second = await prs(['resume', runDir]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`is in use by process ${running.pid}`));
    writeFileSync(release, '');
    const first = await result;
    expect(first.code).toBe(0);
    expect(first.json!.items.succeeded).toBe(12);
    expect(existsSync(path.join(runDir, '.lock'))).toBe(false);
  });

  it('takes over the lock of a killed leader that is still a zombie (its parent has not reaped it)', async () => {
    const dir = tempDir();
    // Held until after the kill: the leader is killed while its run goes on, never after its end.
    const release = path.join(dir, 'release');
    const spec = nodeJob(dir, {
      script: HELD,
      files: 12,
      spec: { process_count_per_node: 1, environment_variables: { RELEASE: release } },
    });
    // A parent that starts `prs run` and never waits for it, as a container's late-reaping init does.
    const parentCode = [
      'import os, sys, time',
      'pid = os.fork()',
      'if pid == 0:',
      '    os.execv(sys.argv[1], sys.argv[1:])',
      'print(pid, flush=True)',
      'time.sleep(600)',
    ].join('\n');
    const parent = spawn(
      DEBIAN_PYTHON,
      ['-c', parentCode, process.execPath, PRS, 'run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      let out = '';
      parent.stdout!.on('data', (d) => (out += d));
      const leader = await waitFor('the leader pid', () =>
        /^(\d+)\n/.exec(out) ? Number(/^(\d+)/.exec(out)![1]) : undefined,
      );
      const runDir = await waitFor('the run folder lock', () => lockedRunDir(dir));
      expect(readFileSync(path.join(runDir, '.lock'), 'utf8')).toMatch(new RegExp(`^${leader}\\b`));
      process.kill(leader, 'SIGKILL');
      await waitFor('the killed leader to be a zombie', () => (procState(leader) === 'Z' ? true : undefined));
      writeFileSync(release, '');

      const resumed = await prs(['resume', runDir, '--json']);
      expect(procState(leader), 'the holder was still a zombie during the resume').toBe('Z');
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.json!.items.succeeded).toBe(12);
      expect(existsSync(path.join(runDir, '.lock'))).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('takes over a lock whose pid now belongs to another process (a reused pid)', async () => {
    const dir = tempDir();
    const spec = nodeJob(dir, { script: SLOW.replace('300', '0'), files: 4 });
    const first = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(first.code, first.stderr).toBe(0);
    const runDir = first.json!.run_dir;
    const runJson = path.join(runDir, 'run.json');
    const record = JSON.parse(readFileSync(runJson, 'utf8')) as Record<string, unknown>;
    delete record.summary;
    writeFileSync(runJson, JSON.stringify(record));
    // This test's own process: alive, but not the one that took the lock (another start time).
    writeFileSync(path.join(runDir, '.lock'), `${process.pid} 1`);
    const resumed = await prs(['resume', runDir, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json!.items.succeeded).toBe(4);
  });
});
