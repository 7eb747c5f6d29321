// Scores each document slowly on purpose, so there is time to watch the run: progress and ETA,
// each worker's terminal, the graphs and the mini-batch table filling in.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const STEP_MS = 200;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function init(ctx) {
  ctx.logger.info(`init() in ${ctx.agentName}`);
}

export async function run(miniBatch) {
  const results = [];
  for (const file of miniBatch) {
    const name = path.basename(file);
    for (let p = 0; p <= 100; p += 25) {
      process.stdout.write(`\r${name} [${'#'.repeat(p / 25).padEnd(4)}] ${p}%`);
      await sleep(STEP_MS);
    }
    process.stdout.write('\n');
    const words = (await readFile(file, 'utf8')).split(/\s+/).filter(Boolean).length;
    results.push(`${name} ${words}`);
  }
  return results;
}
