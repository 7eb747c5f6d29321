// The job spec file as users write it (contracts.md §1): its keys, their types and defaults, and
// the checks that need no disk. The engine's loader (src/engine/spec/load.ts) adds the disk checks
// and resolves paths into a JobSpec; the renderer's wizard reuses this file for field-by-field
// validation, so it imports nothing from Node.
//
// Every problem reads `key.path: what is wrong (what was expected)`. Zod's own messages are not
// used: `formatSpecIssues` rebuilds each from the issue's code, path and input, with the noun and
// the expectation of the field it concerns (FIELD_INFO below).

import * as z from 'zod';
import type { InputType, Runtime, TabularFormat } from './spec';
import { parseByteSize, parseFileCount, DEFAULT_FILES_MINI_BATCH_SIZE, SIZE_PATTERN } from './size';

export const NAME_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const INPUT_TYPES = ['files', 'tabular'] as const satisfies readonly InputType[];
export const TABULAR_FORMATS = ['csv', 'tsv', 'jsonl', 'parquet'] as const satisfies readonly TabularFormat[];
export const RUNTIMES = ['python', 'node'] as const satisfies readonly Runtime[];
export const LOGGING_LEVELS = ['WARNING', 'INFO', 'DEBUG'] as const;
export const OUTPUT_ACTIONS = ['append_row', 'summary_only'] as const;

/** Defaults of prs-behaviour.md; mini_batch_size's depends on the input type (see size.ts). */
export const SPEC_DEFAULTS = {
  input_type: 'files',
  mini_batch_size_files: DEFAULT_FILES_MINI_BATCH_SIZE,
  mini_batch_size_tabular: '1MB',
  error_threshold: -1,
  allowed_failed_count: -1,
  allowed_failed_percent: 100,
  output_action: 'append_row',
  append_row_file_name: 'parallel_run_step.txt',
  node_count: 1,
  process_count_per_node: 'auto',
  gpus: 'auto',
  run_invocation_timeout: 60,
  run_max_try: 3,
  logging_level: 'INFO',
  resource_monitor_interval: 600,
  allow_reuse: true,
} as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SIDE_INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

const scalarToString = (booleanText: (b: boolean) => string) =>
  z
    .union([z.string(), z.number(), z.boolean()])
    .transform((v) => (typeof v === 'boolean' ? booleanText(v) : String(v)));

const inputSchema = z.strictObject({
  path: z.string().min(1),
  type: z.enum(INPUT_TYPES).default('files'),
  pattern: z.string().min(1).optional(),
  partition_format: z.string().min(1).optional(),
  format: z.enum(TABULAR_FORMATS).optional(),
  encoding: z.enum(['utf8', 'latin1', 'iso88591', 'windows1252']).optional(),
});

const sideInputSchema = z.strictObject({
  name: z.string().regex(SIDE_INPUT_NAME),
  path: z.string().min(1),
});

const countOrMinusOne = () => z.int().min(-1);

/**
 * Workers per node at most. Each is an OS process with its own interpreter: far more than a
 * machine's cores only thrash, and a count such as 1e8 made Node abort (std::system_error) when
 * the process limit was hit. A fixed bound rather than a multiple of this machine's cores, so a
 * spec valid here is valid on the bigger machine it is meant for.
 */
export const MAX_PROCESS_COUNT = 1024;

const specShape = {
  name: z.string().min(3).max(32).regex(NAME_PATTERN),
  entry_script: z.string().min(1),
  source_directory: z.string().min(1).optional(),
  runtime: z.enum(RUNTIMES).optional(),
  python: z.string().min(1).optional(),
  inputs: z.array(inputSchema).min(1),
  side_inputs: z.array(sideInputSchema).default(() => []),
  mini_batch_size: z.union([z.number(), z.string()]).optional(),
  partition_keys: z.array(z.string().min(1)).min(1).optional(),
  error_threshold: countOrMinusOne().default(SPEC_DEFAULTS.error_threshold),
  allowed_failed_count: countOrMinusOne().default(SPEC_DEFAULTS.allowed_failed_count),
  allowed_failed_percent: z.number().min(0).max(100).default(SPEC_DEFAULTS.allowed_failed_percent),
  output_action: z.enum(OUTPUT_ACTIONS).default(SPEC_DEFAULTS.output_action),
  append_row_file_name: z
    .string()
    .regex(/^[^/\\]+$/)
    .refine((s) => s !== '.' && s !== '..')
    .default(SPEC_DEFAULTS.append_row_file_name),
  node_count: z.int().min(1).default(SPEC_DEFAULTS.node_count),
  process_count_per_node: z
    .union([z.literal('auto'), z.int().min(1).max(MAX_PROCESS_COUNT)])
    .default(SPEC_DEFAULTS.process_count_per_node),
  gpus: z.union([z.literal('auto'), z.literal('none'), z.array(z.int().min(0))]).default(SPEC_DEFAULTS.gpus),
  run_invocation_timeout: z.number().positive().default(SPEC_DEFAULTS.run_invocation_timeout),
  run_max_try: z.int().min(1).default(SPEC_DEFAULTS.run_max_try),
  logging_level: z.enum(LOGGING_LEVELS).default(SPEC_DEFAULTS.logging_level),
  // Booleans as Python's str() writes them: these usually feed argparse in Azure-era scripts.
  arguments: z.array(scalarToString((b) => (b ? 'True' : 'False'))).default(() => []),
  models: z.record(z.string(), z.string().min(1)).default(() => ({})),
  environment_variables: z
    .record(
      z.string(),
      scalarToString((b) => String(b)),
    )
    .default(() => ({})),
  resource_monitor_interval: z.number().min(0).default(SPEC_DEFAULTS.resource_monitor_interval),
  profiling_module: z.string().min(1).optional(),
  allow_reuse: z.boolean().default(SPEC_DEFAULTS.allow_reuse),
};

export const SPEC_KEYS = Object.keys(specShape) as Array<keyof typeof specShape>;
export const INPUT_KEYS = Object.keys(inputSchema.shape);
export const SIDE_INPUT_KEYS = Object.keys(sideInputSchema.shape);

/** The spec file format, with its defaults and every cross-key check that needs no disk. */
export const specFileSchema = z.strictObject(specShape).superRefine((spec, ctx) => crossChecks(spec, ctx), {
  // Run even when single keys failed: the user gets every problem in one pass.
  when: () => true,
});

/** What a user writes. */
export type SpecFileInput = z.input<typeof specFileSchema>;
/** After parsing: defaults filled in, paths still as written, mini_batch_size still as written. */
export type SpecFile = z.output<typeof specFileSchema>;

export interface SpecProblem {
  /** Dotted key path, e.g. "inputs.1.type"; "spec" for the document as a whole. */
  path: string;
  /** "what is wrong (what was expected)". */
  message: string;
}

export const formatProblem = (p: SpecProblem): string => `${p.path}: ${p.message}`;

export type SpecParseResult = { ok: true; value: SpecFile } | { ok: false; problems: SpecProblem[] };

/** Parse and check a spec file's content (already read from YAML/JSON). */
export function parseSpecFile(raw: unknown): SpecParseResult {
  const result = specFileSchema.safeParse(raw, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: specIssuesToProblems(result.error.issues) };
}

/**
 * For a form: the problem with one top-level key's value, or null. `context` is the rest of the
 * spec as far as it is known, for the checks that depend on other keys (mini_batch_size on the
 * input type, partition_keys on partition_format, runtime on entry_script).
 */
export function validateSpecField(
  key: string,
  value: unknown,
  context: Record<string, unknown> = {},
): string | null {
  const result = parseSpecFile({ ...context, [key]: value });
  if (result.ok) return null;
  const own = result.problems.find((p) => p.path === key || p.path.startsWith(`${key}.`));
  return own ? formatProblem(own) : null;
}

// ---------------------------------------------------------------------------------------------
// Messages

interface FieldInfo {
  noun: string;
  expected: string;
}

const COUNT_OR_MINUS_ONE = '-1 to ignore, or a whole number >= 0';

/** Keyed by path with list indexes and map keys as "*". Exported for forms' hints. */
export const FIELD_INFO: Record<string, FieldInfo> = {
  spec: { noun: 'job spec', expected: 'a mapping of keys such as name, entry_script, inputs' },
  name: {
    noun: 'job name',
    expected:
      '3-32 characters: lowercase letters, digits and dashes, starting with a letter and not ending with a dash',
  },
  entry_script: { noun: 'entry script', expected: 'a path to a .py, .js, .mjs, .cjs or .ts file' },
  source_directory: { noun: 'folder', expected: 'a folder path' },
  runtime: { noun: 'runtime', expected: 'python or node' },
  python: { noun: 'interpreter', expected: 'a python executable, a venv folder or a conda env folder' },
  inputs: { noun: 'input list', expected: 'a list of one or more inputs' },
  'inputs.*': { noun: 'input', expected: 'a mapping with path and type' },
  'inputs.*.path': { noun: 'path', expected: 'a folder, a file or a glob' },
  'inputs.*.type': { noun: 'input type', expected: 'files or tabular' },
  'inputs.*.pattern': { noun: 'pattern', expected: 'a glob such as **/*.png' },
  'inputs.*.partition_format': {
    noun: 'partition format',
    expected: 'a path template such as {user}/{season}/{genres}.wav',
  },
  'inputs.*.format': { noun: 'tabular format', expected: 'csv, tsv, jsonl or parquet' },
  'inputs.*.encoding': { noun: 'text encoding', expected: 'utf8, latin1, iso88591 or windows1252' },
  side_inputs: { noun: 'side input list', expected: 'a list of mappings with name and path' },
  'side_inputs.*': { noun: 'side input', expected: 'a mapping with name and path' },
  'side_inputs.*.name': {
    noun: 'side input name',
    expected: 'letters, digits, _ and -, not starting with a digit or -',
  },
  'side_inputs.*.path': { noun: 'path', expected: 'a file or folder path' },
  mini_batch_size: {
    noun: 'mini-batch size',
    expected: 'a number of files, or for tabular inputs a size such as 1024, 512KB, 10MB, 1GB',
  },
  partition_keys: { noun: 'partition key list', expected: 'a list of one or more names' },
  'partition_keys.*': { noun: 'partition key', expected: 'a column name, or a name from partition_format' },
  error_threshold: { noun: 'error threshold', expected: COUNT_OR_MINUS_ONE },
  allowed_failed_count: { noun: 'failed mini-batch count', expected: COUNT_OR_MINUS_ONE },
  allowed_failed_percent: { noun: 'percent', expected: 'a number from 0 to 100' },
  output_action: { noun: 'output action', expected: 'append_row or summary_only' },
  append_row_file_name: { noun: 'file name', expected: 'a file name without folders' },
  node_count: { noun: 'node count', expected: 'a whole number >= 1' },
  process_count_per_node: {
    noun: 'process count',
    expected: `auto or a whole number from 1 to ${MAX_PROCESS_COUNT}`,
  },
  gpus: { noun: 'GPU selection', expected: 'auto, none or a list of device indexes such as [0, 1]' },
  'gpus.*': { noun: 'device index', expected: 'a whole number >= 0' },
  run_invocation_timeout: { noun: 'timeout', expected: 'a number of seconds > 0' },
  run_max_try: { noun: 'attempt count', expected: 'a whole number >= 1' },
  logging_level: { noun: 'logging level', expected: 'WARNING, INFO or DEBUG' },
  arguments: { noun: 'argument list', expected: 'a list of strings' },
  'arguments.*': { noun: 'argument', expected: 'a string, number or boolean' },
  models: { noun: 'model map', expected: 'a mapping of model name to path' },
  'models.*': { noun: 'model path', expected: 'a file or folder path' },
  environment_variables: { noun: 'variable map', expected: 'a mapping of NAME to value' },
  'environment_variables.*': { noun: 'variable value', expected: 'a string, number or boolean' },
  resource_monitor_interval: { noun: 'interval', expected: 'a number of seconds >= 0 (0 disables)' },
  profiling_module: { noun: 'profiling module', expected: 'a module name such as cProfile' },
  allow_reuse: { noun: 'flag', expected: 'true or false' },
};

const OBJECT_KEYS: Record<string, readonly string[]> = {
  spec: SPEC_KEYS,
  'inputs.*': INPUT_KEYS,
  'side_inputs.*': SIDE_INPUT_KEYS,
};

const MAP_KEYS = new Set(['models', 'environment_variables']);

function dotted(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'spec' : path.map(String).join('.');
}

function pattern(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'spec';
  return path
    .map((seg, i) =>
      typeof seg === 'number' || (i === 1 && MAP_KEYS.has(String(path[0]))) ? '*' : String(seg),
    )
    .join('.');
}

/** A value as a user would recognise it in a message. */
export function showValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value) && value.length === 0) return 'an empty list';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // JSON.stringify writes Infinity (1e400 in a spec) as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}..."` : text;
}

/**
 * A number past what a double holds exactly (a 20-digit count) or at all (1e400): it may well be a
 * whole number as written, so saying "not a whole number" would mislead.
 */
export function tooLarge(value: unknown): boolean {
  return typeof value === 'number' && Math.abs(value) > Number.MAX_SAFE_INTEGER;
}

/** A mini-batch size written as text that would be valid but for its size ("99999999999999999999GB"). */
function tooLargeSize(value: unknown): boolean {
  const m = typeof value === 'string' ? SIZE_PATTERN.exec(value) : null;
  return m !== null && Number(m[1]) > 0 && parseByteSize(value) === null;
}

export function tooLargeText(value: unknown, expected: string): string {
  return `${showValue(value)} is too large (expected ${expected}, at most ${Number.MAX_SAFE_INTEGER})`;
}

/** Zod issues of specFileSchema (parsed with `reportInput: true`) as problems. */
export function specIssuesToProblems(issues: readonly z.core.$ZodIssue[]): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = OBJECT_KEYS[pattern(issue.path)] ?? [];
      for (const key of issue.keys) {
        problems.push({
          path: dotted([...issue.path, key]),
          message: `unknown key (expected one of ${allowed.join(', ')})`,
        });
      }
      continue;
    }
    if (issue.code === 'custom') {
      problems.push({ path: dotted(issue.path), message: issue.message });
      continue;
    }
    const info = FIELD_INFO[pattern(issue.path)];
    const expected = info?.expected ?? issue.message;
    const hasInput = 'input' in issue;
    const input = (issue as { input?: unknown }).input;
    const missing =
      issue.code === 'invalid_type' &&
      (hasInput ? input === undefined : /received undefined$/.test(issue.message));
    let wrong: string;
    if (missing) wrong = 'missing';
    else if (!hasInput) wrong = `not a valid ${info?.noun ?? 'value'}`;
    else wrong = `${showValue(input)} is not a valid ${info?.noun ?? 'value'}`;
    const message = tooLarge(input) ? tooLargeText(input, expected) : `${wrong} (expected ${expected})`;
    const problem = { path: dotted(issue.path), message };
    // Several failed checks of one key (too short and not matching) read the same: say it once.
    if (!problems.some((p) => p.path === problem.path && p.message === problem.message))
      problems.push(problem);
  }
  return problems;
}

/** The `key.path: what is wrong (what was expected)` lines for zod issues of specFileSchema. */
export function formatSpecIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return specIssuesToProblems(issues).map(formatProblem);
}

// ---------------------------------------------------------------------------------------------
// Pure helpers shared with the loader and the wizard

const RUNTIME_BY_EXTENSION: Record<string, Runtime> = {
  '.py': 'python',
  '.js': 'node',
  '.mjs': 'node',
  '.cjs': 'node',
  '.ts': 'node',
};

function extensionOf(file: string): string {
  const base = file.split(/[/\\]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** python for .py, node for .js/.mjs/.cjs/.ts, undefined for anything else. */
export function runtimeForEntryScript(file: string): Runtime | undefined {
  return RUNTIME_BY_EXTENSION[extensionOf(file)];
}

const FORMAT_BY_EXTENSION: Record<string, TabularFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
};

/** The tabular format a file's extension names, if any. */
export function tabularFormatForPath(file: string): TabularFormat | undefined {
  return FORMAT_BY_EXTENSION[extensionOf(file)];
}

/** The extensions (with dot) of a tabular format. */
export function extensionsOfFormat(format: TabularFormat): string[] {
  return Object.keys(FORMAT_BY_EXTENSION).filter((ext) => FORMAT_BY_EXTENSION[ext] === format);
}

/** The {names} of a partition_format, in order. */
export function partitionFormatFields(format: string): string[] {
  return [...format.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

// ---------------------------------------------------------------------------------------------
// Checks across keys. The value may be partly invalid (this runs even when single keys failed), so
// every read is guarded, and a key that is itself wrong is left to its own message.

type Ctx = z.core.$RefinementCtx<unknown>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isInputType = (v: unknown): v is InputType => v === 'files' || v === 'tabular';

function issue(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** The input type the spec declares: that of its first input with a valid type. */
export function declaredInputType(spec: unknown): InputType | undefined {
  if (!isRecord(spec) || !Array.isArray(spec.inputs)) return undefined;
  for (const input of spec.inputs) {
    if (isRecord(input)) {
      const type = input.type === undefined ? 'files' : input.type;
      if (isInputType(type)) return type;
    }
  }
  return undefined;
}

function crossChecks(spec: unknown, ctx: Ctx): void {
  if (!isRecord(spec)) return;
  const inputs = Array.isArray(spec.inputs) ? spec.inputs : [];
  const inputType = declaredInputType(spec);
  const firstTyped = inputs.findIndex((i) => isRecord(i) && isInputType(i.type ?? 'files'));

  inputs.forEach((input, i) => {
    if (!isRecord(input)) return;
    const type = input.type ?? 'files';
    if (isInputType(type) && inputType && type !== inputType) {
      issue(
        ctx,
        ['inputs', i, 'type'],
        `"${type}" differs from inputs.${firstTyped}.type "${inputType}" (expected every input of one type: all files or all tabular)`,
      );
    }
    if (type === 'tabular' && input.partition_format !== undefined) {
      issue(
        ctx,
        ['inputs', i, 'partition_format'],
        'not allowed on a tabular input (expected only on files inputs)',
      );
    }
    if (type === 'files' && input.format !== undefined) {
      issue(ctx, ['inputs', i, 'format'], 'not allowed on a files input (expected only on tabular inputs)');
    }
    if (typeof input.partition_format === 'string' && input.partition_format !== '') {
      const fields = partitionFormatFields(input.partition_format);
      const bad = fields.find((f) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(f));
      if (fields.length === 0 || bad !== undefined) {
        const what = bad !== undefined ? `has a bad placeholder {${bad}}` : 'has no {name} placeholder';
        issue(
          ctx,
          ['inputs', i, 'partition_format'],
          `${showValue(input.partition_format)} ${what} (expected a path template such as {user}/{season}/{genres}.wav)`,
        );
      }
    }
  });

  // mini_batch_size's meaning depends on the input type.
  const size = spec.mini_batch_size;
  if (tooLarge(size) || tooLargeSize(size)) {
    issue(ctx, ['mini_batch_size'], tooLargeText(size, FIELD_INFO.mini_batch_size.expected));
  } else if (typeof size === 'number' || typeof size === 'string') {
    if (inputType === 'files' && parseFileCount(size) === null) {
      issue(
        ctx,
        ['mini_batch_size'],
        `${showValue(size)} is not a valid mini-batch size for files inputs (expected a whole number of files >= 1)`,
      );
    } else if (inputType === 'tabular' && parseByteSize(size) === null) {
      issue(
        ctx,
        ['mini_batch_size'],
        `${showValue(size)} is not a valid mini-batch size for tabular inputs (expected a size in bytes > 0 such as 1024, 512KB, 10MB, 1GB)`,
      );
    } else if (inputType === undefined && parseFileCount(size) === null && parseByteSize(size) === null) {
      issue(
        ctx,
        ['mini_batch_size'],
        `${showValue(size)} is not a valid mini-batch size (expected ${FIELD_INFO.mini_batch_size.expected})`,
      );
    }
  }

  // partition_keys: distinct; on files inputs, names of every input's partition_format.
  if (Array.isArray(spec.partition_keys)) {
    const keys = spec.partition_keys;
    keys.forEach((key, k) => {
      if (typeof key === 'string' && keys.indexOf(key) !== k) {
        issue(ctx, ['partition_keys', k], `"${key}" is listed twice (expected distinct names)`);
      }
    });
    if (inputType === 'files') {
      inputs.forEach((input, i) => {
        if (!isRecord(input) || (input.type ?? 'files') !== 'files') return;
        if (typeof input.partition_format !== 'string') {
          if (input.partition_format === undefined) {
            issue(
              ctx,
              ['inputs', i, 'partition_format'],
              'missing: partition_keys on files inputs need one (expected a path template naming the keys, such as {store}/{brand}/*.csv)',
            );
          }
          return;
        }
        const fields = partitionFormatFields(input.partition_format);
        keys.forEach((key, k) => {
          if (typeof key === 'string' && key !== '' && !fields.includes(key)) {
            issue(
              ctx,
              ['partition_keys', k],
              `"${key}" is not a placeholder of inputs.${i}.partition_format (expected one of ${fields.join(', ') || 'its {names}'})`,
            );
          }
        });
      });
    }
  }

  if (Array.isArray(spec.side_inputs)) {
    const names = spec.side_inputs.map((s) => (isRecord(s) ? s.name : undefined));
    names.forEach((name, i) => {
      if (typeof name === 'string' && names.indexOf(name) !== i) {
        issue(
          ctx,
          ['side_inputs', i, 'name'],
          `"${name}" is used twice (expected distinct side input names)`,
        );
      }
    });
  }

  if (isRecord(spec.environment_variables)) {
    for (const name of Object.keys(spec.environment_variables)) {
      if (!ENV_NAME.test(name)) {
        issue(
          ctx,
          ['environment_variables', name],
          `"${name}" is not a valid variable name (expected letters, digits and _, not starting with a digit)`,
        );
      }
    }
  }

  if (Array.isArray(spec.gpus)) {
    const gpus = spec.gpus;
    gpus.forEach((g, i) => {
      if (typeof g === 'number' && gpus.indexOf(g) !== i) {
        issue(ctx, ['gpus', i], `${g} is listed twice (expected distinct device indexes)`);
      }
    });
  }

  // The runtime follows from the entry script unless it is named; a named one must fit.
  if (typeof spec.entry_script === 'string' && spec.entry_script !== '') {
    const byExtension = runtimeForEntryScript(spec.entry_script);
    if (spec.runtime === undefined && byExtension === undefined) {
      issue(
        ctx,
        ['entry_script'],
        `${showValue(spec.entry_script)} has no known runtime (expected a .py, .js, .mjs, .cjs or .ts file, or runtime: python | node)`,
      );
    } else if (
      (spec.runtime === 'python' || spec.runtime === 'node') &&
      byExtension &&
      byExtension !== spec.runtime
    ) {
      issue(
        ctx,
        ['runtime'],
        `"${spec.runtime}" cannot run ${showValue(spec.entry_script)} (expected ${byExtension} for a ${extensionOf(spec.entry_script)} file)`,
      );
    }
  }
}
