// The local model registry, one reader for every file that names a registered model: a job spec's
// `models: {iris: azureml:iris:2}`, a v2 model input `path: azureml:iris@latest`, a batch
// deployment's `model: azureml:iris:2`. <registry>/<name>/<version>/ holds the model as Azure ML lays
// it out under AZUREML_MODEL_DIR (a model registered from ./model keeps its folder:
// <version>/model/MLmodel); <registry>/<name>/<version>.json, where Run.register_model wrote it
// (resources/python/prs_model_registry.py), says which entry is the model.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataDir } from '../history';

/** azureml:name:version, azureml:name@latest, azureml:name (latest). Not azureml://… (a cloud registry). */
const MODEL_REFERENCE = /^azureml:([A-Za-z0-9][A-Za-z0-9._-]*)(?::([A-Za-z0-9._-]+)|@latest)?$/;

export interface ModelReference {
  name: string;
  /** undefined: the latest version. */
  version?: string;
}

export function parseModelReference(text: string): ModelReference | null {
  const m = MODEL_REFERENCE.exec(text);
  return m ? { name: m[1]!, ...(m[2] ? { version: m[2] } : {}) } : null;
}

export function isRegisteredModelReference(text: string): boolean {
  return MODEL_REFERENCE.test(text);
}

/** PRS_MODEL_REGISTRY, else models/ in the data folder (as the workers get it). */
export function modelRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PRS_MODEL_REGISTRY ? path.resolve(env.PRS_MODEL_REGISTRY) : path.join(dataDir(env), 'models');
}

export type ModelLookup = { ok: true; dir: string; version: string } | { ok: false; why: string };

/** A registered model's version folder in `registry`; the latest is the highest version number. */
export async function findRegisteredModel(registry: string, ref: ModelReference): Promise<ModelLookup> {
  const modelDir = path.join(registry, ref.name);
  let versions: string[];
  try {
    const entries = await readdir(modelDir, { withFileTypes: true });
    versions = entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
  } catch {
    return { ok: false, why: `the local model registry has no model "${ref.name}" (no folder ${modelDir})` };
  }
  versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (versions.length === 0) return { ok: false, why: `${modelDir} holds no version folder` };
  if (ref.version === undefined) {
    const latest = versions[versions.length - 1]!;
    return { ok: true, dir: path.join(modelDir, latest), version: latest };
  }
  if (!versions.includes(ref.version)) {
    return {
      ok: false,
      why: `the local model registry has no version ${ref.version} of "${ref.name}" (${modelDir} has ${versions.join(', ')})`,
    };
  }
  return { ok: true, dir: path.join(modelDir, ref.version), version: ref.version };
}

/**
 * A job spec's registered model: path, the registered file or folder, as Model.get_model_path gives
 * it (its record says; else the version folder's one entry); folder, the version's folder, as Azure
 * ML mounts a model input. Or what is wrong, with what was expected.
 */
export async function resolveRegisteredModel(
  reference: string,
  registry = modelRegistryDir(),
): Promise<{ path: string; folder: string } | { problem: string }> {
  const ref = parseModelReference(reference);
  if (!ref) return { problem: `"${reference}" is not a model reference (expected azureml:<name>:<version>)` };
  const found = await findRegisteredModel(registry, ref);
  if (!found.ok) {
    return {
      problem: `"${reference}": ${found.why} (expected a model registered with Run.register_model, or a path)`,
    };
  }
  const record = await readFile(path.join(registry, ref.name, `${found.version}.json`), 'utf8').then(
    (text) => JSON.parse(text) as { path?: string },
    () => null,
  );
  if (record) return { path: path.join(found.dir, record.path ?? ''), folder: found.dir };
  const entries = await readdir(found.dir);
  return { path: entries.length === 1 ? path.join(found.dir, entries[0]!) : found.dir, folder: found.dir };
}
