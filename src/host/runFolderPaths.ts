// Paths a client names, checked against the run folder they must stay in. Every check compares real
// paths (symbolic links resolved), because a run folder's contents are not ours: a script's
// output_dir, a resumed folder someone unzipped, or a link dropped there on purpose can point
// anywhere (a link `outputs/parallel_run_step.txt -> /etc/shadow` must not be served).

import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { RunSummary } from '../common/events';
import type { JobSpec } from '../common/spec';
import { InputError } from '../engine/inputError';

/** What the host reads of run.json (src/engine/run.ts's RunRecord writes more). */
export interface RunJson {
  spec: JobSpec;
  runId?: string;
  environment?: unknown;
  summary?: RunSummary;
  /** The engine's RunRecord writes startedAt (ISO). */
  startedAt?: string | number;
  /** Each resume of the run, oldest first (the engine's RunRecord). */
  resumes?: Array<{ at?: string }>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function within(root: string, full: string): boolean {
  return full === root || full.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/**
 * `rel` inside `root`, as a real path: refused when it names a place outside the folder, or leads
 * there through a symbolic link (in the file itself or any folder on the way).
 */
export async function resolveInside(root: string, rel: string): Promise<string> {
  const lexical = path.resolve(root, rel);
  if (!within(path.resolve(root), lexical)) throw new InputError(`${rel}: not inside the run folder ${root}`);
  const realRoot = await realpath(root);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InputError(`${rel}: no such file in the run folder ${root}`);
    throw err;
  }
  if (!within(realRoot, real))
    throw new InputError(`${rel}: not inside the run folder ${root} (a symbolic link leads outside it)`);
  return real;
}

/** run.json of a folder when it parses as a mapping with the job's spec; else null. */
export async function readRunJson(runDir: string): Promise<RunJson | null> {
  try {
    const json: unknown = JSON.parse(await readFile(await resolveInside(runDir, 'run.json'), 'utf8'));
    return isRecord(json) && isRecord(json.spec) ? (json as unknown as RunJson) : null;
  } catch {
    return null;
  }
}

/** A run record as the engine writes it: what makes a folder safe to delete as "a run". */
export function isRunRecord(json: RunJson | null): boolean {
  return !!json && typeof json.runId === 'string' && typeof json.startedAt === 'string';
}

export interface RunFolder {
  /** The folder's real path: every path inside it is checked against this. */
  dir: string;
  json: RunJson;
}

/** The run folder a client named, or an error saying it is not one. */
export async function openRunFolder(runDir: string): Promise<RunFolder> {
  const abs = path.resolve(runDir);
  const dir = await realpath(abs).catch(() => null);
  const json = dir ? await readRunJson(dir) : null;
  if (!dir || !json)
    throw new InputError(`${abs}: not a run folder (expected a folder whose run.json holds a job's spec)`);
  return { dir, json };
}
