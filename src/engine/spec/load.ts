// Spec file -> JobSpec: read YAML or JSON, map an Azure ML v2 job onto the spec format, validate
// (specSchema.ts), then check the disk and resolve every path. Every problem is collected before
// anything is refused, so a user fixes the spec in one pass.

import type { Dirent } from 'node:fs';
import { opendir, readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import picomatch from 'picomatch';
import type { InputSpec, InputType, JobSpec, Runtime, SideInput, TabularFormat } from '../../common/spec';
import { parseMiniBatchSize } from '../../common/size';
import {
  extensionsOfFormat,
  formatProblem,
  parseSpecFile,
  runtimeForEntryScript,
  tabularFormatForPath,
  type SpecFile,
  type SpecProblem,
} from '../../common/specSchema';
import { resolveInterpreter } from '../../runtime/interpreter';
import { ENCODING_NAMES } from '../../runtime/textEncoding';
import { fromAzureMlV2, looksLikeAzureMlV2 } from './azuremlV2';
import { looksLikeBatchDeployment } from './deploymentShape';
import { duplicateJsonKeys } from './jsonDuplicateKeys';
import { readDataMltable, type MltableResult } from './mltable';
import {
  PASS_THROUGH_KEYS,
  findFlag,
  passThroughValue,
  withoutFlag,
  type PassThroughKey,
} from './passThrough';
import { isRegisteredModelReference, resolveRegisteredModel } from './modelRegistry';

export type LoadResult = { ok: true; spec: JobSpec; warnings: string[] } | { ok: false; problems: string[] };

/** Read, validate and resolve a spec file (.yaml/.yml or .json; anything else is read as YAML). */
export async function loadSpec(specPath: string): Promise<LoadResult> {
  const read = await readSpecDocument(specPath);
  if (!read.ok) return read;
  if (looksLikeBatchDeployment(read.value)) {
    return {
      ok: false,
      problems: [
        `${specPath}: a batch deployment, which scores the data it is given (expected prs run ${path.basename(specPath)} --input PATH)`,
      ],
    };
  }
  const abs = path.resolve(specPath);
  return resolveSpec(read.value, path.dirname(abs), abs);
}

/** A spec file's parsed content, never empty (the problems name the file). */
export async function readSpecDocument(specPath: string): Promise<TextParse> {
  const abs = path.resolve(specPath);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a folder'
          : `cannot be read (${code ?? String(err)})`;
    return { ok: false, problems: [`${specPath}: ${why} (expected a job spec file, .yaml or .json)`] };
  }
  const parsed =
    path.extname(abs).toLowerCase() === '.json' ? parseJson(text, specPath) : await parseYaml(text, specPath);
  if (!parsed.ok) return parsed;
  if (parsed.value === null || parsed.value === undefined) {
    return {
      ok: false,
      problems: [
        `${specPath}: the file is empty (expected a mapping of keys such as name, entry_script, inputs)`,
      ],
    };
  }
  return parsed;
}

/** yaml's own default: generous for real specs, which use an alias or two. */
const MAX_ALIAS_COUNT = 100;

export type TextParse = { ok: true; value: unknown } | { ok: false; problems: string[] };

async function parseYaml(text: string, file: string): Promise<TextParse> {
  // Loaded on use: the YAML parser takes tens of milliseconds to load, and a JSON spec (scripts,
  // benchmarks) should not pay for it at every start.
  const { parseDocument } = await import('./yamlParser');
  const doc = parseDocument(text);
  if (doc.errors.length === 0) {
    try {
      return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
    } catch (err) {
      // yaml throws (a ReferenceError) once aliases would expand past the count: a "billion
      // laughs" document, a few hundred bytes that would take gigabytes.
      if (!/alias/i.test((err as Error).message)) throw err;
      return {
        ok: false,
        problems: [
          `${file}: its aliases (*name) expand to too many nodes, as in a "billion laughs" document (expected aliases used at most ${MAX_ALIAS_COUNT} times over, without nesting them exponentially)`,
        ],
      };
    }
  }
  return {
    ok: false,
    problems: doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      // yaml appends " at line L, column C:" and a code excerpt; the position goes in front instead.
      const message = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message} (expected valid YAML)`;
    }),
  };
}

function parseJson(text: string, file: string): TextParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    let where = '';
    if (at) {
      const before = text.slice(0, Number(at[1]));
      const line = before.split('\n').length;
      where = `:${line}:${before.length - before.lastIndexOf('\n')}`;
    }
    const what = message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    return { ok: false, problems: [`${file}${where}: ${what} (expected valid JSON)`] };
  }
  const duplicates = duplicateJsonKeys(text);
  if (duplicates.length > 0) {
    return {
      ok: false,
      problems: duplicates.map(
        (d) =>
          `${file}:${d.line}:${d.col}: ${d.path}: the key is given twice in one mapping (expected each key once; JSON would silently keep the last)`,
      ),
    };
  }
  return { ok: true, value };
}

/**
 * Validate and resolve an already-parsed spec (spec format or Azure ML v2). Relative paths resolve
 * against `specDir`; `specPath` is recorded in the JobSpec.
 */
export async function resolveSpec(raw: unknown, specDir: string, specPath?: string): Promise<LoadResult> {
  const dir = path.resolve(specDir);
  const warnings: string[] = [];
  let userRaw: unknown = raw;
  let isV2 = false;
  let mlflowModels: string[] = [];
  let early: SpecProblem[] = [];
  let toKeyPath = (p: string) => p;
  const v2Outputs: Pick<JobSpec, 'outputs' | 'append_row_folder'> = {};
  let mltable: MltableResult | undefined;
  if (looksLikeAzureMlV2(raw)) {
    // input_data's MLTable file first: one without a read step makes the input a files input.
    const table = await readDataMltable(raw, dir);
    warnings.push(...table.warnings);
    mltable = table.result;
    const mltableTypes = table.name && mltable?.ok ? { [table.name]: mltable.value.type } : undefined;
    const imported = fromAzureMlV2(raw, { baseDir: dir, ...(mltableTypes ? { mltableTypes } : {}) });
    userRaw = imported.spec;
    if (Object.keys(imported.outputs).length) v2Outputs.outputs = imported.outputs;
    if (imported.appendRowFolder) v2Outputs.append_row_folder = imported.appendRowFolder;
    early = imported.problems;
    warnings.push(...imported.warnings);
    toKeyPath = imported.toV2Path;
    mlflowModels = imported.mlflowModels;
    isV2 = true;
  }

  const parsed = parseSpecFile(userRaw);
  const problems: SpecProblem[] = parsed.ok ? [] : [...parsed.problems];
  const loose = isRecord(userRaw) ? userRaw : {};
  const disk = await checkDisk(parsed.ok ? parsed.value : loose, dir, problems, warnings, mltable);

  let merged: PassThroughSettings | undefined;
  if (parsed.ok) merged = mergePassThrough(parsed.value, loose, problems, warnings, toKeyPath);

  // A v2 mlflow_model input is an MLflow model folder.
  for (const name of mlflowModels) {
    const at = disk.models[name];
    if (at !== undefined && (await kindOf(path.join(at, 'MLmodel'))) !== 'file')
      problems.push({
        path: `models.${name}`,
        message: `${at} has no MLmodel file (expected an MLflow model folder for type mlflow_model; any other model folder is type custom_model)`,
      });
  }

  // Problems of a v2 document name its own keys; one key reported while mapping is not reported again.
  const reported = early.map((p) => p.path);
  const all = [
    ...early,
    ...problems
      .map((p) => ({ ...p, path: toKeyPath(p.path) }))
      .filter((p) => !reported.some((r) => p.path === r || p.path.startsWith(`${r}.`))),
  ];
  if (all.length > 0 || !parsed.ok || !merged) return { ok: false, problems: all.map(formatProblem) };

  const v = parsed.value;
  const inputType = v.inputs[0].type;
  if (v.partition_keys && v.mini_batch_size !== undefined) {
    warnings.push('mini_batch_size: not used, partition_keys make one mini-batch per partition');
  }
  if (v.python !== undefined && disk.runtime === 'node')
    warnings.push('python: not used by the node runtime');

  const spec: JobSpec = {
    name: v.name,
    ...(specPath ? { spec_path: path.resolve(specPath) } : {}),
    entry_script: disk.entryScript!,
    source_directory: disk.sourceDirectory!,
    runtime: disk.runtime!,
    ...(disk.python ? { python: disk.python } : {}),
    inputs: disk.inputs as InputSpec[],
    input_type: inputType,
    side_inputs: disk.sideInputs,
    // Validated by the schema against the input type, so not null here.
    mini_batch_size: parseMiniBatchSize(v.mini_batch_size, inputType)!,
    ...(v.partition_keys ? { partition_keys: v.partition_keys } : {}),
    error_threshold: merged.error_threshold,
    allowed_failed_count: v.allowed_failed_count,
    allowed_failed_percent: merged.allowed_failed_percent,
    output_action: v.output_action,
    append_row_file_name: merged.append_row_file_name,
    ...v2Outputs,
    node_count: v.node_count,
    process_count_per_node: v.process_count_per_node,
    gpus: v.gpus,
    run_invocation_timeout: v.run_invocation_timeout,
    run_max_try: v.run_max_try,
    logging_level: v.logging_level,
    // ${{inputs.x}} of a registered model (azureml:x:1), left by the v2 import: its folder, as Azure ML mounts it.
    arguments: isV2
      ? merged.arguments.map((a) =>
          a.replace(
            /\$\{\{inputs\.([A-Za-z0-9_.-]+)\}\}/g,
            (w, name: string) => disk.registeredModelFolders?.[name] ?? w,
          ),
        )
      : merged.arguments,
    models: disk.models,
    environment_variables: v.environment_variables,
    resource_monitor_interval: merged.resource_monitor_interval,
    ...(merged.profiling_module ? { profiling_module: merged.profiling_module } : {}),
    allow_reuse: v.allow_reuse,
  };
  return { ok: true, spec, warnings };
}

type PassThroughSettings = Pick<
  JobSpec,
  | 'error_threshold'
  | 'allowed_failed_percent'
  | 'resource_monitor_interval'
  | 'profiling_module'
  | 'append_row_file_name'
  | 'arguments'
>;

/**
 * PRS settings given as flags in `arguments` (`--resource_monitor_interval 20`, as Azure ML v2 jobs
 * must) set their spec keys and leave the argument list, so that a spec and its v2 export resolve
 * alike. A key written in the spec wins over its flag, with a warning when they differ.
 */
function mergePassThrough(
  v: SpecFile,
  raw: Record<string, unknown>,
  problems: SpecProblem[],
  warnings: string[],
  toKeyPath: (userPath: string) => string,
): PassThroughSettings {
  const out: PassThroughSettings = {
    error_threshold: v.error_threshold,
    allowed_failed_percent: v.allowed_failed_percent,
    resource_monitor_interval: v.resource_monitor_interval,
    ...(v.profiling_module ? { profiling_module: v.profiling_module } : {}),
    append_row_file_name: v.append_row_file_name,
    arguments: v.arguments,
  };
  for (const key of PASS_THROUGH_KEYS) {
    const hit = findFlag(v.arguments, key);
    if (!hit) continue;
    out.arguments = withoutFlag(out.arguments, key);
    const parsed = passThroughValue(key, hit.value);
    if ('error' in parsed) {
      const inline = v.arguments[hit.index].includes('=');
      const at = hit.value === undefined || inline ? hit.index : hit.index + 1;
      problems.push({ path: `arguments.${at}`, message: parsed.error });
    } else if (raw[key] !== undefined) {
      if (parsed.value !== v[key])
        warnings.push(
          `${toKeyPath('arguments')}: --${key} ${hit.value} is overridden by ${toKeyPath(key)}: ${v[key]}`,
        );
    } else {
      (out as Record<PassThroughKey, unknown>)[key] = parsed.value;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The disk

interface DiskResult {
  sourceDirectory?: string;
  entryScript?: string;
  runtime?: Runtime;
  python?: string;
  inputs: Array<InputSpec | undefined>;
  sideInputs: SideInput[];
  models: Record<string, string>;
  /** Models given as azureml:<name>:<version>: their version's folder in the registry. */
  registeredModelFolders?: Record<string, string>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

async function kindOf(p: string): Promise<'file' | 'folder' | 'other' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

function where(given: string, abs: string): string {
  return path.isAbsolute(given) ? '' : ` at ${abs}`;
}

/**
 * Disk checks on a spec that may itself be partly invalid: each key is checked only if it has the
 * right shape, so the disk's problems join the schema's in the same report.
 */
async function checkDisk(
  spec: SpecFile | Record<string, unknown>,
  dir: string,
  problems: SpecProblem[],
  warnings: string[],
  mltable?: MltableResult,
): Promise<DiskResult> {
  const s = spec as Record<string, unknown>;
  const out: DiskResult = { inputs: [], sideInputs: [], models: {} };
  const problem = (p: string, message: string) => problems.push({ path: p, message });

  // source_directory, then entry_script inside it.
  const sdGiven = s.source_directory === undefined ? '.' : str(s.source_directory);
  if (sdGiven !== undefined) {
    const abs = path.resolve(dir, expandHome(sdGiven));
    const kind = await kindOf(abs);
    if (kind === 'folder') out.sourceDirectory = abs;
    else if (kind === undefined)
      problem('source_directory', `"${sdGiven}" does not exist${where(sdGiven, abs)} (expected a folder)`);
    else
      problem('source_directory', `"${sdGiven}" is not a folder${where(sdGiven, abs)} (expected a folder)`);
  }
  const es = str(s.entry_script);
  if (es !== undefined && out.sourceDirectory) {
    const abs = path.resolve(out.sourceDirectory, expandHome(es));
    const kind = await kindOf(abs);
    if (kind === 'file') out.entryScript = abs;
    else if (kind === undefined) {
      problem(
        'entry_script',
        `"${es}" does not exist${where(es, abs)} (expected a file, relative to source_directory)`,
      );
    } else
      problem(
        'entry_script',
        `"${es}" is not a file${where(es, abs)} (expected a file, relative to source_directory)`,
      );
  }
  if (es !== undefined) {
    const runtime = s.runtime === 'python' || s.runtime === 'node' ? s.runtime : runtimeForEntryScript(es);
    if (runtime) out.runtime = runtime;
  }

  const py = str(s.python);
  if (py !== undefined) {
    const r = await resolveInterpreter(py, { baseDir: dir });
    if (r.ok) out.python = r.executable;
    else problem('python', r.problem);
  }

  if (mltable?.ok) {
    // The MLTable file says which files the input is, and how to read them.
    out.inputs = mltable.value.inputs;
    warnings.push(...mltable.value.warnings);
  } else if (mltable) {
    for (const message of mltable.problems) problem('inputs.0', message);
  } else if (Array.isArray(s.inputs)) {
    for (let i = 0; i < s.inputs.length; i++) {
      out.inputs.push(await checkInput(s.inputs[i], i, dir, problem, warnings));
    }
  }

  if (Array.isArray(s.side_inputs)) {
    for (let i = 0; i < s.side_inputs.length; i++) {
      const side = s.side_inputs[i];
      const p = isRecord(side) ? str(side.path) : undefined;
      if (!isRecord(side) || p === undefined || typeof side.name !== 'string') continue;
      const abs = path.resolve(dir, expandHome(p));
      if ((await kindOf(abs)) === undefined) {
        problem(`side_inputs.${i}.path`, `"${p}" does not exist${where(p, abs)} (expected a file or folder)`);
      } else out.sideInputs.push({ name: side.name, path: abs });
    }
  }

  if (isRecord(s.models)) {
    for (const [name, value] of Object.entries(s.models)) {
      const p = str(value);
      if (p === undefined) continue;
      if (isRegisteredModelReference(p)) {
        const found = await resolveRegisteredModel(p);
        if ('problem' in found) problem(`models.${name}`, found.problem);
        else {
          out.models[name] = found.path;
          (out.registeredModelFolders ??= {})[name] = found.folder;
        }
        continue;
      }
      const abs = path.resolve(dir, expandHome(p));
      if ((await kindOf(abs)) === undefined) {
        problem(`models.${name}`, `"${p}" does not exist${where(p, abs)} (expected a model file or folder)`);
      } else out.models[name] = abs;
    }
  }
  return out;
}

const FORMAT_LIST = 'csv, tsv, jsonl or parquet';
/** Enough files to tell a folder's format without walking a huge tree to the end. */
const FORMAT_SCAN_LIMIT = 10_000;

async function checkInput(
  input: unknown,
  i: number,
  dir: string,
  problem: (p: string, m: string) => void,
  warnings: string[],
): Promise<InputSpec | undefined> {
  if (!isRecord(input)) return undefined;
  const given = str(input.path);
  if (given === undefined) return undefined;
  const type: InputType = input.type === 'tabular' ? 'tabular' : 'files';
  const pattern = str(input.pattern);
  if (input.encoding !== undefined && type !== 'tabular')
    warnings.push(`inputs.${i}.encoding: not used, only tabular inputs are read as text`);
  let format = (['csv', 'tsv', 'jsonl', 'parquet'] as const).find((f) => f === input.format);
  const at = `inputs.${i}`;
  const abs = path.resolve(dir, expandHome(given));
  const kind = await kindOf(abs);

  let root: string;
  let matcher: (rel: string) => boolean;
  if (kind === 'file') {
    if (pattern) warnings.push(`${at}.pattern: not used, the input is a single file`);
    if (type === 'tabular' && !format) {
      format = tabularFormatForPath(abs);
      if (!format) {
        problem(
          `${at}.format`,
          `missing, and "${given}" has no known extension (expected format: ${FORMAT_LIST})`,
        );
        return undefined;
      }
    }
    return build();
  } else if (kind === 'folder') {
    root = abs;
    matcher = pattern ? picomatch(pattern, { dot: true }) : () => true;
  } else if (kind === undefined && picomatch.scan(given).isGlob) {
    const scan = picomatch.scan(abs);
    root = scan.base || '/';
    matcher = picomatch(scan.glob, { dot: true });
    if (pattern) warnings.push(`${at}.pattern: not used, the input is a glob`);
    if ((await kindOf(root)) !== 'folder') {
      problem(
        `${at}.path`,
        `the folder of glob "${given}" does not exist${where(given, root)} (expected a folder, a file or a glob)`,
      );
      return undefined;
    }
  } else if (kind === undefined) {
    problem(
      `${at}.path`,
      `"${given}" does not exist${where(given, abs)} (expected a folder, a file or a glob)`,
    );
    return undefined;
  } else {
    problem(`${at}.path`, `"${given}" is neither a file nor a folder (expected a folder, a file or a glob)`);
    return undefined;
  }

  // A folder or glob: it must match a file; a tabular one without format takes its files' format.
  const globFormat = kind === undefined ? tabularFormatForPath(given) : undefined;
  const wantFormats = type === 'tabular' && !format && !globFormat;
  const found = new Set<TabularFormat>();
  let any = false;
  let scanned = 0;
  for await (const rel of walkFiles(root, wantFormats)) {
    if (!matcher(rel)) continue;
    any = true;
    if (!wantFormats) break;
    const f = tabularFormatForPath(rel);
    if (f) found.add(f);
    if (++scanned >= FORMAT_SCAN_LIMIT) break;
  }
  if (!any) {
    if (kind === undefined)
      problem(`${at}.path`, `glob "${given}" matches no file (expected at least one file)`);
    else if (pattern)
      problem(`${at}.pattern`, `"${pattern}" matches no file under ${abs} (expected at least one file)`);
    else warnings.push(`${at}.path: folder ${abs} has no files`);
  }
  if (type === 'tabular' && !format) {
    if (globFormat) format = globFormat;
    else if (found.size === 1) {
      format = [...found][0];
      // Only that format's files are read, so a README beside the data does not break the job.
      const exts = extensionsOfFormat(format).map((e) => e.slice(1));
      if (kind === 'folder' && !pattern) {
        return build(exts.length === 1 ? `**/*.${exts[0]}` : `**/*.{${exts.join(',')}}`);
      }
    } else if (found.size > 1) {
      problem(
        `${at}.format`,
        `missing, and "${given}" holds ${[...found].join(' and ')} files (expected format: ${FORMAT_LIST})`,
      );
      return undefined;
    } else if (any) {
      problem(
        `${at}.format`,
        `missing, and no file of "${given}" has a .csv, .tsv, .jsonl, .ndjson or .parquet extension (expected format: ${FORMAT_LIST})`,
      );
      return undefined;
    }
  }
  return build();

  function build(filledPattern?: string): InputSpec {
    const p = pattern ?? filledPattern;
    const pf = str((input as Record<string, unknown>).partition_format);
    // UTF-8 is the default and stays implicit (mini-batch descriptors and fingerprints unchanged).
    const encoding = ENCODING_NAMES[str((input as Record<string, unknown>).encoding) ?? 'utf8'];
    return {
      path: abs,
      type,
      ...(p && kind === 'folder' ? { pattern: p } : {}),
      ...(pf ? { partition_format: pf } : {}),
      ...(type === 'tabular' && format ? { format } : {}),
      ...(type === 'tabular' && encoding && encoding !== 'utf8' ? { encoding } : {}),
    };
  }
}

/**
 * Files under root as posix paths relative to it, depth first; symlinked folders are followed.
 * `sorted` reads each folder whole and walks it in name order, for the format scan, whose answer
 * must not depend on the file system's order. Otherwise names come in the order the folder gives
 * them, a few at a time: the check that a folder has a file stops at the first one instead of
 * listing all of them (20 ms for 20,000 files, on the way to every worker's start).
 */
async function* walkFiles(root: string, sorted: boolean, rel = '', depth = 0): AsyncGenerator<string> {
  if (depth > 64) return;
  let entries: Dirent[] | AsyncIterable<Dirent>;
  try {
    const dir = path.join(root, rel);
    entries = sorted
      ? (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
          a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        )
      : await opendir(dir);
  } catch {
    return;
  }
  try {
    for await (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const k = await kindOf(path.join(root, child));
        isDir = k === 'folder';
        isFile = k === 'file';
      }
      if (isFile) yield child;
      else if (isDir) yield* walkFiles(root, sorted, child, depth + 1);
    }
  } catch {
    // A folder that fails part-way through is walked as far as it was read, as one that cannot be
    // opened is not walked: the planner reports what it cannot read.
  }
}
