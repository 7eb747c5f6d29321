// Issue 15 §1: real per-file scoring, side by side. 5,000 small PNGs (32x32 RGB at full size), each
// read with Pillow, turned into numpy features (a per-channel 8-bin histogram and the means) and
// scored by a pickled scikit-learn LogisticRegression, one output line per file, 2 workers, against:
//   - multiprocessing.Pool(2).imap_unordered over the same function (chunksize 10: a mini-batch's size);
//   - the machine's limit: one process scoring every file, divided by the workers.
// Goals: ours >= 1.0x Pool and >= 0.9x the limit (whole commands, median of paired rounds).
//
// PRS_BENCH_FILES (default 5,000) and PRS_BENCH_ROUNDS (default 3) make it small for development.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { breakdown, cpuLine, median, pairedRatios, prsRun, table, tempDir, timed } from './lib.mjs';

const PYTHON = '/usr/bin/python3';
const FILES = Number(process.env.PRS_BENCH_FILES ?? 5000);
const ROUNDS = Number(process.env.PRS_BENCH_ROUNDS ?? 3);
const WORKERS = 2;
const BATCH = 10;

// The per-file work every peer runs.
const FEATURES = `import numpy as np
from PIL import Image

def features(path):
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    hist = [np.histogram(pixels[:, :, c], bins=8, range=(0, 255))[0] for c in range(3)]
    return np.concatenate(hist + [pixels.mean(axis=(0, 1))]) / pixels.size

def score(path, model):
    return "%s %d" % (path.rsplit("/", 1)[-1], model.predict(features(path)[None, :])[0])
`;

function makeData(dir) {
  timed(PYTHON, [
    '-c',
    `import os, pickle
import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
${FEATURES}
data = ${JSON.stringify(path.join(dir, 'data'))}
os.makedirs(data, exist_ok=True)
rng = np.random.default_rng(15)
for i in range(${FILES}):
    Image.fromarray(rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)).save(os.path.join(data, "img%05d.png" % i))
names = sorted(os.listdir(data))[:200]
x = np.stack([features(os.path.join(data, n)) for n in names])
y = (x[:, 0] > np.median(x[:, 0])).astype(int)
with open(${JSON.stringify(path.join(dir, 'model.pkl'))}, "wb") as f:
    pickle.dump(LogisticRegression().fit(x, y), f)
`,
  ]);
}

const LOAD = (dir) => `import pickle
with open(${JSON.stringify(path.join(dir, 'model.pkl'))}, "rb") as f:
    model = pickle.load(f)
`;

function writeOurs(dir) {
  writeFileSync(
    path.join(dir, 'score.py'),
    `${FEATURES}
def init():
    global model
    ${LOAD(dir).trim().split('\n').join('\n    ')}

def run(mini_batch):
    return [score(p, model) for p in mini_batch]
`,
  );
  const spec = path.join(dir, 'job.json');
  writeFileSync(
    spec,
    JSON.stringify({
      name: 'bench-files',
      entry_script: 'score.py',
      python: PYTHON,
      inputs: [{ path: './data', type: 'files', pattern: '*.png' }],
      mini_batch_size: BATCH,
      process_count_per_node: WORKERS,
      allow_reuse: false,
    }),
  );
  return spec;
}

function writePeers(dir) {
  const data = JSON.stringify(path.join(dir, 'data'));
  const out = JSON.stringify(path.join(dir, 'peer-out.txt'));
  const pool = path.join(dir, 'pool.py');
  writeFileSync(
    pool,
    `import multiprocessing as mp, os
${FEATURES}
${LOAD(dir)}
def work(path):
    return score(path, model)

if __name__ == "__main__":
    files = sorted(os.path.join(${data}, f) for f in os.listdir(${data}))
    with mp.Pool(${WORKERS}) as pool, open(${out}, "w") as out:
        for line in pool.imap_unordered(work, files, chunksize=${BATCH}):
            out.write(line + "\\n")
`,
  );
  const limit = path.join(dir, 'limit.py');
  writeFileSync(
    limit,
    `import os, time
${FEATURES}
${LOAD(dir)}
files = sorted(os.path.join(${data}, f) for f in os.listdir(${data}))
t0 = time.perf_counter()
with open(${out}, "w") as out:
    for p in files:
        out.write(score(p, model) + "\\n")
print(time.perf_counter() - t0)
`,
  );
  return { pool, limit };
}

export default async function files() {
  const dir = tempDir('prs-bench-files-');
  console.log(
    `-- ${FILES.toLocaleString('en')} PNGs, mini-batches of ${BATCH}, ${WORKERS} workers, ${ROUNDS} alternating rounds`,
  );
  makeData(dir);
  const spec = writeOurs(dir);
  const peers = writePeers(dir);
  const rounds = { ours: [], pool: [], limit: [], limitWhole: [] };
  let lastRun = null;
  for (let i = 0; i < ROUNDS; i++) {
    const r = prsRun(spec, path.join(dir, 'runs'));
    if (r.summary.items.succeeded !== FILES) throw new Error(`bench job failed: ${r.stdout}\n${r.stderr}`);
    rounds.ours.push({ whole: r.seconds, cpu: r.cpuSeconds });
    lastRun = r.summary.run_dir;
    const pool = timed(PYTHON, [peers.pool]);
    rounds.pool.push({ whole: pool.seconds, cpu: pool.cpuSeconds });
    const l = timed(PYTHON, [peers.limit]);
    const work = Number(l.stdout.trim().split('\n').pop());
    rounds.limit.push({ whole: work / WORKERS, cpu: l.cpuSeconds });
    // A whole command cannot divide its start-up among the workers: the limit of a whole command
    // is one interpreter's start (imports, the model) plus the work divided.
    rounds.limitWhole.push({ whole: l.seconds - work + work / WORKERS });
  }
  const rate = (rs) => FILES / median(rs.map((r) => r.whole));
  table(
    [
      { name: 'prs run, Python runtime (whole command)', rate: rate(rounds.ours) },
      { name: 'Pool(2).imap_unordered(chunksize=10)', rate: rate(rounds.pool) },
      { name: 'the limit: 1 process, every file / 2', rate: rate(rounds.limit) },
      { name: 'the limit + 1 interpreter start-up', rate: rate(rounds.limitWhole) },
    ],
    'files/s',
  );
  console.log(`   ${pairedRatios(rounds.ours, rounds.pool, 'whole', 'Pool')}  (goal >= 1.00)`);
  console.log(`   ${pairedRatios(rounds.ours, rounds.limit, 'whole', 'limit')}  (goal >= 0.90)`);
  console.log(`   ${pairedRatios(rounds.ours, rounds.limitWhole, 'whole', 'limit+start-up')}`);
  const cpu = cpuLine([
    ['ours', rounds.ours],
    ['Pool', rounds.pool],
    ['the limit (one process)', rounds.limit],
  ]);
  if (cpu) console.log(`   ${cpu}`);
  breakdown(lastRun);
}
