// A leader with real parts (scheduler, local pools, journal, output file, log tree) and fake time
// and workers (fakes.ts), for in-process tests of ParallelRunStep's rules.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunEvent, RunSummary } from '../../src/common/events';
import type { MiniBatch } from '../../src/common/minibatch';
import type { JobSpec } from '../../src/common/spec';
import { CommitLog } from '../../src/engine/commitLog';
import { GpuAssigner } from '../../src/engine/devices';
import { Journal, type JournalState } from '../../src/engine/journal';
import { Leader, LocalPool, workerConfig } from '../../src/engine/leader';
import {
  createLogTree,
  LogFile,
  PROCESSED_CSV_COLUMNS,
  runPaths,
  type RunPaths,
} from '../../src/engine/logTree';
import { resolveSpec } from '../../src/engine/spec/load';
import { tempDir, writeFiles } from '../helpers';
import { FakeClock, FakeLauncher } from './fakes';

export interface Harness {
  leader: Leader;
  clock: FakeClock;
  launcher: FakeLauncher;
  paths: RunPaths;
  spec: JobSpec;
  events: RunEvent[];
  journal: Journal;
  /** Ends the run's files and returns the summary (the leader must be done or about to be). */
  finished(): Promise<RunSummary>;
  /** After finished(). */
  masterLog(): Promise<string>;
  /** After finished(). */
  mainLog(nodeId: string): Promise<string>;
}

export interface HarnessOptions {
  /** Job spec keys over the defaults (node_count, process_count_per_node, thresholds, ...). */
  spec?: Record<string, unknown>;
  batches?: number;
  /** A plan that yields nothing and never ends (first_task_creation_timeout). */
  stalledPlan?: boolean;
  gpus?: number[];
  /** What an earlier run committed (resume), and whether failed mini-batches get fresh attempts. */
  resumed?: JournalState;
  retryFailed?: boolean;
}

function batch(id: number): MiniBatch {
  return { id, items: 1, bytes: 1, sources: [{ kind: 'files', files: [`/data/f${id}.txt`] }] };
}

async function* plan(count: number): AsyncGenerator<MiniBatch> {
  for (let i = 0; i < count; i++) yield batch(i);
}

/** A plan whose first mini-batch never comes (an input that takes forever to split). */
function stalled(): AsyncIterator<MiniBatch> {
  return { next: () => new Promise(() => undefined) };
}

export async function startLeader(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = tempDir('prs-leader-');
  writeFiles(dir, { 'src/score.mjs': 'export function run(b) { return b; }\n', 'data/f0.txt': 'x\n' });
  const loaded = await resolveSpec(
    {
      name: 'rules',
      entry_script: 'score.mjs',
      source_directory: './src',
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      run_invocation_timeout: 60,
      ...opts.spec,
    },
    dir,
  );
  if (!loaded.ok) throw new Error(`test spec is invalid: ${loaded.problems.join('; ')}`);
  const spec = loaded.spec;
  const paths = runPaths(path.join(dir, 'run'));
  const nodeIds = Array.from({ length: spec.node_count }, (_, i) => String(i));
  await createLogTree(paths, nodeIds);
  const journal = new Journal(paths.journal);
  const csv = new LogFile(paths.processedCsv);
  csv.write(PROCESSED_CSV_COLUMNS.join(',') + '\n');
  const commits = await CommitLog.open(journal, csv, path.join(paths.runDir, 'parallel_run_step.txt'), 0);
  const clock = new FakeClock();
  const launcher = new FakeLauncher(clock);
  const events: RunEvent[] = [];
  const emit = (e: RunEvent) => events.push(e);
  const perNode = typeof spec.process_count_per_node === 'number' ? spec.process_count_per_node : 1;
  const gpus = new GpuAssigner(opts.gpus ?? []);
  let next = 0;
  const pools = nodeIds.map(
    (nodeId) =>
      new LocalPool({
        nodeId,
        capacity: perNode,
        launcher,
        paths,
        cwd: dir,
        baseEnv: {},
        gpus,
        config: (name, node) => workerConfig(spec, paths, undefined, name, node),
        nameWorker: () => `process${String(next++).padStart(3, '0')}`,
        runInvocationTimeoutS: spec.run_invocation_timeout,
        clock,
        emit,
      }),
  );
  const leader = new Leader({
    spec,
    paths,
    pools,
    plan: opts.stalledPlan ? stalled() : plan(opts.batches ?? 4),
    commits,
    emit,
    startedAt: clock.now(),
    clock,
    resumed: opts.resumed,
    retryFailed: opts.retryFailed,
  });
  // Log files are complete once finished() closed them.
  const read = async (file: string) => readFileSync(file, 'utf8');
  return {
    leader,
    clock,
    launcher,
    paths,
    spec,
    events,
    journal,
    async finished() {
      const summary = await leader.done;
      await leader.close();
      await csv.close();
      return summary;
    },
    masterLog: () => read(paths.masterRole),
    mainLog: (nodeId) => read(paths.mainTxt(nodeId)),
  };
}
