// Issue 2 §9: 20,000 mini-batches of one trivial item, Node runtime, 2 workers, against
// multiprocessing.Pool.imap_unordered(chunksize=1) and GNU parallel doing the same trivial work.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { has, prsRun, table, tempDir, timed, tinyFiles } from './lib.mjs';

const N = 20_000;

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

  const ours = prsRun(spec, path.join(dir, 'runs'));
  if (ours.summary.mini_batches.succeeded !== N)
    throw new Error('bench job did not complete: ' + ours.stdout);
  const rows = [{ name: 'prs run (Node runtime, 2 workers, whole CLI)', rate: N / ours.seconds }];

  const pool = timed('python3', [
    '-c',
    `
import multiprocessing as mp, os, sys, time
def work(path):
    return os.path.basename(path)
if __name__ == '__main__':
    files = sorted(os.path.join(sys.argv[1], f) for f in os.listdir(sys.argv[1]))
    with mp.Pool(2) as pool:
        out = list(pool.imap_unordered(work, files, chunksize=1))
    assert len(out) == len(files)
`,
    path.join(dir, 'data'),
  ]);
  rows.push({ name: 'multiprocessing.Pool.imap_unordered(chunksize=1)', rate: N / pool.seconds });

  if (has('parallel')) {
    // GNU parallel starts a process per job: 2,000 jobs are plenty to measure its rate.
    const M = 2_000;
    const gnu = timed('sh', [
      '-c',
      `ls ${path.join(dir, 'data')} | head -n ${M} | parallel -j2 basename {} > /dev/null`,
    ]);
    rows.push({ name: `GNU parallel -j2 (${M} jobs)`, rate: M / gnu.seconds });
  } else console.log('GNU parallel is not installed (apt-get install parallel): skipped.');

  table(rows);
  console.log(
    `(prs engine-reported duration: ${ours.summary.duration_s.toFixed(2)} s for ${N} mini-batches)`,
  );
}
