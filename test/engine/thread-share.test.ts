// Each worker's share of the cores for the math libraries' thread pools (src/engine/threadShare.ts),
// and the user's own setting left as it is: real `prs run` commands, the workers reporting what
// their environment holds.

import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shareThreads } from '../../src/engine/threadShare';
import { nodeJob, prs, tempDir } from '../helpers';

const SCRIPT = `export function run(batch) {
  const e = process.env;
  return batch.map(() => [e.OMP_NUM_THREADS, e.OPENBLAS_NUM_THREADS, e.MKL_NUM_THREADS].map((v) => v ?? '-').join(' '));
}`;

async function threadsSeen(
  spec: Record<string, unknown>,
): Promise<{ lines: Set<string>; recorded: unknown }> {
  const dir = tempDir();
  const specPath = nodeJob(dir, { script: SCRIPT, files: 4, spec });
  const r = await prs(['run', specPath, '--json', '--runs-dir', path.join(dir, 'runs')], {
    env: { OMP_NUM_THREADS: undefined, OPENBLAS_NUM_THREADS: undefined, MKL_NUM_THREADS: undefined },
  });
  expect(r.code, r.stderr).toBe(0);
  const runDir = r.json!.run_dir;
  const out = readFileSync(path.join(runDir, 'outputs', 'parallel_run_step.txt'), 'utf8');
  const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
    environment: { threadsPerWorker?: unknown };
  };
  return { lines: new Set(out.trim().split('\n')), recorded: record.environment.threadsPerWorker };
}

describe('threads per worker', () => {
  it('gives each worker its share of the cores (all workers of all nodes here), and records it in run.json', async () => {
    const cores = os.availableParallelism();
    const share = (workers: number) => String(Math.max(1, Math.floor(cores / workers)));
    const two = await threadsSeen({ process_count_per_node: 2 });
    expect(two.lines).toEqual(new Set([`${share(2)} ${share(2)} ${share(2)}`]));
    expect(two.recorded).toBe(Number(share(2)));
    const four = await threadsSeen({ process_count_per_node: 2, node_count: 2 });
    expect(four.lines).toEqual(new Set([`${share(4)} ${share(4)} ${share(4)}`]));
  });

  it('leaves them all to the user once the spec sets any of them', async () => {
    const mine = await threadsSeen({
      process_count_per_node: 2,
      environment_variables: { OMP_NUM_THREADS: '7' },
    });
    expect(mine.lines).toEqual(new Set(['7 - -']));
    expect(mine.recorded).toBe('as set in the environment');
  });

  it('divides the cores among the workers, at least one thread each, whatever this machine has', () => {
    const shares = [
      [16, 2],
      [16, 4],
      [16, 3],
      [2, 4],
    ].map(([cores, workers]) => {
      const env: Record<string, string> = {};
      return [shareThreads(env, workers!, cores!), env.OMP_NUM_THREADS, env.MKL_NUM_THREADS];
    });
    expect(shares).toEqual([
      [8, '8', '8'],
      [4, '4', '4'],
      [5, '5', '5'],
      [1, '1', '1'],
    ]);
  });
});
