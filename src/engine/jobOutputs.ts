// Azure ML v2 outputs at run time. The spec keeps `${{outputs.<name>}}` in its arguments, and each
// worker gets the output's path inside this run folder: a run folder that was moved or copied
// still resumes into its own outputs, never the old place.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { JobOutput } from '../common/spec';

const OUTPUT_EXPRESSION = /\$\{\{\s*outputs\.([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The arguments with every `${{outputs.<name>}}` of a declared output replaced by its path. */
export function bindOutputArgs(
  args: readonly string[],
  outputs: Record<string, JobOutput> | undefined,
  outputsDir: string,
): string[] {
  if (!outputs) return [...args];
  return args.map((arg) =>
    arg.replace(OUTPUT_EXPRESSION, (whole, name: string) =>
      name in outputs ? path.join(outputsDir, outputs[name]!.path) : whole,
    ),
  );
}

/** Folder outputs exist before run() is called, as Azure ML's rw_mount outputs do. */
export async function createOutputFolders(
  outputs: Record<string, JobOutput> | undefined,
  outputsDir: string,
): Promise<void> {
  for (const o of Object.values(outputs ?? {})) {
    const abs = path.join(outputsDir, o.path);
    await mkdir(o.kind === 'folder' ? abs : path.dirname(abs), { recursive: true });
  }
}
