// A Node entry script with ParallelRunStep's shape: init() once per worker, run() per mini-batch.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

let greeting = 'hi';

export async function init(ctx) {
  const i = ctx.args.indexOf('--greeting');
  if (i !== -1) greeting = ctx.args[i + 1];
  ctx.logger.info(`init() in ${ctx.agentName}, greeting "${greeting}"`);
}

export async function run(miniBatch, ctx) {
  const results = [];
  for (const file of miniBatch) {
    const text = await readFile(file, 'utf8');
    const words = text.split(/\s+/).filter(Boolean).length;
    console.log(`${greeting} from ${ctx.agentName}: ${path.basename(file)} has ${words} words`);
    // One element per input that succeeded; include a key, since output order is not guaranteed.
    results.push(`${path.basename(file)} ${words}`);
  }
  return results;
}

export async function shutdown(ctx) {
  ctx.logger.info(`shutdown() in ${ctx.agentName}`);
}
