// Each worker's share of this machine's cores for the thread pools of the math libraries its
// code loads (OpenMP, OpenBLAS, MKL: numpy, scipy, scikit-learn, torch on the CPU). Left alone,
// every worker's pool takes every core: N workers on N cores run N x N threads that spin while
// they wait for each other. A scored 4 MB mini-batch took 117 ms of CPU for 59 ms of work that
// way, 48 ms with one thread (issue 15). dask's workers get the same variables set to 1.
// Any of them set by the user (the spec's environment_variables, or the shell's) stands, and
// then none is set here.

import os from 'node:os';

export const THREAD_VARIABLES = ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'] as const;

/** Sets the variables in `env` for `workers` workers sharing `cores`; returns the share, or null if the user chose. */
export function shareThreads(
  env: Record<string, string>,
  workers: number,
  cores = os.availableParallelism(),
): number | null {
  if (THREAD_VARIABLES.some((name) => env[name] !== undefined)) return null;
  const share = Math.max(1, Math.floor(cores / Math.max(1, workers)));
  for (const name of THREAD_VARIABLES) env[name] = String(share);
  return share;
}
