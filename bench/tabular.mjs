// Issue 15 §1: real tabular scoring, side by side. A CSV of 7 columns (100 MB, 2,000,000 rows at
// full size) scored by a pickled scikit-learn LogisticRegression, 4 MB mini-batches, 2 workers,
// each mini-batch returning `id` and the prediction (append_row, space-separated), against:
//   - the script a user would write instead: multiprocessing.Pool(2) over pandas.read_csv(chunksize)
//     in its parent, to_csv(sep=" ") of each scored chunk;
//   - dask.dataframe.read_csv(blocksize=4 MB).map_partitions(score) on a LocalCluster of 2 processes;
//   - the machine's limit: one process's read + predict + write of the whole file, divided by the
//     workers (what perfect parallelism of the same work would take).
// Goals: ours >= 1.3x Pool, >= dask, >= 0.7x the limit (whole commands, median of paired rounds).
//
// PRS_BENCH_ROWS (default 2,000,000) and PRS_BENCH_ROUNDS (default 3) make it small for development.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import {
  ROOT,
  breakdown,
  cpuLine,
  has,
  median,
  pairedRatios,
  prsRunMeasured,
  table,
  tempDir,
  timed,
  tinyFiles,
} from './lib.mjs';

const PYTHON = '/usr/bin/python3';
const ROWS = Number(process.env.PRS_BENCH_ROWS ?? 2_000_000);
const ROUNDS = Number(process.env.PRS_BENCH_ROUNDS ?? 3);
const WORKERS = 2;
const BATCH = '4MB';
const BATCH_BYTES = 4 * 1024 * 1024;
const OUTPUT_ROWS = Number(process.env.PRS_BENCH_OUTPUT_ROWS ?? 10_000_000);

// The scoring function every peer runs: the same columns in, the same two columns out.
const SCORE = `FEATURES = ["f1", "f2", "f3", "f4", "f5"]

def score(frame, model):
    import pandas as pd
    return pd.DataFrame({"id": frame["id"].values, "prediction": model.predict(frame[FEATURES].values)})
`;

/** The data (seeded, so every run scores the same rows) and the pickled model, made by Python. */
function makeData(dir) {
  const csv = path.join(dir, 'data', 'table.csv');
  timed(PYTHON, [
    '-c',
    `import os, pickle, sys
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
rows = ${ROWS}
rng = np.random.default_rng(15)
os.makedirs(os.path.dirname(${JSON.stringify(csv)}), exist_ok=True)
x = rng.normal(size=(rows, 5)).round(6)
frame = pd.DataFrame(x, columns=["f1", "f2", "f3", "f4", "f5"])
frame.insert(0, "id", np.arange(rows))
frame["store"] = rng.choice(["north", "south", "east", "west", "centre"], size=rows)
frame.to_csv(${JSON.stringify(csv)}, index=False)
y = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(int)
model = LogisticRegression().fit(x[:20000], y[:20000])
with open(${JSON.stringify(path.join(dir, 'model.pkl'))}, "wb") as f:
    pickle.dump(model, f)
`,
  ]);
  return csv;
}

function writeOurs(dir) {
  writeFileSync(
    path.join(dir, 'score.py'),
    `import os, pickle
${SCORE}
def init():
    global model
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.pkl"), "rb") as f:
        model = pickle.load(f)

def run(mini_batch):
    return score(mini_batch, model)
`,
  );
  const spec = path.join(dir, 'job.json');
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'bench-tabular',
      entry_script: 'score.py',
      python: PYTHON,
      inputs: [{ path: './data/table.csv', type: 'tabular' }],
      mini_batch_size: BATCH,
      process_count_per_node: WORKERS,
      append_row_file_name: 'predictions.txt',
      allow_reuse: false,
    }),
  );
  return spec;
}

function writePeers(dir, csv) {
  const out = path.join(dir, 'peer-out.txt');
  const load = `import pickle, sys, time
${SCORE}
with open(${JSON.stringify(path.join(dir, 'model.pkl'))}, "rb") as f:
    model = pickle.load(f)
`;
  // Rows per chunk: what a 4 MB mini-batch holds.
  const chunk = Math.max(1000, Math.round(BATCH_BYTES / 50));
  const pool = path.join(dir, 'pool.py');
  writeFileSync(
    pool,
    `import multiprocessing as mp
import pandas as pd
${load}
def work(frame):
    return score(frame, model).to_csv(sep=" ", header=False, index=False)

if __name__ == "__main__":
    with mp.Pool(${WORKERS}) as pool, open(${JSON.stringify(out)}, "w") as out:
        for text in pool.imap(work, pd.read_csv(${JSON.stringify(csv)}, chunksize=${chunk})):
            out.write(text)
`,
  );
  const dask = path.join(dir, 'dask_job.py');
  writeFileSync(
    dask,
    `import dask.dataframe as dd
from distributed import Client, LocalCluster
${load}
if __name__ == "__main__":
    with LocalCluster(n_workers=${WORKERS}, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
        frame = dd.read_csv(${JSON.stringify(csv)}, blocksize=${BATCH_BYTES})
        meta = {"id": "int64", "prediction": "int64"}
        result = frame.map_partitions(score, model, meta=meta)
        result.to_csv(${JSON.stringify(out)}, single_file=True, sep=" ", header=False, index=False)
`,
  );
  // The limit: the whole file in one process, each phase timed; printed as JSON.
  const limit = path.join(dir, 'limit.py');
  writeFileSync(
    limit,
    `import json
import pandas as pd
${load}
t0 = time.perf_counter()
frame = pd.read_csv(${JSON.stringify(csv)})
t1 = time.perf_counter()
result = score(frame, model)
t2 = time.perf_counter()
result.to_csv(${JSON.stringify(out)}, sep=" ", header=False, index=False)
t3 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "predict": t2 - t1, "write": t3 - t2}))
`,
  );
  return { pool, dask, limit };
}

/**
 * The driver's own read and output formatting of one 4 MB mini-batch, measured alone (best of 5):
 * processed_mini-batches.csv has run()'s time and the whole, not how the rest divides.
 */
function driverPhases(dir, csv) {
  const r = timed(PYTHON, [
    '-c',
    `import json, pickle, sys, time
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'resources', 'python'))})
import pandas as pd
import prs_driver
${SCORE}
model = pickle.load(open(${JSON.stringify(path.join(dir, 'model.pkl'))}, "rb"))
with open(${JSON.stringify(csv)}, "rb") as f:
    header = f.readline()
    block = f.read(${BATCH_BYTES})
start = len(header)
end = start + block.rfind(b"\\n") + 1
source = {"file": ${JSON.stringify(csv)}, "format": "csv", "ranges": [[start, end]],
          "columns": header.decode().strip().split(",")}
read = fmt = 1e9
for _ in range(5):
    t0 = time.perf_counter()
    frame = prs_driver.build_input({"sources": [dict(source, kind="table")]}, None)
    t1 = time.perf_counter()
    result = score(frame, model)
    t2 = time.perf_counter()
    prs_driver.result_lines(result, False)
    t3 = time.perf_counter()
    read, fmt = min(read, t1 - t0), min(fmt, t3 - t2)
print(json.dumps({"read": read * 1000, "format": fmt * 1000}))
`,
  ]);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

export default async function tabular() {
  const dir = tempDir('prs-bench-tabular-');
  console.log(
    `-- ${ROWS.toLocaleString('en')} rows x 7 columns, ${BATCH} mini-batches, ${WORKERS} workers, ${ROUNDS} alternating rounds`,
  );
  const csv = makeData(dir);
  const spec = writeOurs(dir);
  const peers = writePeers(dir, csv);
  const dask = has(PYTHON) && timed(PYTHON, ['-c', 'import dask.dataframe, distributed']) && true;
  const rounds = { ours: [], pool: [], dask: [], limit: [], limitWhole: [] };
  let lastRun = null;
  for (let i = 0; i < ROUNDS; i++) {
    const r = prsRunMeasured(spec, path.join(dir, 'runs'));
    if (r.summary.status !== 'completed') throw new Error(`bench job failed: ${r.stdout}\n${r.stderr}`);
    rounds.ours.push({
      whole: r.seconds,
      cpu: r.cpuSeconds,
      leader: r.leader,
      batches: r.summary.mini_batches.total,
    });
    lastRun = r.summary.run_dir;
    const pool = timed(PYTHON, [peers.pool]);
    rounds.pool.push({ whole: pool.seconds, cpu: pool.cpuSeconds });
    if (dask) {
      const d = timed(PYTHON, [peers.dask]);
      rounds.dask.push({ whole: d.seconds, cpu: d.cpuSeconds });
    }
    const l = timed(PYTHON, [peers.limit]);
    const phases = JSON.parse(l.stdout.trim().split('\n').pop());
    // The limit counts the work, not the interpreter's start; a whole command cannot divide its
    // start-up among the workers: the limit of a whole command is one interpreter's start (imports,
    // the model) plus the work divided.
    const work = phases.read + phases.predict + phases.write;
    rounds.limit.push({ whole: work / WORKERS, phases, cpu: l.cpuSeconds });
    rounds.limitWhole.push({ whole: l.seconds - work + work / WORKERS });
  }
  const rate = (rs) => ROWS / median(rs.map((r) => r.whole));
  table(
    [
      { name: 'prs run, Python runtime (whole command)', rate: rate(rounds.ours) },
      { name: 'Pool(2) + pandas read_csv(chunksize)', rate: rate(rounds.pool) },
      ...(dask ? [{ name: 'dask map_partitions, LocalCluster(2)', rate: rate(rounds.dask) }] : []),
      { name: 'the limit: 1 process read+predict+write / 2', rate: rate(rounds.limit) },
      { name: 'the limit + 1 interpreter start-up', rate: rate(rounds.limitWhole) },
    ],
    'rows/s',
  );
  console.log(`   ${pairedRatios(rounds.ours, rounds.pool, 'whole', 'Pool')}  (goal >= 1.30)`);
  if (dask) console.log(`   ${pairedRatios(rounds.ours, rounds.dask, 'whole', 'dask')}  (goal >= 1.00)`);
  console.log(`   ${pairedRatios(rounds.ours, rounds.limit, 'whole', 'limit')}  (goal >= 0.70)`);
  console.log(`   ${pairedRatios(rounds.ours, rounds.limitWhole, 'whole', 'limit+start-up')}`);
  const cpu = cpuLine([
    ['ours', rounds.ours],
    ['Pool', rounds.pool],
    ...(dask ? [['dask', rounds.dask]] : []),
    ['the limit (one process)', rounds.limit],
  ]);
  if (cpu) console.log(`   ${cpu}`);
  const p = rounds.limit.at(-1).phases;
  console.log(
    `   the limit's phases (one process, whole file): read ${p.read.toFixed(2)} s, predict ${p.predict.toFixed(2)} s, write ${p.write.toFixed(2)} s`,
  );
  if (!existsSync(path.join(lastRun, 'outputs', 'predictions.txt'))) throw new Error('no output file');
  breakdown(lastRun, driverPhases(dir, csv));
  const leader = rounds.ours.map((o) => (o.leader.cpuS * 1000) / o.batches);
  console.log(
    `   the leader's CPU (its whole process, start-up included): ${median(leader).toFixed(1)} ms per mini-batch (median of rounds)`,
  );
  sameDataAsParquet(dir, csv, rounds.ours);
  console.log(`-- the leader's memory and CPU against the output's size`);
  await leaderMemory();
  dataFrameMemory(dir);
}

/**
 * The same rows as Parquet (row groups of a 4 MB mini-batch's rows), ours only: Debian's python3 has
 * neither pyarrow nor fastparquet, so neither peer can read it; prs decodes it in Node (hyparquet).
 * Rounds of its own after the CSV ones; the ratio is of medians.
 */
function sameDataAsParquet(dir, csv, csvRounds) {
  const file = path.join(dir, 'parquet', 'table.parquet');
  mkdirSync(path.dirname(file), { recursive: true });
  const lines = readFileSync(csv, 'utf8').split('\n');
  lines.shift();
  if (lines.at(-1) === '') lines.pop();
  const columns = { id: new Int32Array(lines.length), store: new Array(lines.length) };
  const features = ['f1', 'f2', 'f3', 'f4', 'f5'].map(() => new Float64Array(lines.length));
  lines.forEach((line, i) => {
    const c = line.split(',');
    columns.id[i] = Number(c[0]);
    features.forEach((f, j) => (f[i] = Number(c[j + 1])));
    columns.store[i] = c[6];
  });
  parquetWriteFile({
    filename: file,
    // As many rows a group as a 4 MB mini-batch of the CSV holds.
    rowGroupSize: Math.round(BATCH_BYTES / (statSync(csv).size / lines.length)),
    columnData: [
      { name: 'id', data: columns.id, type: 'INT32' },
      ...features.map((data, j) => ({ name: `f${j + 1}`, data, type: 'DOUBLE' })),
      { name: 'store', data: columns.store, type: 'STRING' },
    ],
  });
  const spec = path.join(dir, 'job-parquet.json');
  const csvSpec = JSON.parse(readFileSync(path.join(dir, 'job.json'), 'utf8'));
  writeFileSync(
    spec,
    JSON.stringify({ ...csvSpec, name: 'bench-parquet', inputs: [{ path: file, type: 'tabular' }] }),
  );
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = prsRunMeasured(spec, path.join(dir, 'runs'));
    if (r.summary.status !== 'completed')
      throw new Error(`parquet bench job failed: ${r.stdout}\n${r.stderr}`);
    runs.push({ whole: r.seconds, cpu: r.cpuSeconds });
  }
  const whole = median(runs.map((r) => r.whole));
  const csvWhole = median(csvRounds.map((r) => r.whole));
  console.log(
    `   the same data as Parquet, ours only (neither peer can read it here: no pyarrow, no fastparquet): ` +
      `${Math.round(ROWS / whole).toLocaleString('en')} rows/s, CPU ${median(runs.map((r) => r.cpu)).toFixed(2)} s; ` +
      `${(csvWhole / whole).toFixed(2)}x our CSV run (medians of ${ROUNDS} rounds each)`,
  );
}

/**
 * The leader's peak memory against the output's size: the same job writing 1/100 of the rows and
 * all of them (10 million lines at full size). Node runtime: the rows cost the workers little, so
 * the leader's side of them is what shows. Flat means the two peaks are about the same.
 */
export async function leaderMemory() {
  const dir = tempDir('prs-bench-leader-');
  const FILES = 100;
  tinyFiles(dir, FILES);
  const specs = [OUTPUT_ROWS / 100, OUTPUT_ROWS].map((rows) => {
    const perFile = Math.round(rows / FILES);
    const script = path.join(dir, `score${perFile}.mjs`);
    writeFileSync(
      script,
      `export function run(batch) {\n  const out = [];\n  for (const f of batch) for (let i = 0; i < ${perFile}; i++) out.push(f + ' ' + i + ' 0.123456');\n  return out;\n}\n`,
    );
    const spec = path.join(dir, `job${perFile}.json`);
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'bench-leader-memory',
        entry_script: path.basename(script),
        inputs: [{ path: './data', type: 'files' }],
        mini_batch_size: 1,
        process_count_per_node: WORKERS,
        allow_reuse: false,
      }),
    );
    return { rows: perFile * FILES, spec };
  });
  const peaks = specs.map(({ rows, spec }) => {
    const r = prsRunMeasured(spec, path.join(dir, 'runs'));
    return { rows, ...r.leader, seconds: r.seconds };
  });
  for (const p of peaks)
    console.log(
      `   leader, ${p.rows.toLocaleString('en')}-line output: peak RSS ${p.maxRssMB.toFixed(0)} MB, CPU ${p.cpuS.toFixed(2)} s (${((p.cpuS * 1e6) / p.rows).toFixed(2)} µs per line), whole ${p.seconds.toFixed(1)} s`,
    );
  // RSS would count garbage V8 has not collected yet (it collects lazily while memory is plentiful):
  // the same run with the leader's heap capped shows what it actually keeps.
  const last = specs[specs.length - 1];
  const capped = prsRunMeasured(last.spec, path.join(dir, 'runs'), ['--max-old-space-size=64']);
  console.log(
    `   leader, ${last.rows.toLocaleString('en')}-line output, its heap capped at 64 MB (--max-old-space-size=64): ${capped.summary.status}, peak RSS ${capped.leader.maxRssMB.toFixed(0)} MB, whole ${capped.seconds.toFixed(1)} s`,
  );
  console.log("   goal: the leader's memory flat whatever the output size");
}

/**
 * The same for the tabular job's DataFrames, the Python runtime's path: run() returns 1/100 of its
 * rows, then 5 copies of them (10 million rows out of the 2 million at full size).
 */
function dataFrameMemory(dir) {
  writeFileSync(
    path.join(dir, 'score_copies.py'),
    `import os, pickle
import pandas as pd
${SCORE}
def init():
    global model
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.pkl"), "rb") as f:
        model = pickle.load(f)

def run(mini_batch):
    out = score(mini_batch, model)
    copies = int(os.environ["COPIES"])
    return pd.concat([out] * copies, ignore_index=True) if copies else out.iloc[: len(out) // 100]
`,
  );
  for (const copies of [0, 5]) {
    const spec = path.join(dir, `copies${copies}.json`);
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'bench-leader-dataframes',
        entry_script: 'score_copies.py',
        python: PYTHON,
        inputs: [{ path: './data/table.csv', type: 'tabular' }],
        mini_batch_size: BATCH,
        process_count_per_node: WORKERS,
        allow_reuse: false,
        environment_variables: { COPIES: String(copies) },
      }),
    );
    const r = prsRunMeasured(spec, path.join(dir, 'runs'));
    const rows = copies ? ROWS * copies : Math.floor(ROWS / 100);
    console.log(
      `   leader, Python DataFrames, ~${rows.toLocaleString('en')}-row output: peak RSS ${r.leader.maxRssMB.toFixed(0)} MB, CPU ${r.leader.cpuS.toFixed(2)} s, whole ${r.seconds.toFixed(1)} s`,
    );
  }
}
