// Shared test scaffolding for the partition tests: temp folders, a resolved JobSpec with
// defaults, and draining a plan.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { MiniBatch } from '../../src/common/minibatch';
import type { InputSpec, JobSpec } from '../../src/common/spec';
import { planMiniBatches } from '../../src/engine/partition';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

export function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'prs-partition-'));
  made.push(d);
  return d;
}

/** Writes files given as { "rel/path": content } under root. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, content);
  }
}

export function makeSpec(
  inputs: Array<Partial<InputSpec> & { path: string }>,
  over: Partial<JobSpec> = {},
): JobSpec {
  const input_type = over.input_type ?? inputs[0]?.type ?? 'files';
  return {
    name: 'partition-test',
    entry_script: '/nonexistent/score.py',
    source_directory: '/nonexistent',
    runtime: 'python',
    inputs: inputs.map((i) => ({ type: input_type, ...i })),
    input_type,
    side_inputs: [],
    mini_batch_size: 10,
    error_threshold: -1,
    allowed_failed_count: -1,
    allowed_failed_percent: 100,
    output_action: 'append_row',
    append_row_file_name: 'parallel_run_step.txt',
    node_count: 1,
    process_count_per_node: 1,
    gpus: 'none',
    run_invocation_timeout: 60,
    run_max_try: 3,
    logging_level: 'INFO',
    arguments: [],
    models: {},
    environment_variables: {},
    resource_monitor_interval: 0,
    allow_reuse: true,
    ...over,
  };
}

export async function plan(spec: JobSpec): Promise<MiniBatch[]> {
  const out: MiniBatch[] = [];
  for await (const b of planMiniBatches(spec)) out.push(b);
  return out;
}

export function filesOf(b: MiniBatch): string[] {
  return b.sources.flatMap((s) => (s.kind === 'files' ? s.files : []));
}

/** Byte-wise order of "/"-separated relative paths, as the planner promises. */
export function byteOrder(paths: string[]): string[] {
  return [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A CSV field, quoted when it must be. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v.startsWith('"') ? `"${v.replace(/"/g, '""')}"` : v;
}

export async function expectPartitionError(spec: JobSpec, ...parts: Array<string | RegExp>): Promise<Error> {
  let caught: unknown;
  try {
    await plan(spec);
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof Error)) throw new Error('expected a PartitionError, planning succeeded');
  if (caught.name !== 'PartitionError')
    throw new Error(`expected a PartitionError, got ${caught.name}: ${caught.message}`);
  for (const p of parts) {
    const ok = typeof p === 'string' ? caught.message.includes(p) : p.test(caught.message);
    if (!ok) throw new Error(`PartitionError message ${JSON.stringify(caught.message)} lacks ${String(p)}`);
  }
  return caught;
}
