// Issue 2 §9: 20,000 mini-batches of one trivial item, Node runtime, 2 workers, against
// multiprocessing.Pool.imap_unordered(chunksize=1) and GNU parallel doing the same trivial work.
// The machine is shared and noisy: each side runs ROUNDS times (PRS_BENCH_ROUNDS, default 3),
// alternating, and the best counts.
// "whole" is the whole command; "steady" is from the first mini-batch's start to the last one's end
// (ours, from processed_mini-batches.csv) against Pool's imap alone (its processes already up).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  best,
  cpuLine,
  has,
  nodeStartLine,
  pairedRatios,
  poolScript,
  runOurs,
  runPool,
  table,
  tempDir,
  timed,
  tinyFiles,
} from './lib.mjs';

const N = 20_000;
const ROUNDS = Number(process.env.PRS_BENCH_ROUNDS ?? 3);

export default async function engine() {
  const dir = tempDir();
  tinyFiles(dir, N);
  writeFileSync(
    path.join(dir, 'score.mjs'),
    `export function run(batch) { return batch.map((f) => f.slice(f.lastIndexOf('/') + 1)); }\n`,
  );
  const spec = path.join(dir, 'job.json');
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'bench-engine',
      entry_script: 'score.mjs',
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      process_count_per_node: 2,
      // The reuse fingerprint (a stat per input file after the run) is bookkeeping no peer does.
      allow_reuse: false,
    }),
  );
  const pool = poolScript(dir, 'def work(path):\n    return os.path.basename(path)');
  const ours = [];
  const theirs = [];
  for (let i = 0; i < ROUNDS; i++) {
    ours.push(runOurs(spec, dir, N));
    theirs.push(runPool('python3', pool, dir, 2));
  }
  console.log(`-- ${N} one-item mini-batches, 2 workers, best of ${ROUNDS} alternating runs`);
  const rows = [
    { name: 'prs run, Node runtime (whole command)', rate: N / best(ours, 'whole') },
    { name: 'Pool.imap_unordered(chunksize=1) (whole)', rate: N / best(theirs, 'whole') },
  ];
  if (has('parallel')) {
    // GNU parallel starts a process per job: 2,000 jobs are plenty to measure its rate.
    const M = 2_000;
    const gnu = timed('sh', [
      '-c',
      `ls ${path.join(dir, 'data')} | head -n ${M} | parallel -j2 basename {} > /dev/null`,
    ]);
    rows.push({ name: `GNU parallel -j2 (${M} jobs, whole)`, rate: M / gnu.seconds });
  } else console.log('GNU parallel is not installed (apt-get install parallel): skipped.');
  table(rows);
  console.log(`   whole, ${pairedRatios(ours, theirs, 'whole')}`);
  table([
    { name: 'prs run, Node runtime (steady)', rate: N / best(ours, 'steady') },
    { name: 'Pool.imap_unordered(chunksize=1) (imap)', rate: N / best(theirs, 'steady') },
  ]);
  console.log(`   steady, ${pairedRatios(ours, theirs, 'steady')}`);
  const cpu = cpuLine([
    ['ours', ours],
    ['Pool', theirs],
  ]);
  if (cpu) console.log(`   ${cpu}`);
  console.log(`   ${nodeStartLine()}: the leader and each of the 2 workers pay it`);
  console.log('   goal: ours/Pool >= 1, ours/GNU parallel >= 20');
}
