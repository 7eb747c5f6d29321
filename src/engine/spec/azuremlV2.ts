// Azure ML v2 `type: parallel` job YAML <-> the spec file format (contracts.md §1), both ways:
// imported jobs run locally, and local jobs export to v2 for submission. The mapping is the one of
// prs-behaviour.md; what has no counterpart on the other side is dropped with a warning.
//
// Pure (no file system): the loader checks the disk after mapping. Problems found here name the v2
// key path; `toV2Path` translates the loader's later problems (user-format paths) back to it.

import { formatSizeSpec, parseByteSize, parseFileCount } from '../../common/size';
import {
  NAME_PATTERN,
  SPEC_DEFAULTS,
  parseSpecFile,
  formatProblem,
  showValue,
  type SpecFileInput,
  type SpecProblem,
} from '../../common/specSchema';
import type { JobOutput } from '../../common/spec';
import {
  PASS_THROUGH_KEYS,
  findFlag,
  passThroughValue,
  withoutFlag,
  type PassThroughKey,
} from './passThrough';
import { joinShellWords, splitShellWords } from './shellWords';

export const PARALLEL_JOB_SCHEMA = 'https://azuremlschemas.azureedge.net/latest/parallelJob.schema.json';

const DATA_TYPES = ['uri_folder', 'uri_file', 'mltable'];
const MODEL_TYPES = ['custom_model', 'mlflow_model', 'triton_model'];
const LITERAL_TYPES = ['string', 'integer', 'number', 'boolean'];
const OUTPUT_TYPES = ['uri_folder', 'uri_file', 'mltable', ...MODEL_TYPES];
/** An output is a folder or file name in the run folder: Azure's own naming rule, no dots. */
const OUTPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const EXPRESSION = /\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_.-]+)\s*\}\}/g;
const SINGLE_EXPRESSION = /^\s*\$\{\{\s*(inputs|outputs)\.([A-Za-z0-9_.-]+)\s*\}\}\s*$/;

/** v2 keys this importer reads, plus those it knowingly ignores (cloud-only settings). */
const KNOWN_V2_KEYS = new Set([
  '$schema',
  'type',
  'name',
  'display_name',
  'description',
  'tags',
  'experiment_name',
  'compute',
  'inputs',
  'outputs',
  'input_data',
  'mini_batch_size',
  'partition_keys',
  'mini_batch_error_threshold',
  'error_threshold',
  'logging_level',
  'resources',
  'max_concurrency_per_instance',
  'retry_settings',
  'environment_variables',
  'task',
  'identity',
  'properties',
  'settings',
  'services',
  'queue_settings',
  'is_deterministic',
]);

type Doc = Record<string, unknown>;
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A document that means to be a v2 job: a spec file never has these keys. */
export function looksLikeAzureMlV2(doc: unknown): boolean {
  return isRecord(doc) && ['type', '$schema', 'task', 'input_data'].some((k) => k in doc);
}

export interface AzureMlV2Import {
  /** The job in the spec file format (unvalidated: the loader checks it). */
  spec: Doc;
  /** The job's outputs, which the spec file format has no key for (JobSpec.outputs). */
  outputs: Record<string, JobOutput>;
  /** append_row_to names this folder output (JobSpec.append_row_folder). */
  appendRowFolder?: string;
  /** Model inputs of type mlflow_model (the loader checks their MLmodel file). */
  mlflowModels: string[];
  /** Problems found while mapping, with v2 key paths. */
  problems: SpecProblem[];
  warnings: string[];
  /** A spec-format key path ("inputs.0.path") as the v2 key path it came from ("inputs.data.path"). */
  toV2Path(userPath: string): string;
}

export interface FromAzureMlV2Options {
  /** Folder of the v2 file: paths substituted into program_arguments become absolute against it. */
  baseDir?: string;
  /** What each mltable input's MLTable file makes it (the loader reads them): by default tabular. */
  mltableTypes?: Record<string, 'files' | 'tabular'>;
}

function isCloudPath(p: string): boolean {
  return /^(azureml:|azureml:\/\/|https?:|wasbs?:|abfss?:|adl:|s3:|gs:)/i.test(p);
}

function joinPath(base: string | undefined, p: string): string {
  if (!base || p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\')) return p;
  const sep = base.includes('\\') && !base.includes('/') ? '\\' : '/';
  const rel = p.replace(/^\.[\\/]/, '');
  return rel === '.' || rel === '' ? base : `${base.replace(/[\\/]+$/, '')}${sep}${rel}`;
}

export function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return s;
}

/** The last part of a uri_file output's path when it is a plain file name ("aggregated_returns.csv"). */
function fileNameOf(p: unknown): string | undefined {
  if (typeof p !== 'string') return undefined;
  const last = p.split(/[\\/]/).pop() ?? '';
  return last === '' || last === '.' || last === '..' || /[$:{}]/.test(last) ? undefined : last;
}

/**
 * outputs: each lies in the run folder's outputs/, a folder named for the output or, for a
 * uri_file, the file its path names (outputs/<name> without one). A path elsewhere (a datastore,
 * a local folder) is not written: the run folder stays self-contained.
 */
function readOutputs(
  given: unknown,
  outputs: Record<string, JobOutput>,
  problem: (path: string, message: string) => void,
  warnings: string[],
): void {
  if (given === undefined || given === null) return;
  if (!isRecord(given)) {
    problem(
      'outputs',
      `${showValue(given)} is not a valid output map (expected a mapping of output name to output)`,
    );
    return;
  }
  const taken = new Map<string, string>();
  for (const [name, value] of Object.entries(given)) {
    const at = `outputs.${name}`;
    if (!OUTPUT_NAME.test(name)) {
      problem(
        at,
        `"${name}" is not a valid output name (expected letters, digits, _ and -, not first a digit)`,
      );
      continue;
    }
    // A pipeline's binding (${{parent.outputs.y}}): run alone, the node's output is a folder of its own.
    const binding = typeof value === 'string' && /^\s*\$\{\{.*\}\}\s*$/.test(value);
    if (!binding && value !== null && !isRecord(value)) {
      problem(
        at,
        `${showValue(value)} is not a valid output (expected a mapping such as {type: uri_folder})`,
      );
      continue;
    }
    const spec = isRecord(value) ? value : {};
    const type = spec.type ?? 'uri_folder';
    if (typeof type !== 'string' || !OUTPUT_TYPES.includes(type)) {
      problem(
        `${at}.type`,
        `${showValue(type)} is not a valid output type (expected one of ${OUTPUT_TYPES.join(', ')})`,
      );
      continue;
    }
    const kind = type === 'uri_file' ? 'file' : 'folder';
    const rel = (kind === 'file' ? fileNameOf(spec.path) : undefined) ?? name;
    const other = taken.get(rel);
    if (other !== undefined) {
      problem(
        `${at}.path`,
        `outputs/${rel} is where output ${other} goes too (expected outputs with distinct names or file names)`,
      );
      continue;
    }
    taken.set(rel, name);
    outputs[name] = { kind, path: rel };
    if (binding) {
      warnings.push(
        `${at}: ${String(value)} binds a pipeline output; run alone, the output is outputs/${rel}`,
      );
    } else if (spec.path !== undefined) {
      warnings.push(
        `${at}.path: ${typeof spec.path === 'string' ? `"${spec.path}"` : showValue(spec.path)} is not written here; the output is outputs/${rel} in the run folder`,
      );
    }
  }
}

export function fromAzureMlV2(doc: unknown, options: FromAzureMlV2Options = {}): AzureMlV2Import {
  const problems: SpecProblem[] = [];
  const warnings: string[] = [];
  const spec: Doc = {};
  const problem = (path: string, message: string) => problems.push({ path, message });
  const pathMap: Record<string, string> = {};
  const toV2Path = (userPath: string): string => {
    const parts = userPath.split('.');
    for (let n = parts.length; n > 0; n--) {
      const head = parts.slice(0, n).join('.');
      if (head in pathMap) return [pathMap[head], ...parts.slice(n)].join('.');
    }
    return userPath;
  };
  const outputs: Record<string, JobOutput> = {};
  const mlflowModels: string[] = [];
  const result: AzureMlV2Import = { spec, outputs, mlflowModels, problems, warnings, toV2Path };
  if (!isRecord(doc)) {
    problem('spec', `${showValue(doc)} is not a valid Azure ML job (expected a mapping of keys)`);
    return result;
  }

  if (doc.type !== undefined && doc.type !== 'parallel') {
    problem('type', `${showValue(doc.type)} is not a supported job type (expected parallel)`);
  }
  for (const key of Object.keys(doc)) {
    if (!KNOWN_V2_KEYS.has(key)) warnings.push(`${key}: unknown Azure ML v2 key, ignored`);
  }

  // name: ours is stricter than Azure's, so an Azure name may need reshaping.
  const nameSource = (['name', 'display_name', 'experiment_name'] as const).find(
    (k) => typeof doc[k] === 'string',
  );
  if (nameSource) {
    const given = doc[nameSource] as string;
    const name = NAME_PATTERN.test(given) && given.length <= 32 ? given : slug(given);
    if (name !== given) warnings.push(`${nameSource}: "${given}" is used as the job name "${name}"`);
    spec.name = name;
    pathMap.name = nameSource;
  } else if (doc.name !== undefined) {
    spec.name = doc.name;
    pathMap.name = 'name';
  }

  // inputs: data (one is input_data, the rest side inputs), models, literal values.
  const literals: Record<string, string> = {};
  const dataInputs: Record<string, { type: string; path: string }> = {};
  const models: Record<string, string> = {};
  if (doc.inputs !== undefined && !isRecord(doc.inputs)) {
    problem(
      'inputs',
      `${showValue(doc.inputs)} is not a valid input map (expected a mapping of input name to input)`,
    );
  }
  for (const [name, value] of Object.entries(isRecord(doc.inputs) ? doc.inputs : {})) {
    const at = `inputs.${name}`;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      literals[name] = String(value);
      continue;
    }
    if (!isRecord(value)) {
      problem(
        at,
        `${showValue(value)} is not a valid input (expected a mapping with type and path, or a value)`,
      );
      continue;
    }
    const type = value.type ?? 'uri_folder';
    if (typeof type === 'string' && LITERAL_TYPES.includes(type)) {
      const v = value.default ?? value.value;
      if (v === undefined) problem(at, 'a literal input without a value (expected default: <value>)');
      else literals[name] = String(v);
      continue;
    }
    if (typeof type !== 'string' || (!DATA_TYPES.includes(type) && !MODEL_TYPES.includes(type))) {
      problem(
        `${at}.type`,
        `${showValue(type)} is not a valid input type (expected one of ${[...DATA_TYPES, ...MODEL_TYPES, ...LITERAL_TYPES].join(', ')})`,
      );
      continue;
    }
    if (typeof value.path !== 'string' || value.path === '') {
      problem(
        `${at}.path`,
        `${value.path === undefined ? 'missing' : `${showValue(value.path)} is not a valid path`} (expected a local file or folder path)`,
      );
      continue;
    }
    // A model may be one of the local model registry's (azureml:<name>:<version>): the loader finds it.
    const registered = MODEL_TYPES.includes(type) && /^azureml:[^/]+$/.test(value.path);
    if (isCloudPath(value.path) && !registered) {
      problem(`${at}.path`, `"${value.path}" is a cloud location (expected a local file or folder path)`);
      continue;
    }
    if (type === 'mlflow_model') mlflowModels.push(name);
    if (MODEL_TYPES.includes(type)) models[name] = value.path;
    else dataInputs[name] = { type, path: value.path };
  }

  readOutputs(doc.outputs, outputs, problem, warnings);

  // input_data: ${{inputs.x}} names the partitioned input.
  let dataName: string | undefined;
  const dataNames = Object.keys(dataInputs);
  if (doc.input_data === undefined) {
    problem(
      'input_data',
      `missing (expected \${{inputs.<name>}} of one of: ${dataNames.join(', ') || 'the data inputs'})`,
    );
  } else {
    const m = typeof doc.input_data === 'string' ? SINGLE_EXPRESSION.exec(doc.input_data) : null;
    if (!m || m[1] !== 'inputs' || !(m[2] in dataInputs)) {
      problem(
        'input_data',
        `${showValue(doc.input_data)} names no data input (expected \${{inputs.<name>}} of one of: ${dataNames.join(', ') || 'uri_folder, uri_file or mltable inputs'})`,
      );
    } else {
      dataName = m[2];
    }
  }
  let inputType: 'files' | 'tabular' = 'files';
  if (dataName) {
    const d = dataInputs[dataName];
    inputType = d.type === 'mltable' ? (options.mltableTypes?.[dataName] ?? 'tabular') : 'files';
    spec.inputs = [{ path: d.path, type: inputType }];
    pathMap.inputs = 'input_data';
    pathMap['inputs.0'] = `inputs.${dataName}`;
    pathMap['inputs.0.format'] = `inputs.${dataName}.type`;
  }
  const sideNames = dataNames.filter((n) => n !== dataName);
  if (sideNames.length) {
    spec.side_inputs = sideNames.map((name) => ({ name, path: dataInputs[name].path }));
    sideNames.forEach((name, i) => {
      pathMap[`side_inputs.${i}`] = `inputs.${name}`;
      pathMap[`side_inputs.${i}.name`] = `inputs.${name}`;
    });
  }
  if (Object.keys(models).length) {
    spec.models = models;
    for (const name of Object.keys(models)) pathMap[`models.${name}`] = `inputs.${name}.path`;
  }

  // mini_batch_size: a count for files, a size ("100 kb") for mltable.
  if (doc.mini_batch_size !== undefined) {
    const v = doc.mini_batch_size;
    if (inputType === 'files') {
      const n = parseFileCount(v);
      if (n === null) {
        problem(
          'mini_batch_size',
          `${showValue(v)} is not a valid mini-batch size for a file input (expected a number of files such as "10")`,
        );
      } else spec.mini_batch_size = n;
    } else {
      if (parseByteSize(v) === null) {
        problem(
          'mini_batch_size',
          `${showValue(v)} is not a valid mini-batch size for an mltable input (expected a size such as "100 kb", "10mb", "1gb")`,
        );
      } else spec.mini_batch_size = typeof v === 'string' ? v.replace(/\s+/g, '') : v;
    }
  }

  const copy = (from: string, to: string) => {
    if (doc[from] !== undefined) {
      spec[to] = doc[from];
      pathMap[to] = from;
    }
  };
  copy('partition_keys', 'partition_keys');
  copy('mini_batch_error_threshold', 'allowed_failed_count');
  copy('error_threshold', 'error_threshold');
  copy('max_concurrency_per_instance', 'process_count_per_node');
  copy('environment_variables', 'environment_variables');
  if (doc.logging_level !== undefined) {
    spec.logging_level =
      typeof doc.logging_level === 'string' ? doc.logging_level.toUpperCase() : doc.logging_level;
  }

  if (isRecord(doc.resources)) {
    if (doc.resources.instance_count !== undefined) spec.node_count = doc.resources.instance_count;
    pathMap.node_count = 'resources.instance_count';
  } else if (doc.resources !== undefined) {
    problem(
      'resources',
      `${showValue(doc.resources)} is not valid (expected a mapping such as {instance_count: 2})`,
    );
  }

  if (isRecord(doc.retry_settings)) {
    const { max_retries, timeout } = doc.retry_settings;
    if (max_retries !== undefined) {
      if (typeof max_retries !== 'number' || !Number.isInteger(max_retries) || max_retries < 0) {
        problem(
          'retry_settings.max_retries',
          `${showValue(max_retries)} is not a valid retry count (expected a whole number >= 0)`,
        );
      } else spec.run_max_try = max_retries + 1;
    }
    if (timeout !== undefined) spec.run_invocation_timeout = timeout;
  } else if (doc.retry_settings !== undefined) {
    problem(
      'retry_settings',
      `${showValue(doc.retry_settings)} is not valid (expected a mapping with max_retries and timeout)`,
    );
  }
  pathMap.run_max_try = 'retry_settings.max_retries';
  pathMap.run_invocation_timeout = 'retry_settings.timeout';

  // task
  const task = doc.task;
  pathMap.entry_script = 'task.entry_script';
  pathMap.runtime = 'task.entry_script';
  pathMap.source_directory = 'task.code';
  pathMap.arguments = 'task.program_arguments';
  pathMap.output_action = 'task.append_row_to';
  // A flag's own key: unless the v2 document has that key (error_threshold), it came from the flag.
  for (const key of PASS_THROUGH_KEYS) pathMap[key] ??= 'task.program_arguments';
  if (!isRecord(task)) {
    problem(
      'task',
      `${task === undefined ? 'missing' : `${showValue(task)} is not valid`} (expected a mapping with type: run_function, code and entry_script)`,
    );
    return result;
  }
  if (task.type !== undefined && task.type !== 'run_function') {
    problem('task.type', `${showValue(task.type)} is not a supported task type (expected run_function)`);
  }
  if (typeof task.code === 'string' && isCloudPath(task.code)) {
    problem('task.code', `"${task.code}" is a cloud location (expected a local folder path)`);
  } else if (task.code !== undefined) spec.source_directory = task.code;
  if (task.entry_script !== undefined) spec.entry_script = task.entry_script;
  if (task.environment !== undefined) {
    warnings.push(
      'task.environment: not used locally; workers run the python of the spec (default: python3 on PATH)',
    );
  }

  let args: string[] = [];
  const pa = task.program_arguments;
  if (typeof pa === 'string') {
    // `${{ inputs.x }}` is one expression however it is spaced: one word once split.
    const split = splitShellWords(
      pa.replace(EXPRESSION, (_w, kind: string, name: string) => `\${{${kind}.${name}}}`),
    );
    if (split.ok) args = split.words;
    else problem('task.program_arguments', `${split.error} (expected balanced quotes)`);
  } else if (Array.isArray(pa)) {
    args = pa.map(String);
  } else if (pa !== undefined) {
    problem('task.program_arguments', `${showValue(pa)} is not valid (expected a string of arguments)`);
  }
  // ${{inputs.x}} becomes the input's value or path, as Azure ML would pass it; ${{outputs.y}}
  // stays until a run folder exists (jobOutputs.ts), written one way so that it is found there.
  args = args.map((arg) =>
    arg.replace(EXPRESSION, (whole, kind: string, name: string) => {
      if (kind === 'outputs') {
        if (name in outputs) return `\${{outputs.${name}}}`;
        problem(
          'task.program_arguments',
          `${whole} names no output (expected one of ${Object.keys(outputs).join(', ') || 'the outputs, and the job has none'})`,
        );
        return whole;
      }
      if (name in literals) return literals[name];
      // A registered model's folder is known once the loader has found it in the registry.
      if (models[name]?.startsWith('azureml:')) return `\${{inputs.${name}}}`;
      const p = dataInputs[name]?.path ?? models[name];
      if (p !== undefined) return joinPath(options.baseDir, p);
      problem(
        'task.program_arguments',
        `${whole} names no input (expected one of ${Object.keys(isRecord(doc.inputs) ? doc.inputs : {}).join(', ') || 'the inputs'})`,
      );
      return whole;
    }),
  );
  // PRS settings among the arguments (--allowed_failed_percent 30) stay there: the loader reads them.
  if (args.length) spec.arguments = args;

  if (task.append_row_to !== undefined) {
    spec.output_action = 'append_row';
    const m = typeof task.append_row_to === 'string' ? SINGLE_EXPRESSION.exec(task.append_row_to) : null;
    const target = m && m[1] === 'outputs' ? outputs[m[2]] : undefined;
    if (!target) {
      problem(
        'task.append_row_to',
        `${showValue(task.append_row_to)} names no output (expected \${{outputs.<name>}} of one of: ${Object.keys(outputs).join(', ') || 'the outputs, and the job has none'})`,
      );
    } else if (target.kind === 'file') {
      // A uri_file output is the file itself.
      spec.append_row_file_name = target.path;
      pathMap.append_row_file_name = `outputs.${m![2]}.path`;
    } else {
      // A folder output holds parallel_run_step.txt (or --append_row_file_name), as in Azure ML.
      result.appendRowFolder = target.path;
    }
  } else {
    // Without append_row_to, Azure ML only counts results.
    spec.output_action = 'summary_only';
  }
  return result;
}

export interface ToAzureMlV2Options {
  /** Whether a path is a file or a folder (uri_file / uri_folder); by default, guessed from an extension. */
  kindOf?: (path: string) => 'file' | 'folder' | undefined;
}

export interface AzureMlV2Export {
  doc: Doc;
  /** What the v2 document cannot say, or what Azure ML needs that a local spec lacks. */
  warnings: string[];
}

/**
 * A spec (as written, or as parsed) as an Azure ML v2 parallel job. Paths stay as written:
 * write the document beside the spec file. Throws when the spec itself has problems.
 */
export function toAzureMlV2(spec: SpecFileInput, options: ToAzureMlV2Options = {}): AzureMlV2Export {
  const parsed = parseSpecFile(spec);
  if (!parsed.ok) throw new Error(`the spec has problems:\n${parsed.problems.map(formatProblem).join('\n')}`);
  const s = parsed.value;
  const raw = spec as Record<string, unknown>;
  const warnings: string[] = [];
  const kindOf = (p: string): 'file' | 'folder' =>
    options.kindOf?.(p) ?? (/\.[A-Za-z0-9]{1,8}$/.test(p.split(/[/\\]/).pop() ?? '') ? 'file' : 'folder');

  const inputType = s.inputs[0].type;
  const used = new Set<string>();
  const v2Name = (wanted: string): string => {
    const base = wanted.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(?=[0-9])/, '_');
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    if (name !== wanted) warnings.push(`"${wanted}" is named "${name}" in the v2 inputs`);
    return name;
  };
  const inputs: Doc = {};
  s.inputs.forEach((input, i) => {
    const name = v2Name(i === 0 ? 'input_data' : `input_data_${i}`);
    const glob = /[*?[\]{}]/.test(input.path);
    const type =
      input.type === 'tabular'
        ? 'mltable'
        : glob
          ? 'uri_folder'
          : kindOf(input.path) === 'file'
            ? 'uri_file'
            : 'uri_folder';
    inputs[name] = { type, path: input.path };
    if (i > 0)
      warnings.push(
        `inputs.${i}: v2 takes one input_data; this input is exported as ${name}, unbound (it re-imports as a side input)`,
      );
    if (glob) warnings.push(`inputs.${i}.path: "${input.path}" is a glob, which Azure ML does not expand`);
    if (input.pattern) warnings.push(`inputs.${i}.pattern: no v2 counterpart, left out`);
    if (input.partition_format) warnings.push(`inputs.${i}.partition_format: no v2 counterpart, left out`);
    if (input.format)
      warnings.push(`inputs.${i}.format: no v2 counterpart (the MLTable file says it), left out`);
  });
  for (const side of s.side_inputs) {
    inputs[v2Name(side.name)] = {
      type: kindOf(side.path) === 'file' ? 'uri_file' : 'uri_folder',
      path: side.path,
    };
  }
  for (const [name, p] of Object.entries(s.models)) inputs[v2Name(name)] = { type: 'custom_model', path: p };

  // mini_batch_size as a string, as v2 writes it.
  let miniBatch: string;
  if (inputType === 'files')
    miniBatch = String(parseFileCount(s.mini_batch_size) ?? SPEC_DEFAULTS.mini_batch_size_files);
  else if (typeof s.mini_batch_size === 'string') miniBatch = s.mini_batch_size.replace(/\s+/g, '');
  else if (typeof s.mini_batch_size === 'number') miniBatch = formatSizeSpec(s.mini_batch_size);
  else miniBatch = SPEC_DEFAULTS.mini_batch_size_tabular;

  // Pass-through settings: a spec key wins over the same flag in arguments (as in the loader).
  let args = [...s.arguments];
  const passThrough: string[] = [];
  const defaults: Record<Exclude<PassThroughKey, 'error_threshold'>, unknown> = {
    allowed_failed_percent: SPEC_DEFAULTS.allowed_failed_percent,
    resource_monitor_interval: SPEC_DEFAULTS.resource_monitor_interval,
    profiling_module: undefined,
    append_row_file_name: SPEC_DEFAULTS.append_row_file_name,
  };
  let errorThreshold = s.error_threshold;
  let outputFile = s.append_row_file_name;
  for (const key of PASS_THROUGH_KEYS) {
    const fromArgs = findFlag(args, key)?.value;
    args = withoutFlag(args, key);
    const parsedFlag = fromArgs === undefined ? undefined : passThroughValue(key, fromArgs);
    const flagValue =
      parsedFlag && 'value' in parsedFlag && raw[key] === undefined ? parsedFlag.value : undefined;
    // Where v2 has a place of its own, the flag's value moves there: the error_threshold key, and
    // the output file's path (append_row_to names a uri_file output).
    if (key === 'error_threshold') {
      if (flagValue !== undefined) errorThreshold = Number(flagValue);
      continue;
    }
    if (key === 'append_row_file_name' && s.output_action === 'append_row') {
      if (flagValue !== undefined) outputFile = String(flagValue);
      continue;
    }
    const value = raw[key] !== undefined ? String(s[key]) : fromArgs;
    if (value !== undefined && value !== String(defaults[key])) passThrough.push(`--${key}`, value);
  }
  args = [...args, ...passThrough];

  const doc: Doc = { $schema: PARALLEL_JOB_SCHEMA, type: 'parallel', name: s.name, inputs };
  if (s.output_action === 'append_row')
    doc.outputs = {
      job_output: {
        type: 'uri_file',
        path: `azureml://datastores/\${{default_datastore}}/paths/\${{name}}/${outputFile}`,
        mode: 'rw_mount',
      },
    };
  doc.input_data = '${{inputs.input_data}}';
  doc.mini_batch_size = miniBatch;
  if (s.partition_keys) doc.partition_keys = s.partition_keys;
  doc.mini_batch_error_threshold = s.allowed_failed_count;
  doc.error_threshold = errorThreshold;
  doc.logging_level = s.logging_level;
  doc.resources = { instance_count: s.node_count };
  if (typeof s.process_count_per_node === 'number')
    doc.max_concurrency_per_instance = s.process_count_per_node;
  doc.retry_settings = { max_retries: s.run_max_try - 1, timeout: s.run_invocation_timeout };
  if (Object.keys(s.environment_variables).length) doc.environment_variables = s.environment_variables;
  const task: Doc = { type: 'run_function', code: s.source_directory ?? '.', entry_script: s.entry_script };
  if (args.length) task.program_arguments = joinShellWords(args);
  if (s.output_action === 'append_row') task.append_row_to = '${{outputs.job_output}}';
  doc.task = task;

  if (s.runtime === 'node' || (!s.runtime && !/\.py$/i.test(s.entry_script))) {
    warnings.push('runtime: Azure ML runs Python entry scripts only');
  }
  if (s.python) warnings.push('python: not exported; give task.environment instead');
  if (s.gpus !== 'auto') warnings.push('gpus: no v2 counterpart, left out');
  if (!s.allow_reuse) warnings.push('allow_reuse: no v2 counterpart for a standalone job, left out');
  warnings.push('task.environment and compute are left out: add them before submitting to Azure ML');
  return { doc, warnings };
}
