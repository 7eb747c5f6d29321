// pipeline.yml -> PipelineSpec: the graph of nodes, each with its component loaded and its inputs
// bound (parent inputs, other nodes' outputs, literals, defaults, unset optional inputs). Every
// problem is collected before anything runs, each naming its key ("jobs.score.inputs.model: ...").
// Keys with no local meaning (compute, environment, ...) are accepted, with one notice each.

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fromAzureMlV2 } from '../spec/azuremlV2';
import {
  references,
  resolveOptionalParts,
  singleReference,
  withoutOptionalParts,
  type Reference,
} from './expressions';
import { parallelJobDoc } from './parallelJob';
import type { Binding, NodeOutput, PipelineNode, PipelineSpec } from './types';

export type PipelineLoad = { ok: true; pipeline: PipelineSpec } | { ok: false; problems: string[] };

type Doc = Record<string, unknown>;
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => (typeof v === 'string' ? `"${v}"` : (JSON.stringify(v) ?? String(v)));

const LITERAL_TYPES = ['string', 'integer', 'number', 'boolean'];
/** Keys of a parallel node or component that are not its job's: bindings, identity, no local meaning. */
const NOT_JOB_KEYS = new Set([
  '$schema',
  'component',
  'inputs',
  'outputs',
  'type',
  'name',
  'version',
  'display_name',
  'description',
  'is_deterministic',
  'compute',
  'environment',
  'tags',
  'experiment_name',
]);

/** Reads the file; null when it is not a v2 pipeline (then it is some other spec: loadSpec's business). */
export async function loadPipelineFile(specPath: string): Promise<PipelineLoad | null> {
  const abs = path.resolve(specPath);
  let doc: unknown;
  try {
    const text = await readFile(abs, 'utf8');
    // Most specs are not pipelines: they pay for no YAML parser here (a JSON spec none at all).
    if (!/["']?type["']?\s*:\s*["']?pipeline\b/.test(text)) return null;
    doc = await parseYaml(text, abs);
  } catch {
    return null; // unreadable or not YAML: loadSpec says why
  }
  if (!isRecord(doc) || doc.type !== 'pipeline') return null;
  return loadPipeline(doc, abs);
}

async function readYaml(file: string): Promise<unknown> {
  return parseYaml(await readFile(file, 'utf8'), file);
}

async function parseYaml(text: string, file: string): Promise<unknown> {
  const { parseDocument } = await import('../spec/yamlParser');
  const doc = parseDocument(text);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new Error(
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]} (expected valid YAML)`,
    );
  }
  return doc.toJS({ maxAliasCount: 100 });
}

async function kindOf(p: string): Promise<'file' | 'folder' | undefined> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'folder' : 'file';
  } catch {
    return undefined;
  }
}

function isCloudPath(p: string): boolean {
  return /^(azureml:|https?:|wasbs?:|abfss?:|adl:|s3:|gs:)/i.test(p);
}

/** The file name a uri_file output's path ends in, when it names one plainly. */
function fileNameOf(p: unknown): string | undefined {
  if (typeof p !== 'string') return undefined;
  const last = p.split(/[\\/]/).pop() ?? '';
  return last === '' || last === '.' || last === '..' || /[$:{}]/.test(last) ? undefined : last;
}

export async function loadPipeline(doc: Doc, specPath: string): Promise<PipelineLoad> {
  const dir = path.dirname(specPath);
  const problems: string[] = [];
  const problem = (at: string, message: string) => problems.push(`${at}: ${message}`);
  // key -> where it was seen: one notice per key, however many nodes say it.
  const ignored = new Map<string, { why: string; at: string[] }>();
  const notice = (key: string, at: string, why: string) => {
    const entry = ignored.get(key) ?? { why, at: [] };
    entry.at.push(at);
    ignored.set(key, entry);
  };

  for (const key of ['compute', 'experiment_name', 'tags'] as const)
    if (doc[key] !== undefined) notice(key, key, NO_LOCAL_MEANING[key]);
  let continueOnStepFailure: boolean | undefined;
  if (isRecord(doc.settings)) {
    for (const [key, value] of Object.entries(doc.settings)) {
      if (key !== 'continue_on_step_failure') {
        notice(
          `settings.${key}`,
          `settings.${key}`,
          NO_LOCAL_MEANING[`settings.${key}`] ?? 'not used locally',
        );
      } else if (typeof value === 'boolean') continueOnStepFailure = value;
      else
        problem('settings.continue_on_step_failure', `${show(value)} is not valid (expected true or false)`);
    }
  }

  // The pipeline's own inputs.
  const parentInputs: Record<string, Binding | null> = {};
  for (const [name, value] of Object.entries(isRecord(doc.inputs) ? doc.inputs : {})) {
    const at = `inputs.${name}`;
    if (isRecord(value) && value.mode !== undefined) notice('mode', `${at}.mode`, NO_LOCAL_MEANING.mode);
    parentInputs[name] = (await bindValue(value, dir, at, problem, undefined)) ?? null;
  }
  const parentOutputs = new Set(Object.keys(isRecord(doc.outputs) ? doc.outputs : {}));
  for (const [name, value] of Object.entries(isRecord(doc.outputs) ? doc.outputs : {})) {
    if (isRecord(value) && value.mode !== undefined)
      notice('mode', `outputs.${name}.mode`, NO_LOCAL_MEANING.mode);
  }

  if (!isRecord(doc.jobs) || Object.keys(doc.jobs).length === 0) {
    problem(
      'jobs',
      `${doc.jobs === undefined ? 'missing' : `${show(doc.jobs)} is not valid`} (expected a mapping of node name to node)`,
    );
    return { ok: false, problems };
  }

  const nodes: PipelineNode[] = [];
  const pipelineOutputs: PipelineSpec['outputs'] = {};
  const declaredOutputs = new Map<string, Record<string, NodeOutput>>();
  const pendingRefs: Array<{ at: string; node: string; output: string }> = [];
  const ctx: BindContext = {
    dir,
    problem,
    notice,
    parentInputs,
    parentOutputs,
    pendingRefs,
    pipelineOutputs,
  };

  for (const [name, raw] of Object.entries(doc.jobs)) {
    const at = `jobs.${name}`;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
      problem(at, `"${name}" is not a valid node name (expected letters, digits, _ and -)`);
      continue;
    }
    if (!isRecord(raw)) {
      problem(at, `${show(raw)} is not a valid node (expected a mapping with type and component or command)`);
      continue;
    }
    // The component: a file of its own, or the node itself (an inline job).
    let component: Doc = raw;
    let baseDir = dir;
    let componentAt = at;
    if (raw.component !== undefined) {
      const loaded = await loadComponent(raw.component, dir, `${at}.component`, problem);
      if (!loaded) continue;
      component = loaded.doc;
      baseDir = path.dirname(loaded.file);
      componentAt = path.relative(dir, loaded.file) || loaded.file;
    }
    const type = raw.type ?? component.type;
    if (type !== 'command' && type !== 'parallel') {
      problem(
        `${at}.type`,
        `${show(type)} is not a node type that runs locally (expected command or parallel)`,
      );
      continue;
    }
    if (raw.compute !== undefined) notice('compute', `${at}.compute`, NO_LOCAL_MEANING.compute);
    const environment =
      raw.environment ??
      component.environment ??
      (isRecord(component.task) ? component.task.environment : undefined);
    if (environment !== undefined) notice('environment', `${at}.environment`, NO_LOCAL_MEANING.environment);

    const { inputs, dependsOn } = await bindNodeInputs(ctx, at, component, raw);
    const outputs = nodeOutputs(ctx, at, name, component, raw);
    declaredOutputs.set(name, outputs);

    const envVars = {
      ...stringMap(component.environment_variables),
      ...stringMap(raw.environment_variables),
    };
    const isSet = (input: string) => input in inputs;
    if (type === 'command') {
      const node = await commandNode(name, at, component, baseDir, inputs, outputs, isSet, problem);
      if (node) nodes.push({ ...node, dependsOn: [...dependsOn], environmentVariables: envVars });
    } else {
      const job = jobOf(component, raw);
      if (isRecord(job.task)) {
        const task: Doc = { ...job.task };
        delete task.environment;
        if (typeof task.program_arguments === 'string')
          task.program_arguments = resolveOptionalParts(task.program_arguments, isSet);
        if (isRecord(task.code) && typeof task.code.local_path === 'string') task.code = task.code.local_path;
        if (typeof task.code === 'string' && !path.isAbsolute(task.code))
          task.code = path.resolve(baseDir, task.code);
        job.task = task;
      }
      const node: PipelineNode = {
        type: 'parallel',
        name,
        baseDir,
        inputs,
        outputs,
        dependsOn: [...dependsOn],
        environmentVariables: envVars,
        job,
      };
      // The shape of the job, checked now with stand-ins for the outputs it reads (their paths exist only once they ran).
      const check = fromAzureMlV2(
        parallelJobDoc(node, (b) => `/${b.node}/${b.output}`),
        { baseDir },
      );
      for (const p of check.problems) problem(`${at}.${p.path}`, p.message);
      if (isRecord(job.task) && typeof job.task.code === 'string') {
        const code = job.task.code;
        if ((await kindOf(code)) !== 'folder')
          problem(
            `${at}.task.code`,
            `"${code}" is not a folder (expected the folder of the entry script, relative to ${componentAt})`,
          );
        else if (
          typeof job.task.entry_script === 'string' &&
          (await kindOf(path.resolve(code, job.task.entry_script))) !== 'file'
        )
          problem(
            `${at}.task.entry_script`,
            `"${job.task.entry_script}" does not exist in ${code} (expected a file)`,
          );
      }
      nodes.push(node);
    }
  }

  // Bindings to other nodes' outputs, once every node is known.
  for (const r of pendingRefs) {
    const outs = declaredOutputs.get(r.node);
    if (!outs)
      problem(
        r.at,
        `\${{parent.jobs.${r.node}.outputs.${r.output}}} names no node "${r.node}" (expected one of ${Object.keys(doc.jobs).join(', ')})`,
      );
    else if (!(r.output in outs))
      problem(
        r.at,
        `\${{parent.jobs.${r.node}.outputs.${r.output}}}: node ${r.node} has no output "${r.output}" (expected one of ${Object.keys(outs).join(', ') || 'none: it has no outputs'})`,
      );
  }
  const cycle = findCycle(nodes);
  if (cycle)
    problem(
      'jobs',
      `the nodes ${cycle.join(' -> ')} read each other's outputs in a cycle (expected a graph without cycles)`,
    );

  if (problems.length) return { ok: false, problems };
  const notices = [...ignored].map(([key, { why, at }]) => `${key}: ${why} (${at.join(', ')})`);
  const nameSource = ['display_name', 'name', 'experiment_name'].find((k) => typeof doc[k] === 'string');
  const name = nameSource ? (doc[nameSource] as string) : path.basename(specPath).replace(/\.[^.]+$/, '');
  return {
    ok: true,
    pipeline: {
      name,
      specPath,
      outputs: pipelineOutputs,
      nodes,
      notices,
      ...(continueOnStepFailure !== undefined ? { continueOnStepFailure } : {}),
    },
  };
}

const NO_LOCAL_MEANING: Record<string, string> = {
  compute: 'no local meaning, nodes run on this machine',
  'settings.default_compute': 'no local meaning, nodes run on this machine',
  experiment_name: 'no local meaning, the run is listed by the pipeline name',
  tags: 'no local meaning, not recorded',
  environment: "no local meaning, nodes run with python3 on PATH (the job's interpreter)",
  mode: 'no local meaning, inputs are read and outputs written in place',
};

/** What binding a node's inputs and outputs needs of the pipeline around it. */
interface BindContext {
  dir: string;
  problem: (at: string, message: string) => void;
  notice: (key: string, at: string, why: string) => void;
  parentInputs: Record<string, Binding | null>;
  parentOutputs: Set<string>;
  /** `${{parent.jobs.<node>.outputs.<name>}}` seen, checked once every node is known. */
  pendingRefs: Array<{ at: string; node: string; output: string }>;
  pipelineOutputs: PipelineSpec['outputs'];
}

/** Inputs: the component declares them (type, default, optional), the node binds them. */
async function bindNodeInputs(
  ctx: BindContext,
  at: string,
  component: Doc,
  raw: Doc,
): Promise<{ inputs: Record<string, Binding>; dependsOn: Set<string> }> {
  const { problem, notice } = ctx;
  const inline = component === raw;
  const declared = isRecord(component.inputs) ? component.inputs : {};
  const given = isRecord(raw.inputs) ? raw.inputs : {};
  const inputs: Record<string, Binding> = {};
  const dependsOn = new Set<string>();
  for (const input of new Set([...Object.keys(declared), ...Object.keys(given)])) {
    const iat = `${at}.inputs.${input}`;
    const decl = inline ? undefined : declared[input];
    if (!inline && decl === undefined) {
      problem(
        iat,
        `the component declares no input "${input}" (expected one of ${Object.keys(declared).join(', ') || 'none: it has no inputs'})`,
      );
      continue;
    }
    const value = given[input];
    if (isRecord(value) && value.mode !== undefined) notice('mode', `${iat}.mode`, NO_LOCAL_MEANING.mode);
    const declType = isRecord(decl) && typeof decl.type === 'string' ? decl.type : undefined;
    const binding =
      value === undefined || value === null
        ? null
        : await bindValue(value, ctx.dir, iat, problem, declType, (ref) => {
            if (ref.kind === 'parent-input') {
              if (!(ref.name in ctx.parentInputs)) {
                problem(
                  iat,
                  `\${{parent.inputs.${ref.name}}} names no pipeline input (expected one of ${Object.keys(ctx.parentInputs).join(', ') || 'none: the pipeline has no inputs'})`,
                );
                return undefined;
              }
              // The component's declared type says how the node reads it (an mltable folder is a table).
              const b = ctx.parentInputs[ref.name] ?? null;
              return b && b.kind === 'path' && declType ? { ...b, type: declType } : b;
            }
            if (ref.kind === 'job-output') {
              ctx.pendingRefs.push({ at: iat, node: ref.node, output: ref.name });
              dependsOn.add(ref.node);
              return { kind: 'output', node: ref.node, output: ref.name, type: declType ?? 'uri_folder' };
            }
            problem(
              iat,
              `this binding has no meaning for a node input (expected \${{parent.inputs.x}} or \${{parent.jobs.<node>.outputs.<name>}})`,
            );
            return undefined;
          });
    if (binding === undefined) continue; // a problem, already said
    if (binding) {
      inputs[input] = binding;
      continue;
    }
    // Unset (not given, or bound to a pipeline input without a value): the default, or optional.
    if (isRecord(decl) && decl.default !== undefined) {
      inputs[input] = { kind: 'literal', value: String(decl.default) };
    } else if (!inline && !(isRecord(decl) && decl.optional === true)) {
      problem(
        iat,
        value === undefined || value === null
          ? `missing (the component's input is not optional: give a value, a path or \${{parent...}})`
          : `bound to a pipeline input that has no value, and the component's input is not optional (expected a value for it)`,
      );
    }
  }
  return { inputs, dependsOn };
}

/** Outputs: declared by the component, each a folder or file of the node's; the node may bind one to a pipeline output. */
function nodeOutputs(
  ctx: BindContext,
  at: string,
  name: string,
  component: Doc,
  raw: Doc,
): Record<string, NodeOutput> {
  const { problem, notice } = ctx;
  const declOut = isRecord(component.outputs) ? component.outputs : {};
  const givenOut = isRecord(raw.outputs) ? raw.outputs : {};
  const outputs: Record<string, NodeOutput> = {};
  const taken = new Set<string>();
  for (const output of new Set([...Object.keys(declOut), ...Object.keys(givenOut)])) {
    const oat = `${at}.outputs.${output}`;
    if (component !== raw && !(output in declOut)) {
      problem(
        oat,
        `the component declares no output "${output}" (expected one of ${Object.keys(declOut).join(', ') || 'none'})`,
      );
      continue;
    }
    const decl = isRecord(declOut[output]) ? (declOut[output] as Doc) : {};
    const value = givenOut[output];
    const ref = singleReference(value);
    if (ref) {
      if (ref.ref?.kind !== 'parent-output') {
        problem(oat, `${show(value)} is not an output binding (expected \${{parent.outputs.<name>}})`);
        continue;
      }
      if (!ctx.parentOutputs.has(ref.ref.name)) {
        problem(
          oat,
          `\${{parent.outputs.${ref.ref.name}}} names no pipeline output (expected one of ${[...ctx.parentOutputs].join(', ') || 'none: the pipeline has no outputs'})`,
        );
        continue;
      }
      ctx.pipelineOutputs[ref.ref.name] = { node: name, output };
    } else if (isRecord(value)) {
      if (value.mode !== undefined) notice('mode', `${oat}.mode`, NO_LOCAL_MEANING.mode);
    } else if (value !== undefined && value !== null) {
      problem(
        oat,
        `${show(value)} is not a valid output (expected a mapping such as {type: uri_folder}, or \${{parent.outputs.<name>}})`,
      );
      continue;
    }
    const spec = { ...decl, ...(isRecord(value) ? value : {}) };
    if (typeof spec.path === 'string' && fileNameOf(spec.path) === undefined)
      notice(
        'outputs path',
        `${oat}.path`,
        "a datastore path has no local meaning: each output lies in its node's folder of the run folder",
      );
    const otype = typeof spec.type === 'string' ? spec.type : 'uri_folder';
    const kind = otype === 'uri_file' ? 'file' : 'folder';
    const rel = `outputs/${(kind === 'file' ? fileNameOf(spec.path) : undefined) ?? output}`;
    if (taken.has(rel)) {
      problem(`${oat}.path`, `${rel} is where another output of the node goes too (expected distinct names)`);
      continue;
    }
    taken.add(rel);
    outputs[output] = { type: otype, kind, rel };
  }
  return outputs;
}

/** A parallel node's job: its component's keys, then the node's own over them (task merged key by key). */
function jobOf(component: Doc, node: Doc): Doc {
  const job: Doc = {};
  for (const source of component === node ? [node] : [component, node])
    for (const [k, v] of Object.entries(source)) if (!NOT_JOB_KEYS.has(k)) job[k] = v;
  if (component !== node && isRecord(component.task) && isRecord(node.task))
    job.task = { ...component.task, ...node.task };
  return job;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

async function loadComponent(
  ref: unknown,
  dir: string,
  at: string,
  problem: (at: string, m: string) => void,
): Promise<{ doc: Doc; file: string } | null> {
  if (isRecord(ref)) return { doc: ref, file: path.join(dir, 'pipeline') }; // an inline component
  if (typeof ref !== 'string' || ref === '') {
    problem(
      at,
      `${show(ref)} is not a component (expected the path of a component YAML file, ./component.yml)`,
    );
    return null;
  }
  const rel = ref.replace(/^file:/, '');
  if (/^azureml:/i.test(rel)) {
    problem(
      at,
      `"${ref}" is a registered component, which has no local copy (expected the path of its YAML file, ./component.yml)`,
    );
    return null;
  }
  const file = path.resolve(dir, rel);
  let doc: unknown;
  try {
    doc = await readYaml(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problem(
      at,
      code === 'ENOENT'
        ? `"${ref}" does not exist at ${file} (expected a component YAML file)`
        : (err as Error).message,
    );
    return null;
  }
  if (!isRecord(doc)) {
    problem(
      at,
      `${file} is not a component (expected a mapping with type, inputs, outputs and command or task)`,
    );
    return null;
  }
  return { doc, file };
}

/**
 * A value given for an input: a literal, a path (relative to the file), a mapping {type, path},
 * or one expression; null for an unset value, undefined after a problem.
 */
async function bindValue(
  value: unknown,
  dir: string,
  at: string,
  problem: (at: string, m: string) => void,
  declType: string | undefined,
  expression?: (ref: Reference) => Binding | null | undefined,
): Promise<Binding | null | undefined> {
  if (typeof value === 'number' || typeof value === 'boolean')
    return { kind: 'literal', value: String(value) };
  const single = singleReference(value);
  if (single) {
    if (!single.ref || !expression) {
      problem(
        at,
        `${show(value)} has no meaning here (expected a value${expression ? `, \${{parent.inputs.x}} or \${{parent.jobs.<node>.outputs.<name>}}` : ''})`,
      );
      return undefined;
    }
    return expression(single.ref);
  }
  if (typeof value === 'string') {
    // A literal, unless the component wants a path (uri_folder, ...): then a local path.
    if (declType && !LITERAL_TYPES.includes(declType)) return bindPath(value, declType, dir, at, problem);
    return { kind: 'literal', value };
  }
  if (!isRecord(value)) {
    problem(
      at,
      `${show(value)} is not a valid input (expected a value, a mapping with type and path, or \${{parent...}})`,
    );
    return undefined;
  }
  const type = typeof value.type === 'string' ? value.type : declType;
  if (value.path !== undefined) {
    const inner = singleReference(value.path);
    if (inner) {
      const b = await bindValue(value.path, dir, `${at}.path`, problem, type, expression);
      // The mapping's own type says how the node reads the bound path.
      return b && b.kind !== 'literal' && type ? { ...b, type } : b;
    }
    if (typeof value.path !== 'string' || value.path === '') {
      problem(`${at}.path`, `${show(value.path)} is not a valid path (expected a local file or folder path)`);
      return undefined;
    }
    return bindPath(value.path, type ?? 'uri_folder', dir, `${at}.path`, problem);
  }
  const literal = value.value ?? value.default;
  if (literal !== undefined && literal !== null) return { kind: 'literal', value: String(literal) };
  if (value.optional === true || (type && LITERAL_TYPES.includes(type))) return null;
  problem(
    at,
    `missing a path or value (expected {type: ${type ?? 'uri_folder'}, path: ./local/path} or a value)`,
  );
  return undefined;
}

async function bindPath(
  p: string,
  type: string,
  dir: string,
  at: string,
  problem: (at: string, m: string) => void,
): Promise<Binding | undefined> {
  if (isCloudPath(p)) {
    problem(at, `"${p}" is a cloud location (expected a local file or folder path)`);
    return undefined;
  }
  const abs = path.resolve(dir, p);
  if ((await kindOf(abs)) === undefined) {
    problem(
      at,
      `"${p}" does not exist${path.isAbsolute(p) ? '' : ` at ${abs}`} (expected a local file or folder)`,
    );
    return undefined;
  }
  return { kind: 'path', path: abs, type };
}

async function commandNode(
  name: string,
  at: string,
  component: Doc,
  baseDir: string,
  inputs: Record<string, Binding>,
  outputs: Record<string, NodeOutput>,
  isSet: (input: string) => boolean,
  problem: (at: string, m: string) => void,
): Promise<Omit<Extract<PipelineNode, { type: 'command' }>, 'dependsOn' | 'environmentVariables'> | null> {
  if (typeof component.command !== 'string' || component.command.trim() === '') {
    problem(
      `${at}.command`,
      `${component.command === undefined ? 'missing' : `${show(component.command)} is not valid`} (expected the command line to run)`,
    );
    return null;
  }
  // Every ${{...}} outside an optional part must be known now; inside one, only its form.
  for (const r of references(component.command)) {
    if (r.ref?.kind === 'input' || r.ref?.kind === 'output') continue;
    problem(
      `${at}.command`,
      `${r.whole} has no meaning in a command (expected \${{inputs.<name>}} or \${{outputs.<name>}})`,
    );
  }
  for (const r of references(withoutOptionalParts(component.command))) {
    if (r.ref?.kind === 'input' && !isSet(r.ref.name))
      problem(
        `${at}.command`,
        `${r.whole} names ${r.ref.name in inputs ? 'an input' : 'no input'} that is set (expected one of ${Object.keys(inputs).join(', ') || 'none'}, or the part inside $[[ ]] when the input is optional)`,
      );
    if (r.ref?.kind === 'output' && !(r.ref.name in outputs))
      problem(
        `${at}.command`,
        `${r.whole} names no output (expected one of ${Object.keys(outputs).join(', ') || 'none: the node has no outputs'})`,
      );
  }
  let code = component.code;
  if (isRecord(code) && typeof code.local_path === 'string') code = code.local_path;
  const codeDir = typeof code === 'string' ? path.resolve(baseDir, code) : baseDir;
  if (typeof code === 'string' && isCloudPath(code)) {
    problem(`${at}.code`, `"${code}" is a cloud location (expected a local folder)`);
    return null;
  }
  if ((await kindOf(codeDir)) !== 'folder') {
    problem(
      `${at}.code`,
      `"${String(code)}" is not a folder at ${codeDir} (expected the folder the command runs in)`,
    );
    return null;
  }
  return {
    type: 'command',
    name,
    baseDir,
    inputs,
    outputs,
    command: resolveOptionalParts(component.command, isSet),
    code: codeDir,
  };
}

function findCycle(nodes: PipelineNode[]): string[] | null {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    if (state.get(name) === 'done') return null;
    if (state.get(name) === 'visiting') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) {
      const c = visit(dep);
      if (c) return c;
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const n of nodes) {
    const c = visit(n.name);
    if (c) return c;
  }
  return null;
}
