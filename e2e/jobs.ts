// Jobs the e2e tests write into their temp data folder: small Node entry scripts with a known
// behaviour (paced output with colours, a failure with a clear cause, a 50 MB output flood).

import type { Files } from './host';

function inputs(n: number): Files {
  const files: Files = {};
  for (let i = 0; i < n; i++)
    files[`data/item${String(i).padStart(2, '0')}.txt`] = `item ${i} `.repeat(20 + i);
  return files;
}

/**
 * Two workers, ten mini-batches of ~0.8 s each: long enough for metric samples and live output.
 * `gated`: the last one (item09) also waits for a file named `go` beside the script, so a test
 * sees the run live for as long as it needs to, however slow the machine.
 */
export function pacedJob(opts: { gated?: boolean } = {}): Files {
  return {
    'job.yaml': `# Paced output with colours and an in-place progress line.
name: paced-job
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 2
run_invocation_timeout: 30
run_max_try: 1
`,
    'score.mjs': `import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
const go = path.join(path.dirname(fileURLToPath(import.meta.url)), 'go');
const gated = ${opts.gated === true};
export async function init(ctx) { console.log('\\x1b[32minit\\x1b[0m in ' + ctx.agentName); }
export async function run(batch, ctx) {
  const out = [];
  for (const f of batch) {
    while (gated && path.basename(f) === 'item09.txt' && !existsSync(go)) await new Promise((r) => setTimeout(r, 100));
    for (let p = 0; p <= 100; p += 25) {
      process.stdout.write('\\r' + path.basename(f) + ' [' + '#'.repeat(p / 25) + ' '.repeat(4 - p / 25) + '] ' + p + '%');
      await new Promise((r) => setTimeout(r, 160));
    }
    process.stdout.write('\\n');
    console.error('note: ' + path.basename(f) + ' done');
    out.push(path.basename(f) + ' ' + (await readFile(f, 'utf8')).length);
  }
  return out;
}
`,
    ...inputs(10),
  };
}

/** Fails on one input with a distinctive message; no retries and no tolerance, so the job fails. */
export function failingJob(): Files {
  return {
    'job.yaml': `# Fails on item03.
name: failing-job
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_max_try: 1
allowed_failed_count: 0
`,
    'score.mjs': `import path from 'node:path';
export async function run(batch) {
  for (const f of batch) {
    if (path.basename(f) === 'item03.txt') throw new Error('checksum mismatch in item03.txt');
  }
  return batch.map((f) => path.basename(f));
}
`,
    ...inputs(6),
  };
}

export const FLOOD_BYTES = 50 * 1024 * 1024;

/**
 * One worker printing to stdout as fast as the pipe takes it: 50 MB at least, and on until a file
 * named `stop` appears beside the script, so a test acts while output is still pouring in however
 * fast or slow the machine is.
 */
export function floodJob(): Files {
  return {
    'job.yaml': `# 50 MB or more of stdout as fast as possible, until ./stop exists.
name: flood-job
entry_script: score.mjs
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_invocation_timeout: 300
run_max_try: 1
`,
    'score.mjs': `import { existsSync } from 'node:fs';
const line = 'y'.repeat(1023) + '\\n';
const chunk = line.repeat(64); // 64 KB
const stop = new URL('./stop', import.meta.url);
export async function run(batch) {
  const total = ${FLOOD_BYTES};
  for (let sent = 0; sent < total || !existsSync(stop); sent += chunk.length) {
    if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  }
  return batch;
}
`,
    'data/only.txt': 'x',
  };
}
