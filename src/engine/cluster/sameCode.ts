// Agents read the job's code by path (a shared file system). Before one runs a worker it checks that
// the entry script at that path is the leader's (size and SHA-256): a machine with another checkout,
// or none, would otherwise run different code under the same name.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export interface CodeStamp {
  file: string;
  size: number;
  sha256: string;
}

export function stampOf(file: string): CodeStamp {
  const bytes = readFileSync(file);
  return { file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Why this machine cannot run the leader's code, or null when it sees the same file. */
export function differs(expected: CodeStamp, cache: Map<string, CodeStamp>): string | null {
  let key: string;
  try {
    const st = statSync(expected.file);
    key = `${expected.file}\0${st.size}\0${st.mtimeMs}`;
  } catch {
    return `${expected.file} does not exist here (the agents must see the job's files at the leader's paths: a shared file system)`;
  }
  // Hashed once per version of the file, not per worker.
  let here = cache.get(key);
  if (!here) {
    here = stampOf(expected.file);
    cache.set(key, here);
  }
  if (here.size === expected.size && here.sha256 === expected.sha256) return null;
  return (
    `${expected.file} here is not the leader's (here ${here.size} bytes, sha256 ${here.sha256.slice(0, 12)}; ` +
    `the leader's ${expected.size} bytes, sha256 ${expected.sha256.slice(0, 12)}): the agents must see the job's files at the leader's paths, unchanged`
  );
}
