// GPU hand-over through the real CLI with the stand-in nvidia-smi (test/fixtures/nvidia-smi).

import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeJob, prs, ROOT, tempDir } from '../helpers';

const FAKE_SMI = path.join(ROOT, 'test', 'fixtures', 'nvidia-smi');

// Prints its CUDA_VISIBLE_DEVICES in every mini-batch; process000 dies on its first mini-batch.
// Every worker leaves a marker in BARRIER once past init(). The others hold their first mini-batch
// until process004 (process000's replacement) has passed init(): otherwise, on a loaded machine,
// they could finish all 16 before process000 was ready (it would never get one, never exit, and
// process004 would never start), or before process004 printed its CVD line.
const SCRIPT = `
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
const barrier = process.env.BARRIER;
export function init() {
  console.log('CVD=' + (process.env.CUDA_VISIBLE_DEVICES ?? 'unset'));
  writeFileSync(path.join(barrier, process.env.PRS_PROCESS_NAME), '');
}
export async function run(batch, ctx) {
  if (ctx.agentName === 'process000') process.exit(7);
  const until = Date.now() + 25000;
  while (!existsSync(path.join(barrier, 'process004')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 150));
  return batch.map(() => ctx.agentName + ' ' + (process.env.CUDA_VISIBLE_DEVICES ?? 'none'));
}`;

describe('GPU assignment', () => {
  it('2 GPUs, 4 processes: 0 and 1 take GPUs 0 and 1, 2 and 3 none; process000 stops; process004 takes GPU 0', async () => {
    const dir = tempDir();
    const barrier = path.join(dir, 'barrier');
    mkdirSync(barrier);
    const spec = nodeJob(dir, {
      script: SCRIPT,
      files: 16,
      spec: { process_count_per_node: 4, mini_batch_size: 1, environment_variables: { BARRIER: barrier } },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { PATH: `${FAKE_SMI}:${process.env.PATH}`, FAKE_NVIDIA_SMI_GPUS: '2' },
    });
    expect(r.code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
    expect(record.environment.gpuAssignments).toEqual({
      process000: 0,
      process001: 1,
      process002: null,
      process003: null,
      process004: 0,
    });
    const main = readFileSync(path.join(r.json!.run_dir, 'logs/sys/node/0/_main.txt'), 'utf8');
    expect(main).toMatch(/process000 starts with pid \d+, CUDA_VISIBLE_DEVICES=0/);
    expect(main).toMatch(/process001 starts with pid \d+, CUDA_VISIBLE_DEVICES=1/);
    expect(main).toMatch(/process002 starts with pid \d+\.\n/);
    expect(main).toMatch(/process000 exits with returncode 7/);
    expect(main).toMatch(/process004 starts with pid \d+, CUDA_VISIBLE_DEVICES=0/);
    const log = (p: string) =>
      readFileSync(path.join(r.json!.run_dir, `logs/user/stdout/0/${p}.stdout.txt`), 'utf8');
    expect(log('process001')).toContain('CVD=1');
    expect(log('process002')).toContain('CVD=unset');
    expect(log('process004')).toContain('CVD=0');
    expect(readFileSync(path.join(r.json!.run_dir, 'logs/sys/node/0/process004.txt'), 'utf8')).toMatch(
      /CUDA_VISIBLE_DEVICES=0/,
    );
  }, 60_000);

  it('a CUDA_VISIBLE_DEVICES the user set limits the GPUs the scheduler hands out', async () => {
    const dir = tempDir();
    const script = `export function run(b) { return b.map(() => process.env.CUDA_VISIBLE_DEVICES ?? 'none'); }`;
    const spec = nodeJob(dir, { script, files: 4, spec: { process_count_per_node: 'auto' } });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json'], {
      env: { PATH: `${FAKE_SMI}:${process.env.PATH}`, FAKE_NVIDIA_SMI_GPUS: '4', CUDA_VISIBLE_DEVICES: '2' },
    });
    expect(r.code).toBe(0);
    const record = JSON.parse(readFileSync(path.join(r.json!.run_dir, 'run.json'), 'utf8'));
    // auto on a GPU machine: one worker per usable GPU.
    expect(record.environment.processCount).toBe(1);
    expect(record.environment.gpuAssignments).toEqual({ process000: 2 });
    expect(new Set(readFileSync(r.json!.output_file!, 'utf8').trim().split('\n'))).toEqual(new Set(['2']));
  });
});
