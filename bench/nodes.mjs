// Issue 13 §5: the cluster path against the local one. 20,000 trivial mini-batches on 2 nodes:
// simulated nodes here (node_count 2, no cluster) against 2 agents of a local Redis (prs agent),
// in ms per mini-batch of the whole command; and what losing a node costs: the time from an
// agent's SIGKILL to the first attempt of its work starting on another node (heartbeat TTL default).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PRS, tempDir, timed, tinyFiles } from './lib.mjs';

const N = 20_000;
const ROUNDS = 2;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForLine(child, re, what) {
  let text = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what}: ${text}`)), 60_000);
    const on = (d) => {
      text += d;
      if (re.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
  });
}

async function cluster(agentNames, env = {}) {
  const dir = tempDir('prs-bench-redis-');
  const port = await freePort();
  const redis = spawn(
    '/usr/bin/redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForLine(redis, /Ready to accept connections/, 'redis');
  const url = `redis://127.0.0.1:${port}`;
  const agents = [];
  for (const name of agentNames) {
    const a = spawn(
      process.execPath,
      [PRS, 'agent', '--cluster', url, '--name', name, '--processes', '1', '--gpus', 'none'],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await waitForLine(a, /joined the cluster/, `agent ${name}`);
    agents.push(a);
  }
  return {
    url,
    agents,
    stop() {
      for (const a of agents) a.kill('SIGKILL');
      redis.kill('SIGKILL');
    },
  };
}

function job(dir, name, extra) {
  const spec = path.join(dir, `${name}.json`);
  writeFileSync(
    spec,
    JSON.stringify({
      name,
      entry_script: 'score.mjs',
      inputs: [{ path: './data', type: 'files' }],
      mini_batch_size: 1,
      node_count: 2,
      process_count_per_node: 1,
      allow_reuse: false,
      ...extra,
    }),
  );
  return spec;
}

function run(spec, runsDir, extra = []) {
  const r = timed(process.execPath, [PRS, 'run', spec, '--runs-dir', runsDir, '--json', ...extra]);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop());
  if (summary.mini_batches.succeeded !== summary.mini_batches.total)
    throw new Error(`a bench run did not complete: ${r.stdout}`);
  return r.seconds;
}

export default async function nodes() {
  const dir = tempDir();
  tinyFiles(dir, N);
  writeFileSync(
    path.join(dir, 'score.mjs'),
    `export function run(batch) { return batch.map((f) => f.slice(f.lastIndexOf('/') + 1)); }\n`,
  );
  const spec = job(dir, 'bench-nodes', {});
  const c = await cluster(['a', 'b']);
  const local = [];
  const remote = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      local.push(run(spec, path.join(dir, 'runs-local')));
      remote.push(run(spec, path.join(dir, 'runs-cluster'), ['--cluster', c.url]));
    }
  } finally {
    c.stop();
  }
  const ms = (s) => ((Math.min(...s) * 1000) / N).toFixed(3);
  console.log(
    `-- ${N} one-item mini-batches on 2 nodes of 1 worker, best of ${ROUNDS} alternating runs (whole command)`,
  );
  console.log(`simulated nodes here (no cluster)           ${ms(local).padStart(8)} ms per mini-batch`);
  console.log(
    `2 agents through Redis + BullMQ             ${ms(remote).padStart(8)} ms per mini-batch  (cluster/local = ${(Math.min(...remote) / Math.min(...local)).toFixed(2)}x)`,
  );

  // A node lost: 3 agents (one spare), 2 nodes, mini-batches of 20 ms; one agent SIGKILLed mid-run.
  const slow = tempDir();
  tinyFiles(slow, 4000);
  writeFileSync(
    path.join(slow, 'score.mjs'),
    `export async function run(b) { await new Promise((r) => setTimeout(r, 20)); return b.map((f) => f.slice(f.lastIndexOf('/') + 1)); }\n`,
  );
  const lossSpec = job(slow, 'bench-loss', {});
  const l = await cluster(['x', 'y', 'z']);
  try {
    const leader = spawn(
      process.execPath,
      [PRS, 'run', lossSpec, '--runs-dir', path.join(slow, 'runs'), '--json', '--cluster', l.url],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let said = '';
    leader.stdout.on('data', (d) => (out += d));
    leader.stderr.on('data', (d) => (said += d));
    await waitForLine(leader, /Run folder: /, 'run folder');
    await new Promise((r) => setTimeout(r, 3000));
    const runDir = /Run folder: (.*)/.exec(said)[1].trim();
    const master = readFileSync(path.join(runDir, 'logs/sys/master_role.txt'), 'utf8');
    const victim = /Node 1 runs on agent (\w)/.exec(master)[1];
    const killedAt = Date.now();
    l.agents[['x', 'y', 'z'].indexOf(victim)].kill('SIGKILL');
    await new Promise((resolve) => leader.once('close', resolve));
    const summary = JSON.parse(out.trim().split('\n').pop());
    const csv = readFileSync(
      path.join(summary.run_dir, 'logs/sys/job_report/processed_mini-batches.csv'),
      'utf8',
    )
      .trim()
      .split('\n')
      .slice(1);
    // Attempts after the kill, of mini-batches whose earlier attempt failed: their work, elsewhere.
    const retried = csv
      .map((line) => line.split(','))
      .filter((c) => Number(c[1]) >= 2)
      .map((c) => Date.parse(c[9]))
      .filter((t) => t >= killedAt);
    const first = Math.min(...retried);
    console.log(
      `-- a node lost (SIGKILL of its agent; heartbeat TTL ${process.env.PRS_CLUSTER_HEARTBEAT_TTL_S ?? 15} s): ${summary.status}, ${summary.mini_batches.succeeded}/${summary.mini_batches.total} mini-batches`,
    );
    console.log(
      `kill -> its work running elsewhere          ${((first - killedAt) / 1000).toFixed(2).padStart(8)} s`,
    );
  } finally {
    l.stop();
  }
}
