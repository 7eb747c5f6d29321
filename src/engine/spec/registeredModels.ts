// Models of the local model registry (resources/python/prs_model_registry.py writes it) as the job
// spec names them: `models: {iris: azureml:iris:2}`, a v2 model input `path: azureml:iris@latest`.
// <registry>/<name>/<version>/ holds the model as Azure ML lays it out under AZUREML_MODEL_DIR;
// <registry>/<name>/<version>.json, where Run.register_model wrote it, says which entry is the model.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { dataDir } from '../history';

/** azureml:<name>:<version> or azureml:<name>@latest (or azureml:<name>: the latest). */
const REFERENCE = /^azureml:([A-Za-z0-9][A-Za-z0-9_.-]*)(?::(\d+)|@latest)?$/;

export function isRegisteredModelReference(p: string): boolean {
  return REFERENCE.test(p);
}

/** PRS_MODEL_REGISTRY, else models/ in the data folder (as the workers get it). */
export function modelRegistryDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PRS_MODEL_REGISTRY ? path.resolve(env.PRS_MODEL_REGISTRY) : path.join(dataDir(env), 'models');
}

/** The registered model's file or folder and its version's folder, or what is wrong (with what was expected). */
export async function resolveRegisteredModel(
  reference: string,
): Promise<{ path: string; folder: string } | { problem: string }> {
  const m = REFERENCE.exec(reference);
  if (!m) return { problem: `"${reference}" is not a model reference (expected azureml:<name>:<version>)` };
  const [, name, wanted] = m as unknown as [string, string, string | undefined];
  const root = modelRegistryDir();
  const folder = path.join(root, name);
  const versions = (await readdir(folder, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory() && /^\d+$/.test(e.name))
    .map((e) => Number(e.name))
    .sort((a, b) => a - b);
  const version = wanted === undefined ? versions.at(-1) : Number(wanted);
  if (version === undefined || !versions.includes(version)) {
    const known = versions.map((v) => `${name}:${v}`).join(', ') || 'none of that name';
    return {
      problem: `"${reference}": no such model in the local model registry ${root} (registered: ${known}; expected a model registered with Run.register_model, or a path)`,
    };
  }
  // path: the registered file or folder, as Model.get_model_path gives it (its record says; else the
  // version folder's one entry); folder: the version's folder, as Azure ML mounts a model input.
  const versionDir = path.join(folder, String(version));
  const record = await readFile(path.join(folder, `${version}.json`), 'utf8').then(
    (text) => JSON.parse(text) as { path?: string },
    () => null,
  );
  if (record) return { path: path.join(versionDir, record.path ?? ''), folder: versionDir };
  const entries = await readdir(versionDir);
  return { path: entries.length === 1 ? path.join(versionDir, entries[0]!) : versionDir, folder: versionDir };
}
