// The local model registry: <data folder>/models/<name>/<version>/ holds a registered model's files
// as Azure ML lays them out under AZUREML_MODEL_DIR (a model registered from ./model keeps its
// folder: <version>/model/MLmodel). `azureml:<name>:<version>` and `azureml:<name>@latest` in a
// batch deployment resolve here.

import { readdir } from 'node:fs/promises';
import path from 'node:path';

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

export function modelRegistryDir(dataDir: string): string {
  return path.join(dataDir, 'models');
}

export type ModelLookup = { ok: true; dir: string; version: string } | { ok: false; why: string };

/** A registered model's version folder; the latest is the highest version number. */
export async function findRegisteredModel(dataDir: string, ref: ModelReference): Promise<ModelLookup> {
  const modelDir = path.join(modelRegistryDir(dataDir), ref.name);
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
