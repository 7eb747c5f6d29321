// allow_reuse: running an unchanged job again reuses the last completed run's outputs.
//
// "Unchanged" is a fingerprint (sha256) of:
// - the entry script's content, byte for byte;
// - the source directory's file list with each file's size and modification time (its helpers
//   modules, configs: anything the script may import). Bounded to MAX_SOURCE_FILES files; version
//   control, virtual environment and cache folders, the job's runs folder and the spec file
//   itself (its settings are hashed as settings) are skipped;
// - every setting of the resolved JobSpec except those that cannot change the results or what
//   counts as success: `name` (the runs folder is per name already), `spec_path` (moving or
//   renaming the spec file changes nothing computed) and `allow_reuse` itself. Everything else
//   stays in, including process counts, GPUs, timeouts and logging: ParallelRunStep's reuse also
//   treats any change of the step's configuration as a new step, and a user who changes such a
//   setting usually wants to see it take effect;
// - the inputs, side inputs and models: each file's path, size and modification time, listed
//   exactly as the plan lists them (walkInput). This is one stat per file: on an input of a
//   million files, a million stats (a few seconds on a local SSD, much more on a network share),
//   streamed so memory stays flat. File contents are not read: a change that keeps size and
//   modification time (rare outside deliberate `touch -r`) goes unnoticed.
// Not covered: the Python environment's installed packages (only the interpreter path is in the
// spec), and files the script reads that are outside all of the above. `--no-reuse` is the answer.

import { createHash, type Hash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { appendRowFile, type JobSpec } from '../common/spec';
import { walkInput } from './partition';

/** Bump when what goes into the fingerprint changes, so old runs stop matching. */
const FINGERPRINT_VERSION = 1;
/** Source-directory files hashed at most; a larger tree is hashed up to here and marked so. */
export const MAX_SOURCE_FILES = 10_000;
/** Folders of a source directory that never hold what a run computes with. */
const SKIPPED_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  '__pycache__',
  '.venv',
  'venv',
  '.mypy_cache',
  '.pytest_cache',
  '.ipynb_checkpoints',
]);
/** Stats in flight at once while walking inputs. */
const STAT_CONCURRENCY = 32;

/** The JobSpec keys left out of the fingerprint (see the top of this file). */
export const UNFINGERPRINTED_KEYS = ['name', 'spec_path', 'allow_reuse'] as const;

export interface FingerprintOptions {
  /** Folders to leave out of the source-directory listing (the runs folder, when not the default). */
  exclude?: string[];
  /** Default MAX_SOURCE_FILES. */
  maxSourceFiles?: number;
  /**
   * Epoch ms: return null when an input, side input or model was modified after it (a run's start:
   * the run's outputs then do not belong to the inputs as they are now).
   */
  unchangedSince?: number;
}

/**
 * The job's fingerprint: equal for two specs exactly when script, settings and inputs are
 * unchanged (as described at the top of this file). An input that cannot be read does not throw:
 * its error goes into the fingerprint, and such a run fails anyway, so it is never reused.
 */
export async function fingerprint(
  spec: JobSpec,
  options?: FingerprintOptions & { unchangedSince?: undefined },
): Promise<string>;
export async function fingerprint(spec: JobSpec, options: FingerprintOptions): Promise<string | null>;
export async function fingerprint(spec: JobSpec, options: FingerprintOptions = {}): Promise<string | null> {
  const hash = createHash('sha256');
  const latest = { mtimeNs: 0n };
  const put = (...parts: Array<string | number | bigint>) => hash.update(parts.join('\0') + '\n');
  put('prs-fingerprint', FINGERPRINT_VERSION);

  put('settings', canonicalJson(settingsOf(spec)));

  try {
    put(
      'entry_script',
      createHash('sha256')
        .update(await readFile(spec.entry_script))
        .digest('hex'),
    );
  } catch (err) {
    put('entry_script-error', (err as Error).message);
  }

  const exclude = new Set(
    [path.join(spec.spec_path ? path.dirname(spec.spec_path) : spec.source_directory, 'runs')]
      // The spec file's content is in the fingerprint as resolved settings already.
      .concat(spec.spec_path ? [spec.spec_path] : [], options.exclude ?? [])
      .map((p) => path.resolve(p)),
  );
  await hashSourceDir(hash, spec.source_directory, exclude, options.maxSourceFiles ?? MAX_SOURCE_FILES);

  for (const [i, input] of spec.inputs.entries()) {
    put('input', i, input.path);
    await hashFiles(hash, input, latest);
  }
  for (const side of spec.side_inputs) {
    put('side_input', side.name, side.path);
    await hashFiles(hash, { path: side.path, type: 'files' }, latest);
  }
  for (const name of Object.keys(spec.models).sort()) {
    put('model', name, spec.models[name]!);
    await hashFiles(hash, { path: spec.models[name]!, type: 'files' }, latest);
  }
  if (options.unchangedSince !== undefined && latest.mtimeNs > BigInt(options.unchangedSince) * 1_000_000n)
    return null;
  return hash.digest('hex');
}

function settingsOf(spec: JobSpec): Record<string, unknown> {
  const settings: Record<string, unknown> = { ...spec };
  for (const key of UNFINGERPRINTED_KEYS) delete settings[key];
  return settings;
}

/** JSON with object keys sorted at every level, so key order in the spec file does not matter. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Path, size and modification time (ns) of every file the plan would list, in plan order. */
async function hashFiles(
  hash: Hash,
  input: Parameters<typeof walkInput>[0],
  latest: { mtimeNs: bigint },
): Promise<void> {
  const batch: string[] = [];
  const flush = async () => {
    const stats = await Promise.all(batch.map((f) => stat(f, { bigint: true }).catch((err: Error) => err)));
    for (const [i, st] of stats.entries()) {
      if (!(st instanceof Error) && st.mtimeNs > latest.mtimeNs) latest.mtimeNs = st.mtimeNs;
      hash.update(
        st instanceof Error
          ? `file\0${batch[i]}\0error\0${st.message}\n`
          : `file\0${batch[i]}\0${st.size}\0${st.mtimeNs}\n`,
      );
    }
    batch.length = 0;
  };
  try {
    for await (const file of walkInput(input)) {
      batch.push(file.abs);
      if (batch.length >= STAT_CONCURRENCY) await flush();
    }
    await flush();
  } catch (err) {
    hash.update(`walk-error\0${(err as Error).message}\n`);
  }
}

async function hashSourceDir(hash: Hash, root: string, exclude: Set<string>, max: number): Promise<void> {
  let count = 0;
  const walk = async (dir: string): Promise<boolean> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      hash.update(`source-error\0${dir}\0${(err as Error).message}\n`);
      return true;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (SKIPPED_DIRS.has(e.name) || exclude.has(abs)) continue;
        if (!(await walk(abs))) return false;
      } else if ((e.isFile() || e.isSymbolicLink()) && !exclude.has(abs)) {
        if (++count > max) {
          hash.update(`source-truncated\0${max}\n`);
          return false;
        }
        const st = await stat(abs, { bigint: true }).catch(() => null);
        if (st && !st.isDirectory())
          hash.update(`source\0${path.relative(root, abs)}\0${st.size}\0${st.mtimeNs}\n`);
      }
    }
    return true;
  };
  await walk(root);
}

/** What findReusable reads from run.json; the lead's RunRecord has these fields. */
interface RecordFields {
  fingerprint?: string;
  spec?: Pick<JobSpec, 'output_action' | 'append_row_file_name' | 'append_row_folder'>;
  summary?: { status?: string; reused_from?: string };
}

/**
 * The most recent completed run in `runsDirForJob` (runs/<name>/) whose run.json has this
 * fingerprint and whose outputs are still there; null when there is none. Runs that were
 * themselves reuses are skipped: the original run holds the outputs. Folders that are not runs,
 * or whose run.json cannot be read, are passed over.
 */
export async function findReusable(runsDirForJob: string, fp: string): Promise<string | null> {
  return (await completedRuns(runsDirForJob, fp))[0] ?? null;
}

/**
 * Whether any completed run could be reused at all: the fingerprint costs a stat per input file,
 * so a job without an earlier completed run starts without waiting for it.
 */
export async function hasReusableCandidate(runsDirForJob: string): Promise<boolean> {
  return (await completedRuns(runsDirForJob, null, 1)).length > 0;
}

/** Completed, non-reused runs with outputs present, newest first; with `fp`, only those matching it. */
async function completedRuns(runsDirForJob: string, fp: string | null, limit = 1): Promise<string[]> {
  const found: string[] = [];
  let names: string[];
  try {
    names = await readdir(runsDirForJob);
  } catch {
    return found;
  }
  // Run ids sort by start time: newest first.
  names.sort().reverse();
  for (const name of names) {
    const runDir = path.join(runsDirForJob, name);
    let record: RecordFields;
    try {
      record = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')) as RecordFields;
    } catch {
      continue;
    }
    if ((fp !== null && record.fingerprint !== fp) || record.summary?.status !== 'completed') continue;
    if (record.summary.reused_from) continue;
    if (record.spec?.output_action === 'append_row') {
      const output = path.join(runDir, appendRowFile(record.spec));
      if (!(await stat(output).catch(() => null))) continue;
    }
    found.push(runDir);
    if (found.length >= limit) break;
  }
  return found;
}
