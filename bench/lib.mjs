// Shared benchmark plumbing: temp jobs, timing a command, printing a comparison table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PRS = path.join(ROOT, 'bin', 'prs.js');

export function tempDir(prefix = 'prs-bench-') {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** n tiny input files data/f000000.txt ... */
export function tinyFiles(dir, n) {
  const data = path.join(dir, 'data');
  mkdirSync(data, { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(path.join(data, `f${String(i).padStart(6, '0')}.txt`), String(i));
  return data;
}

/** Runs a command, returns wall seconds; throws with its output when it fails. */
export function timed(cmd, args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

/** The --json summary line of a `prs run`. */
export function prsRun(spec, runsDir) {
  const r = timed(process.execPath, [PRS, 'run', spec, '--runs-dir', runsDir, '--json']);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop());
  return { ...r, summary };
}

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** rows: [{ name, rate, unit }]; the first row is ours; prints each rate and our ratio to it. */
export function table(rows, unit = 'mini-batches/s') {
  const ours = rows[0];
  for (const row of rows) {
    const ratio = row === ours ? '' : `  ours/this = ${(ours.rate / row.rate).toFixed(2)}x`;
    console.log(`${row.name.padEnd(44)} ${row.rate.toFixed(1).padStart(10)} ${unit}${ratio}`);
  }
}
