// What the job wizard asks of the host: an entry script's runtime and functions, live counts of
// the inputs and mini-batches, a table preview, the interpreters on this machine and which of the
// entry script's imports each has, validation exactly as `prs validate` does it, and spec files
// saved (over the user's YAML: specDocument.ts), opened, imported from and exported to Azure ML v2.

import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument, stringify } from 'yaml';
import type {
  DirListing,
  InputsInfo,
  InterpreterInfo,
  ModuleCheck,
  ScriptInfo,
  ScriptToCheck,
  SpecFileContent,
  ValidateResult,
} from '../common/api';
import type { InputSpec, JobSpec } from '../common/spec';
import { parseMiniBatchSize } from '../common/size';
import { runtimeForEntryScript, SPEC_KEYS, tabularFormatForPath } from '../common/specSchema';
import { inheritedEnv } from '../engine/childEnv';
import { planMiniBatches, walkInput } from '../engine/partition';
import { fromAzureMlV2, looksLikeAzureMlV2, toAzureMlV2 } from '../engine/spec/azuremlV2';
import { pythonResourcesDir } from '../runtime/paths';
import { resolveSpec } from '../engine/spec/load';
import {
  interpreterToStart,
  isExecutable,
  probeInterpreter,
  resolveInterpreter,
} from '../runtime/interpreter';
import { readTable } from '../runtime/tables';
import { pythonImports, type PythonImport } from './scriptImports';
import { sameValue, updateSpecYaml } from './specDocument';

/** Counting stops here: the figures then read "at least". */
const COUNT_BUDGET_MS = 1500;
const COUNT_MAX_FILES = 200_000;
const PREVIEW_ROWS = 20;

// ---- files ----------------------------------------------------------------------------------

export async function listDir(dir?: string): Promise<DirListing> {
  const abs = path.resolve(dir && dir.trim() !== '' ? dir : os.homedir());
  const st = await stat(abs).catch(() => null);
  if (!st) throw new Error(`${abs}: no such folder`);
  const folder = st.isDirectory() ? abs : path.dirname(abs);
  const dirents = await readdir(folder, { withFileTypes: true });
  const entries: DirListing['entries'] = [];
  for (const d of dirents) {
    const full = path.join(folder, d.name);
    let kind: 'file' | 'dir' | null = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : null;
    let size = 0;
    if (d.isSymbolicLink() || kind === 'file') {
      const s = await stat(full).catch(() => null);
      if (!s) continue;
      kind = s.isDirectory() ? 'dir' : 'file';
      size = s.isFile() ? s.size : 0;
    }
    if (kind) entries.push({ name: d.name, kind, size });
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const parent = path.dirname(folder);
  return { path: folder, parent: parent === folder ? null : parent, entries };
}

// ---- entry script ---------------------------------------------------------------------------

const DEFINES: Record<'python' | 'node', (name: string) => RegExp> = {
  python: (n) => new RegExp(`^(async\\s+)?def\\s+${n}\\s*\\(`, 'm'),
  node: (n) =>
    new RegExp(
      `(export\\s+(async\\s+)?function\\s+${n}\\b)|(export\\s+(const|let|var)\\s+${n}\\b)|(exports\\.${n}\\s*=)|(module\\.exports\\s*=\\s*\\{[^}]*\\b${n}\\b)|(export\\s*\\{[^}]*\\b${n}\\b)`,
      'm',
    ),
};

/** Reads the script's text and looks for the definitions (no code runs). */
export async function inspectScript(file: string): Promise<ScriptInfo> {
  const runtime = runtimeForEntryScript(file) ?? null;
  const none = { init: false, run: false, shutdown: false };
  let text: string;
  try {
    if (!(await stat(file)).isFile()) return { path: file, exists: false, runtime, defines: none };
    text = await readFile(file, 'utf8');
  } catch {
    return { path: file, exists: false, runtime, defines: none };
  }
  if (!runtime) return { path: file, exists: true, runtime, defines: none };
  const has = (n: string) => DEFINES[runtime](n).test(text);
  return {
    path: file,
    exists: true,
    runtime,
    defines: { init: has('init'), run: has('run'), shutdown: has('shutdown') },
  };
}

// ---- inputs ---------------------------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function draftInputs(spec: Record<string, unknown>, specDir: string): InputSpec[] {
  const raw = Array.isArray(spec.inputs) ? spec.inputs : [];
  return raw.filter(isRecord).flatMap((i) => {
    if (typeof i.path !== 'string' || i.path === '') return [];
    const abs = path.resolve(specDir, i.path);
    const type = i.type === 'tabular' ? 'tabular' : 'files';
    const input: InputSpec = { path: abs, type };
    if (typeof i.pattern === 'string' && i.pattern) input.pattern = i.pattern;
    if (typeof i.partition_format === 'string' && i.partition_format)
      input.partition_format = i.partition_format;
    if (typeof i.format === 'string') input.format = i.format as InputSpec['format'];
    else if (type === 'tabular') input.format = tabularFormatForPath(abs);
    return [input];
  });
}

/** Files and bytes the inputs match, mini-batches they make, and for a table its columns and first rows. */
export async function inspectInputs(spec: Record<string, unknown>, specDir: string): Promise<InputsInfo> {
  const info: InputsInfo = {
    files: 0,
    bytes: 0,
    partial: false,
    miniBatches: null,
    miniBatchesPartial: false,
    columns: [],
    rows: [],
    problem: null,
  };
  const inputs = draftInputs(spec, specDir);
  if (inputs.length === 0) return info;
  const inputType = inputs[0].type;
  const deadline = Date.now() + COUNT_BUDGET_MS;
  const ac = new AbortController();
  let firstFile: string | null = null;
  try {
    outer: for (const input of inputs) {
      for await (const f of walkInput(input, ac.signal)) {
        firstFile ??= f.abs;
        info.files++;
        info.bytes += (await stat(f.abs).catch(() => null))?.size ?? 0;
        if (info.files >= COUNT_MAX_FILES || Date.now() > deadline) {
          info.partial = true;
          break outer;
        }
      }
    }
  } catch (err) {
    info.problem = (err as Error).message;
    return info;
  }
  const size = parseMiniBatchSize(spec.mini_batch_size, inputType);
  if (size !== null && info.files > 0) {
    const job = {
      name: 'wizard',
      inputs,
      input_type: inputType,
      mini_batch_size: size,
      partition_keys:
        Array.isArray(spec.partition_keys) && spec.partition_keys.length > 0
          ? spec.partition_keys
          : undefined,
      side_inputs: [],
    } as unknown as JobSpec;
    let n = 0;
    let preview: Awaited<ReturnType<typeof readTable>> | null = null;
    const planDeadline = Date.now() + COUNT_BUDGET_MS;
    try {
      for await (const mb of planMiniBatches(job, { signal: ac.signal })) {
        if (n === 0 && inputType === 'tabular' && mb.sources) {
          preview = await readTable(mb.sources).catch(() => null);
        }
        n++;
        if (Date.now() > planDeadline) {
          info.miniBatchesPartial = true;
          break;
        }
      }
      info.miniBatches = n;
    } catch (err) {
      info.problem = (err as Error).message;
    }
    if (preview) {
      info.columns = preview.columns;
      info.rows = preview.rows.slice(0, PREVIEW_ROWS);
    }
  }
  if (inputType === 'tabular' && info.columns.length === 0 && firstFile) {
    // Without a valid mini_batch_size (or with partition keys that do not exist) still show the table.
    const job = {
      name: 'wizard',
      inputs,
      input_type: 'tabular',
      mini_batch_size: 1 << 20,
      side_inputs: [],
    } as unknown as JobSpec;
    try {
      for await (const mb of planMiniBatches(job, { signal: ac.signal })) {
        const t = mb.sources ? await readTable(mb.sources) : null;
        if (t) {
          info.columns = t.columns;
          info.rows = t.rows.slice(0, PREVIEW_ROWS);
        }
        break;
      }
    } catch {
      // the count above already reported the problem
    }
  }
  ac.abort();
  return info;
}

// ---- interpreters ---------------------------------------------------------------------------

/** A script to check as the host reads it: both paths absolute. */
export function absScript(s: ScriptToCheck): ScriptToCheck {
  return { path: path.resolve(s.path), sourceDir: path.resolve(s.sourceDir) };
}

async function isModuleIn(dir: string, name: string): Promise<boolean> {
  for (const candidate of [path.join(dir, `${name}.py`), path.join(dir, name)])
    if (await stat(candidate).catch(() => null)) return true;
  return false;
}

/** The script's imports (none for a script that is not Python or cannot be read). */
async function importsOf(script: ScriptToCheck | undefined): Promise<PythonImport[]> {
  if (!script || runtimeForEntryScript(script.path) !== 'python') return [];
  const text = await readFile(script.path, 'utf8').catch(() => '');
  return pythonImports(text);
}

/** Where each import comes from: the job's own folders, the interpreter, or the app's compatibility packages. */
async function placeModules(
  imports: PythonImport[],
  found: boolean[],
  script: ScriptToCheck | undefined,
): Promise<ModuleCheck[]> {
  const own = script ? [...new Set([path.dirname(script.path), script.sourceDir])] : [];
  const where = async ({ name }: PythonImport, i: number): Promise<ModuleCheck['found']> => {
    for (const dir of own) if (await isModuleIn(dir, name)) return 'source';
    if (found[i]) return 'installed';
    if (await isModuleIn(pythonResourcesDir(), name)) return 'bundled';
    return 'missing';
  };
  return Promise.all(
    imports.map(async (imp, i) => ({
      name: imp.name,
      found: await where(imp, i),
      ...(imp.optional ? { optional: true } : {}),
    })),
  );
}

/**
 * Runs the interpreter once: its version and whether pandas imports. Only on the user's request
 * (the wizard's "Check this interpreter", which names the path) or for findInterpreters' well-known
 * ones: a path from a spec, or from the folder a spec came in, is code from wherever the spec came
 * from. The label, unless given, is the executable that ran.
 */
export async function checkInterpreter(
  python: string,
  label?: string,
  specDir = process.cwd(),
  script?: ScriptToCheck,
): Promise<InterpreterInfo> {
  const resolved = await resolveInterpreter(python, { baseDir: specDir });
  const exe = interpreterToStart(resolved);
  const info = { path: python, label: label ?? exe };
  const imports = await importsOf(script);
  const failed = (error: string): InterpreterInfo => ({
    ...info,
    version: null,
    pandas: false,
    modules: [],
    error,
  });
  if (!resolved.ok) return failed(resolved.problem);
  // Only to fill in the wizard: no spec's variables, and none of the host's injection ones.
  const r = await probeInterpreter(exe, {
    imports: ['pandas'],
    finds: imports.map((i) => i.name),
    env: inheritedEnv(),
  });
  if (!r.ok) return failed(r.error);
  const modules = await placeModules(imports, r.found, script);
  return {
    ...info,
    version: r.version.join('.'),
    pandas: !('pandas' in r.cannotImport),
    modules,
    error: null,
  };
}

/**
 * The interpreters to offer: python3 on PATH, /usr/bin/python3 and conda environments (the user's
 * own installations, checked at once), and a .venv or venv in the source folder, listed by the
 * executable that would run but not run: it came with the spec. An entry not checked has neither
 * a version nor an error; the wizard offers to check it.
 */
export async function findInterpreters(
  sourceDir?: string,
  script?: ScriptToCheck,
): Promise<InterpreterInfo[]> {
  const found: Array<{ path: string; label: string; probe: boolean }> = [];
  const seen = new Set<string>();
  const add = (p: string, label: string, probe: boolean) => {
    if (seen.has(p)) return;
    seen.add(p);
    found.push({ path: p, label, probe });
  };
  const here = { baseDir: sourceDir ?? process.cwd() };
  const onPath = await resolveInterpreter(undefined, here);
  if (onPath.ok) add(onPath.executable, 'python3 on PATH', true);
  if (await isExecutable('/usr/bin/python3')) add('/usr/bin/python3', 'system /usr/bin/python3', true);
  if (sourceDir) {
    for (const name of ['.venv', 'venv']) {
      const venv = await resolveInterpreter(path.join(sourceDir, name), here);
      if (venv.ok) add(venv.executable, `${name} in the source folder`, false);
    }
  }
  const home = os.homedir();
  for (const base of ['miniconda3', 'anaconda3', 'miniforge3', 'mambaforge']) {
    const envs = path.join(home, base, 'envs');
    const names = await readdir(envs).catch(() => [] as string[]);
    for (const n of names.sort()) add(path.join(envs, n), `conda env ${n} (${base})`, true);
  }
  return Promise.all(
    found.map((f) =>
      f.probe
        ? checkInterpreter(f.path, f.label, undefined, script)
        : { path: f.path, label: f.label, version: null, pandas: false, modules: [], error: null },
    ),
  );
}

// ---- spec files -----------------------------------------------------------------------------

/** Same path as `prs validate`: the spec as written, resolved against its folder, disk checks included. */
export async function validateDraft(spec: Record<string, unknown>, specDir: string): Promise<ValidateResult> {
  const r = await resolveSpec(spec, specDir);
  return r.ok ? { ok: true, spec: r.spec, warnings: r.warnings } : { ok: false, problems: r.problems };
}

/** Drops empty optional values the form keeps for its fields, so the YAML says only what was set. */
export function cleanSpec(spec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'inputs') continue;
    if (isRecord(v) && Object.keys(v).length === 0) continue;
    if (k === 'inputs' && Array.isArray(v)) {
      out[k] = v.map((i) => (isRecord(i) ? cleanSpec(i) : i));
      continue;
    }
    out[k] = v;
  }
  return out;
}

/** Keys in the order contracts.md lists them (a form fills them in any order). */
function ordered(spec: Record<string, unknown>): Record<string, unknown> {
  const rank = (k: string) => {
    const i = (SPEC_KEYS as string[]).indexOf(k);
    return i < 0 ? SPEC_KEYS.length : i;
  };
  return Object.fromEntries(Object.entries(spec).sort(([a], [b]) => rank(a) - rank(b)));
}

export function specToYaml(spec: Record<string, unknown>): string {
  return stringify(ordered(cleanSpec(spec)), { lineWidth: 0 });
}

/**
 * Writes a spec file. Over an existing YAML spec, only what changed is edited into the user's text
 * (comments, key order and formatting of the rest stay), and a spec that says what the file says
 * leaves the file untouched. A new YAML file is written over `template` (the spec a Save as…
 * started from) when there is one, so its comments come along.
 */
export async function saveSpec(
  file: string,
  spec: Record<string, unknown>,
  overwrite: boolean,
  azureMlV2: boolean,
  template?: string,
): Promise<{ saved: true; path: string; warnings: string[] } | { saved: false; exists: true }> {
  const abs = path.resolve(file);
  const before = existsSync(abs) ? await readFile(abs, 'utf8').catch(() => null) : null;
  const base = before ?? (template ? await readFile(path.resolve(template), 'utf8').catch(() => null) : null);
  if (!overwrite && before !== null) return { saved: false, exists: true };
  let text: string;
  let warnings: string[] = [];
  if (azureMlV2) {
    const v2 = toAzureMlV2(cleanSpec(spec) as Parameters<typeof toAzureMlV2>[0]);
    warnings = v2.warnings;
    text = stringify(v2.doc, { lineWidth: 0 });
  } else if (path.extname(abs).toLowerCase() === '.json')
    text = JSON.stringify(ordered(cleanSpec(spec)), null, 2) + '\n';
  else text = (base !== null && yamlOver(base, spec)) || specToYaml(spec);
  if (text !== before) await writeFile(abs, text);
  return { saved: true, path: abs, warnings };
}

/** The text Save would write for a YAML spec: over the file at `file` when it is one, else anew. */
export async function yamlToSave(spec: Record<string, unknown>, file?: string): Promise<string> {
  const abs = file ? path.resolve(file) : null;
  const yamlFile = abs && /\.ya?ml$/i.test(abs);
  const before = yamlFile ? await readFile(abs, 'utf8').catch(() => null) : null;
  return (before !== null && yamlOver(before, spec)) || specToYaml(spec);
}

/** `spec` edited into the YAML text of a spec file, or '' when that text is not a spec's mapping. */
function yamlOver(before: string, spec: Record<string, unknown>): string {
  const doc = parseDocument(before);
  if (doc.errors.length > 0 || !isRecord(doc.toJS())) return '';
  // The form's empty fields are what the file left out; an unchanged draft is the file itself.
  if (sameValue(doc.toJS(), spec)) return before;
  return updateSpecYaml(before, cleanSpec(spec));
}

export async function readSpecFile(file: string): Promise<SpecFileContent> {
  const abs = path.resolve(file);
  const text = await readFile(abs, 'utf8');
  let raw: unknown;
  if (path.extname(abs).toLowerCase() === '.json') raw = JSON.parse(text);
  else {
    const doc = parseDocument(text);
    if (doc.errors.length > 0)
      throw new Error(`${abs}: ${doc.errors[0].message.split('\n')[0]} (expected valid YAML)`);
    raw = doc.toJS();
  }
  if (!isRecord(raw))
    throw new Error(`${abs}: not a mapping of keys (expected a job spec or an Azure ML v2 parallel job)`);
  if (looksLikeAzureMlV2(raw)) {
    const imported = fromAzureMlV2(raw, { baseDir: path.dirname(abs) });
    return {
      path: abs,
      spec: imported.spec,
      source: 'azureml-v2',
      // The form holds the spec file format, which has no outputs: say what is lost.
      warnings: [
        ...imported.warnings,
        ...Object.keys(imported.outputs).map(
          (name) =>
            `outputs.${name}: the spec file format has no outputs; \${{outputs.${name}}} is passed as written and the output file goes to outputs/`,
        ),
      ],
      problems: imported.problems.map((p) => `${p.path}: ${p.message}`),
    };
  }
  return { path: abs, spec: raw, source: 'spec', warnings: [], problems: [] };
}

export function exportAzureMlV2(spec: Record<string, unknown>): { yaml: string; warnings: string[] } {
  const v2 = toAzureMlV2(cleanSpec(spec) as Parameters<typeof toAzureMlV2>[0]);
  return { yaml: stringify(v2.doc, { lineWidth: 0 }), warnings: v2.warnings };
}
