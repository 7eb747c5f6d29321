// Azure ML batch deployments (`type: model`) as jobs: `prs run deployment.yml --input PATH`. The
// deployment's settings map onto the spec with Azure's batch endpoint defaults (predictions.csv,
// 3 retries, 30 s timeout). As on Azure, AZUREML_MODEL_DIR is a folder that holds the model under
// its own name (scripts glob "$AZUREML_MODEL_DIR/*/"), and the job's one output, `score`, is the
// run folder's outputs/score: predictions.csv and whatever the script writes to
// AZUREML_BI_OUTPUT_PATH. An MLflow model without a scoring script gets the scoring Azure generates.

import { createHash } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readlink, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { parseFileCount } from '../../common/size';
import { NAME_PATTERN, showValue, type SpecProblem } from '../../common/specSchema';
import { dataDir as defaultDataDir } from '../history';
import { packageRoot } from '../../runtime/paths';
import { slug } from './azuremlV2';
import { readSpecDocument, resolveSpec, type LoadResult } from './load';
import { findRegisteredModel, modelRegistryDir, parseModelReference } from './modelRegistry';

export { looksLikeBatchDeployment } from './deploymentShape';

/** The deployment's output, as Azure names it (`az ml job download --output-name score`). */
export const SCORE_OUTPUT = 'score';

/** Azure ML's batch endpoint defaults (prs-behaviour.md, "Batch deployments"). */
export const DEPLOYMENT_DEFAULTS = {
  max_concurrency_per_instance: 1,
  mini_batch_size: 10,
  output_action: 'append_row',
  output_file_name: 'predictions.csv',
  max_retries: 3,
  timeout: 30,
  error_threshold: -1,
  logging_level: 'INFO',
  instance_count: 1,
} as const;

/** The settings a deployment holds under `settings:`, or (older files) at its root. */
const SETTINGS = [
  'max_concurrency_per_instance',
  'mini_batch_size',
  'output_action',
  'output_file_name',
  'retry_settings',
  'error_threshold',
  'logging_level',
  'environment_variables',
] as const;

/** Keys read below, and keys with no local meaning (a notice each, or silence for mere labels). */
const KNOWN_KEYS = new Set<string>([
  '$schema',
  'type',
  'name',
  'description',
  'tags',
  'properties',
  'endpoint_name',
  'model',
  'code_configuration',
  'environment',
  'compute',
  'resources',
  'settings',
  ...SETTINGS,
]);
const NOTICES: Record<string, string> = {
  endpoint_name: 'not used: locally the deployment runs as a job, invoked by prs run --input',
  compute: 'not used: the job runs on this machine',
  environment: 'not used: the scoring script runs with python3 on PATH (no image or conda file is built)',
};

/** The scoring Azure ML generates for MLflow models (resources/mlflow-batch-scoring). */
export function generatedScoringScript(): string {
  return path.join(packageRoot(), 'resources', 'mlflow-batch-scoring', 'score.py');
}

export interface DeploymentOptions {
  /** --input: the file or folder to score, relative to the working directory. */
  input: string;
  /** Holds the local model registry (models/) and the links AZUREML_MODEL_DIR is made of. */
  dataDir?: string;
}

type Doc = Record<string, unknown>;
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Read and resolve a batch deployment file into the job that scores `options.input`. */
export async function loadDeployment(file: string, options: DeploymentOptions): Promise<LoadResult> {
  const read = await readSpecDocument(file);
  if (!read.ok) return read;
  const abs = path.resolve(file);
  return resolveDeployment(read.value, path.dirname(abs), abs, options);
}

export async function resolveDeployment(
  doc: unknown,
  dir: string,
  file: string,
  options: DeploymentOptions,
): Promise<LoadResult> {
  const problems: SpecProblem[] = [];
  const warnings: string[] = [];
  const problem = (p: string, message: string) => problems.push({ path: p, message });
  if (!isRecord(doc)) {
    return {
      ok: false,
      problems: [`${file}: ${showValue(doc)} is not a batch deployment (expected a mapping of keys)`],
    };
  }
  const data = options.dataDir ?? defaultDataDir();

  if (doc.type !== undefined && doc.type !== 'model') {
    problem('type', `${showValue(doc.type)} is not a deployment type run here (expected model)`);
  }
  for (const key of Object.keys(doc)) {
    if (!KNOWN_KEYS.has(key)) warnings.push(`${key}: unknown batch deployment key, ignored`);
    else if (key in NOTICES) warnings.push(`${key}: ${NOTICES[key]}`);
  }

  // The spec this becomes, and where each of its keys came from (for the problems resolveSpec finds).
  const spec: Doc = { allow_reuse: false };
  const from: Record<string, string> = {
    inputs: '--input',
    'inputs.0': '--input',
    'inputs.0.path': '--input',
  };

  const nameKey = (['name', 'endpoint_name'] as const).find((k) => typeof doc[k] === 'string');
  const given = nameKey ? (doc[nameKey] as string) : path.basename(file).replace(/\.[^.]*$/, '');
  spec.name = NAME_PATTERN.test(given) && given.length <= 32 ? given : slug(given);
  if (spec.name !== given && nameKey)
    warnings.push(`${nameKey}: "${given}" is used as the job name "${spec.name}"`);
  from.name = nameKey ?? 'name';

  // settings: under settings:, or at the root in older files; settings: wins over the root.
  const settings = isRecord(doc.settings) ? doc.settings : {};
  if (doc.settings !== undefined && !isRecord(doc.settings)) {
    problem(
      'settings',
      `${showValue(doc.settings)} is not valid (expected a mapping such as {mini_batch_size: 10})`,
    );
  }
  for (const key of Object.keys(settings)) {
    if (!(SETTINGS as readonly string[]).includes(key))
      warnings.push(`settings.${key}: unknown batch deployment setting, ignored`);
  }
  const setting = (key: (typeof SETTINGS)[number]): { value: unknown; at: string } => {
    if (key in settings) {
      if (key in doc) warnings.push(`${key}: given at the root and in settings; settings.${key} is used`);
      return { value: settings[key], at: `settings.${key}` };
    }
    return { value: doc[key], at: key };
  };
  const take = (key: (typeof SETTINGS)[number], to: string, fallback: unknown) => {
    const { value, at } = setting(key);
    spec[to] = value ?? fallback;
    from[to] = at;
  };
  take(
    'max_concurrency_per_instance',
    'process_count_per_node',
    DEPLOYMENT_DEFAULTS.max_concurrency_per_instance,
  );
  take('output_action', 'output_action', DEPLOYMENT_DEFAULTS.output_action);
  take('output_file_name', 'append_row_file_name', DEPLOYMENT_DEFAULTS.output_file_name);
  take('error_threshold', 'error_threshold', DEPLOYMENT_DEFAULTS.error_threshold);

  const batch = setting('mini_batch_size');
  from.mini_batch_size = batch.at;
  if (batch.value === undefined) spec.mini_batch_size = DEPLOYMENT_DEFAULTS.mini_batch_size;
  else {
    const n = parseFileCount(batch.value);
    if (n === null)
      problem(
        batch.at,
        `${showValue(batch.value)} is not a valid mini-batch size (expected a number of files such as 10)`,
      );
    else spec.mini_batch_size = n;
  }

  const level = setting('logging_level');
  from.logging_level = level.at;
  spec.logging_level =
    typeof level.value === 'string'
      ? level.value.toUpperCase()
      : (level.value ?? DEPLOYMENT_DEFAULTS.logging_level);

  const retry = setting('retry_settings');
  from.run_max_try = `${retry.at}.max_retries`;
  from.run_invocation_timeout = `${retry.at}.timeout`;
  spec.run_max_try = DEPLOYMENT_DEFAULTS.max_retries + 1;
  spec.run_invocation_timeout = DEPLOYMENT_DEFAULTS.timeout;
  if (isRecord(retry.value)) {
    const { max_retries, timeout } = retry.value;
    if (max_retries !== undefined) {
      if (typeof max_retries !== 'number' || !Number.isInteger(max_retries) || max_retries < 0) {
        problem(
          `${retry.at}.max_retries`,
          `${showValue(max_retries)} is not a valid retry count (expected a whole number >= 0)`,
        );
      } else spec.run_max_try = max_retries + 1;
    }
    if (timeout !== undefined) spec.run_invocation_timeout = timeout;
  } else if (retry.value !== undefined) {
    problem(
      retry.at,
      `${showValue(retry.value)} is not valid (expected a mapping with max_retries and timeout)`,
    );
  }

  // The scoring script's output folder is the score output, bound to the run folder at run time.
  const env = setting('environment_variables');
  from.environment_variables = env.at;
  // Not a mapping: left as given, for the spec's own check to report.
  spec.environment_variables =
    env.value === undefined || isRecord(env.value)
      ? { ...env.value, AZUREML_BI_OUTPUT_PATH: `\${{outputs.${SCORE_OUTPUT}}}` }
      : env.value;

  from.node_count = 'resources.instance_count';
  if (isRecord(doc.resources)) {
    const count = doc.resources.instance_count;
    spec.node_count = count ?? DEPLOYMENT_DEFAULTS.instance_count;
    if (typeof count === 'number' && count > 1) {
      warnings.push(
        `resources.instance_count: ${count} runs as node_count ${count}, its nodes simulated on this machine`,
      );
    }
    for (const key of Object.keys(doc.resources)) {
      if (key !== 'instance_count') warnings.push(`resources.${key}: not used: the job runs on this machine`);
    }
  } else if (doc.resources !== undefined) {
    problem(
      'resources',
      `${showValue(doc.resources)} is not valid (expected a mapping such as {instance_count: 1})`,
    );
  }

  // The model, in a folder of its own under its own name: AZUREML_MODEL_DIR.
  // The data folder a caller names holds its registry; else the one every reader uses.
  const registry = options.dataDir ? path.join(options.dataDir, 'models') : modelRegistryDir();
  const model = await resolveModel(doc.model, dir, data, registry, problem);
  if (model) {
    spec.models = { [model.name]: model.home };
    from[`models.${model.name}`] = 'model';
  }

  // The scoring script; none for an MLflow model, which gets the one Azure ML generates.
  const code = doc.code_configuration;
  from.source_directory = 'code_configuration.code';
  from.entry_script = 'code_configuration.scoring_script';
  if (isRecord(code)) {
    if (typeof code.code === 'string' && /^(azureml:|https?:)/i.test(code.code)) {
      problem('code_configuration.code', `"${code.code}" is a cloud location (expected a local folder path)`);
    } else spec.source_directory = code.code ?? '.';
    if (code.scoring_script === undefined) {
      problem('code_configuration.scoring_script', 'missing (expected the scoring script, relative to code)');
    } else spec.entry_script = code.scoring_script;
  } else if (code !== undefined && code !== null) {
    problem(
      'code_configuration',
      `${showValue(code)} is not valid (expected a mapping with code and scoring_script)`,
    );
  } else if (model) {
    if (await isMlflowModel(model.home)) {
      const script = generatedScoringScript();
      spec.source_directory = path.dirname(script);
      spec.entry_script = path.basename(script);
      warnings.push(
        "code_configuration: none, so the MLflow model is scored as Azure ML does it: each CSV or Parquet file's predictions go to the output file as row,prediction,file",
      );
    } else {
      problem(
        'code_configuration',
        `missing, and the model at ${model.given} is not an MLflow model (no MLmodel file in it) (expected code_configuration: {code: ./code, scoring_script: score.py}; only MLflow models get a generated scoring script)`,
      );
    }
  }

  // az ml batch-endpoint invoke also takes data assets and URLs; here the data must be local.
  if (/^(azureml:|https?:|wasbs?:|abfss?:|adl:|s3:|gs:)/i.test(options.input)) {
    problem(
      '--input',
      `"${options.input}" is a cloud location (expected a local file or folder: download the data first)`,
    );
  } else spec.inputs = [{ path: path.resolve(options.input), type: 'files' }];

  const resolved = await resolveSpec(spec, dir, file);
  const remap = (text: string) => {
    const m = /^([A-Za-z0-9_.$-]+): /.exec(text);
    if (!m) return text;
    const parts = m[1]!.split('.');
    for (let n = parts.length; n > 0; n--) {
      const head = parts.slice(0, n).join('.');
      if (head in from) return [from[head], ...parts.slice(n)].join('.') + text.slice(m[1]!.length);
    }
    return text;
  };
  const own = problems.map((p) => `${p.path}: ${p.message}`);
  if (!resolved.ok) {
    // A key this file already reported is not reported again in its spec-format wording.
    const later = resolved.problems
      .map(remap)
      .filter((p) => !problems.some((q) => p.startsWith(`${q.path}:`) || p.startsWith(`${q.path}.`)));
    return { ok: false, problems: [...own, ...later] };
  }
  if (own.length) return { ok: false, problems: own };
  return {
    ok: true,
    spec: {
      ...resolved.spec,
      outputs: { [SCORE_OUTPUT]: { kind: 'folder', path: SCORE_OUTPUT } },
      append_row_folder: SCORE_OUTPUT,
    },
    warnings: [...warnings, ...resolved.warnings.map(remap)],
  };
}

interface ResolvedModel {
  /** The models: key (the model's name). */
  name: string;
  /** AZUREML_MODEL_DIR: a folder holding the model under its own name. */
  home: string;
  /** The model as the file gives it, for messages. */
  given: string;
}

const MODEL_EXPECTED = 'expected a local path such as model: ./model or model: {path: ./model}';

async function resolveModel(
  given: unknown,
  dir: string,
  data: string,
  /** The local model registry (see modelRegistry.ts). */
  registry: string,
  problem: (p: string, m: string) => void,
): Promise<ResolvedModel | undefined> {
  let at = 'model';
  let name: string | undefined;
  let local: string | undefined;
  let reference: string | undefined;
  if (typeof given === 'string' && given !== '') {
    if (given.startsWith('azureml:')) reference = given;
    else local = given;
  } else if (isRecord(given)) {
    name = typeof given.name === 'string' ? given.name : undefined;
    if (typeof given.path === 'string' && given.path !== '') {
      at = 'model.path';
      local = given.path;
    } else if (name) {
      reference = `azureml:${name}${given.version === undefined ? '' : `:${String(given.version)}`}`;
    } else {
      problem('model', `a model without path or name (${MODEL_EXPECTED})`);
      return undefined;
    }
  } else {
    problem(
      'model',
      `${given === undefined ? 'missing' : `${showValue(given)} is not valid`} (${MODEL_EXPECTED}, or azureml:<name>:<version>)`,
    );
    return undefined;
  }

  if (reference !== undefined) {
    const ref = parseModelReference(reference);
    const howLocal = `${MODEL_EXPECTED}, or put the model's files in ${path.join(registry, '<name>', '<version>')}`;
    if (!ref) {
      problem(
        at,
        `"${reference}" is a model in an Azure ML registry or workspace, which is not reachable here (${howLocal})`,
      );
      return undefined;
    }
    const found = await findRegisteredModel(registry, ref);
    if (!found.ok) {
      problem(at, `"${reference}": ${found.why} (${howLocal})`);
      return undefined;
    }
    return { name: ref.name, home: found.dir, given: found.dir };
  }

  const abs = path.resolve(dir, local!);
  try {
    await stat(abs);
  } catch {
    problem(
      at,
      `"${local}" does not exist${path.isAbsolute(local!) ? '' : ` at ${abs}`} (expected a model file or folder)`,
    );
    return undefined;
  }
  const home = await modelHome(abs, data);
  return { name: name ?? path.basename(abs), home, given: local! };
}

/**
 * A folder of the data folder that holds `model` under its own name, as Azure ML's AZUREML_MODEL_DIR
 * holds a registered model: a link, so that nothing is copied; made again when it points elsewhere.
 */
async function modelHome(model: string, data: string): Promise<string> {
  const home = path.join(
    data,
    'deployment-models',
    createHash('sha256').update(model).digest('hex').slice(0, 16),
  );
  const link = path.join(home, path.basename(model));
  const target = await readlink(link).catch(() => undefined);
  if (target === model) return home;
  await mkdir(home, { recursive: true });
  if (await lstat(link).catch(() => undefined)) await rm(link, { recursive: true, force: true });
  const isDir = (await stat(model)).isDirectory();
  try {
    await symlink(model, link, isDir ? 'junction' : 'file');
  } catch (err) {
    // Windows without the right to make file links: a copy of the one file.
    if (isDir) throw err;
    await copyFile(model, link);
  }
  return home;
}

/** An MLmodel file in the model folder itself or in the folder it lies in (AZUREML_MODEL_DIR/<model>/). */
async function isMlflowModel(home: string): Promise<boolean> {
  const has = (d: string) =>
    stat(path.join(d, 'MLmodel')).then(
      (s) => s.isFile(),
      () => false,
    );
  if (await has(home)) return true;
  const entries = await readdir(home).catch(() => [] as string[]);
  for (const e of entries) if (await has(path.join(home, e))) return true;
  return false;
}
