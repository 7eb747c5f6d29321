// The fork server starts beside the run's set-up (WorkerLauncher.prepare), not at the first
// worker's launch: a real run through the real launchers, watched by a launcher that only records
// what the engine asks of them and when.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/common/spec';
import { InlinePythonLauncher } from '../../src/engine/inlinePython';
import { ForkLauncher, type LaunchOptions, type WorkerLauncher } from '../../src/engine/launcher';
import { startRun } from '../../src/engine/run';
import { resolveSpec } from '../../src/engine/spec/load';
import { DEBIAN_PYTHON, tempDir, writeFiles } from '../helpers';

interface Call {
  what: 'prepare' | 'launch';
  name: string;
  env: Record<string, string>;
  /** Fork servers the launcher had when the call came. */
  servers: number;
}

class Recording implements WorkerLauncher {
  readonly calls: Call[] = [];
  constructor(private readonly inner = new InlinePythonLauncher(new ForkLauncher())) {}
  private servers(): number {
    return ((this.inner.describe() as { forkServers?: unknown[] }).forkServers ?? []).length;
  }
  prepare(o: LaunchOptions): void {
    this.calls.push({ what: 'prepare', name: o.name, env: o.env, servers: this.servers() });
    this.inner.prepare(o);
  }
  launch(o: LaunchOptions) {
    this.calls.push({ what: 'launch', name: o.name, env: o.env, servers: this.servers() });
    return this.inner.launch(o);
  }
  describe() {
    return this.inner.describe();
  }
  close(): void {
    this.inner.close();
  }
}

async function spec(dir: string, over: Record<string, unknown> = {}): Promise<JobSpec> {
  writeFiles(dir, {
    'src/score.py': 'import numpy\n\ndef run(batch):\n    return [b.rsplit("/", 1)[-1] for b in batch]\n',
    'data/a.txt': 'a\n',
    'data/b.txt': 'b\n',
    'data/c.txt': 'c\n',
  });
  const loaded = await resolveSpec(
    {
      name: 'prepare-test',
      entry_script: 'score.py',
      source_directory: './src',
      python: DEBIAN_PYTHON,
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      environment_variables: { PREPARED_FOR: 'this job' },
      ...over,
    },
    dir,
  );
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return loaded.spec;
}

describe.runIf(process.platform === 'linux')('the fork server starts beside the set-up', () => {
  it('is asked for before the first worker, with the workers’ environment, and the workers fork from it', async () => {
    const dir = tempDir();
    const launcher = new Recording();
    const handle = await startRun(await spec(dir), { runsDir: path.join(dir, 'runs'), launcher });
    const summary = await handle.done;
    expect(summary.status).toBe('completed');
    const [first, ...rest] = launcher.calls;
    expect(first).toMatchObject({ what: 'prepare', name: 'process000', servers: 0 });
    // What the workers get: the spec's variables and their share of the cores' BLAS threads.
    expect(first!.env.PREPARED_FOR).toBe('this job');
    expect(first!.env.OMP_NUM_THREADS).toMatch(/^\d+$/);
    const launches = rest.filter((c) => c.what === 'launch');
    expect(launches.length).toBeGreaterThanOrEqual(2);
    // The server was already there when the first worker was launched: that worker did not start it.
    expect(launches[0]!.servers).toBe(1);
    expect(launches[0]!.env.OMP_NUM_THREADS).toBe(first!.env.OMP_NUM_THREADS);
    const record = JSON.parse(readFileSync(path.join(handle.runDir, 'run.json'), 'utf8')) as {
      environment: { pythonWorkers: { started: string; forkServers: Array<{ preloaded: string[] }> } };
    };
    expect(record.environment.pythonWorkers.started).toBe('forked from a fork server');
    expect(record.environment.pythonWorkers.forkServers).toHaveLength(1);
    expect(record.environment.pythonWorkers.forkServers[0]!.preloaded).toContain('numpy');
    expect(readFileSync(summary.output_file!, 'utf8').split('\n').filter(Boolean).sort()).toEqual([
      'a.txt',
      'b.txt',
      'c.txt',
    ]);
  });

  it('is not asked for when the interpreter does not exist', async () => {
    const dir = tempDir();
    const launcher = new Recording();
    const s = { ...(await spec(dir)), python: path.join(dir, 'no-such-python') };
    const handle = await startRun(s, { runsDir: path.join(dir, 'runs'), launcher });
    const summary = await handle.done;
    expect(summary.status).toBe('failed');
    expect(launcher.calls.filter((c) => c.what === 'prepare')).toEqual([]);
  });
});
