// Issue 4: what the resource monitor costs the leader at 1 Hz with 16 workers (goal: under 1% of
// one core). The monitor samples 16 real child processes; the leader's own CPU time is measured.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './lib.mjs';

export default async function monitor() {
  // The engine is TypeScript; esbuild (a dev dependency) bundles the one function for this run.
  const { build } = await import('esbuild');
  const out = path.join(ROOT, 'out', 'bench', 'monitor-cost.mjs');
  await build({
    entryPoints: [path.join(ROOT, 'src/engine/monitor/cost.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  const seconds = 10;
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `import(${JSON.stringify(out)}).then(async (m) => console.log(JSON.stringify(await m.measureMonitorCost(16, ${seconds}))))`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  const cost = JSON.parse(r.stdout.trim().split('\n').pop());
  console.log(
    `monitor at 1 Hz, 16 worker processes, ${cost.samples} samples in ${cost.seconds.toFixed(1)} s: ` +
      `${cost.cpuPercentOfOneCore.toFixed(2)}% of one core (goal < 1%)`,
  );
}
