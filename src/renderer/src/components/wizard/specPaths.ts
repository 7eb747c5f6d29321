// The folders a draft's paths are relative to, as the Browse… buttons use them.

import { relativeInside, resolveFrom, sourceDirOf } from '../../../../common/specFilePaths';
import type { Draft } from './fields';

export interface PathBase {
  dir: string;
  toValue(abs: string): string;
  toAbs(value: string): string;
}

export interface SpecPaths {
  /** The spec's folder (absolute); for a job not saved yet, the folder it would be saved in. */
  specDir: string;
  /** source_directory, absolute. */
  sourceDir: string;
  /** Most paths: relative to the spec's folder. */
  specBase: PathBase;
  /** entry_script: relative to source_directory, without `./`. */
  sourceBase: PathBase;
}

function base(dir: string, bare: boolean, saved: boolean): PathBase {
  return {
    dir,
    // Until the spec has a folder of its own, a chosen path stays absolute.
    toValue: (abs) => (saved ? relativeInside(dir, abs, bare) : abs),
    toAbs: (v) => resolveFrom(dir, v),
  };
}

export function specPaths(draft: Draft, specDir: string, saved: boolean): SpecPaths {
  const sourceDir = sourceDirOf(draft, specDir);
  return {
    specDir,
    sourceDir,
    specBase: base(specDir, false, saved),
    sourceBase: base(sourceDir, true, saved),
  };
}
