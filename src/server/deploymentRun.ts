// `prs run deployment.yml --input PATH --output DIR`: the batch deployment's pieces of the run
// command, loaded only when --input is given. The run folder keeps the score output (it stays
// self-contained and resumable); --output gets a copy of it once the job has completed, as
// `az ml job download --output-name score` would fetch it.

import { cp, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { RunSummary } from '../common/events';
import { lineIndexPath } from '../common/lineIndex';
import { describeFsError } from '../engine/inputError';
import { SCORE_OUTPUT } from '../engine/spec/deployment';

export { loadDeployment } from '../engine/spec/deployment';

/**
 * Makes the --output folder before the job runs, so that a folder that cannot be written is
 * refused before any work. A folder with files in it is refused too: nothing there is overwritten.
 */
export async function prepareOutputFolder(dir: string): Promise<string | null> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) =>
    err.code === 'ENOENT' ? null : err,
  );
  if (entries instanceof Error)
    return `cannot read ${dir}: ${describeFsError(entries)} (expected a new or empty folder)`;
  if (entries && entries.length > 0)
    return `${dir} is not empty (expected a new or empty folder: its files are not overwritten)`;
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    return `cannot make ${dir}: ${describeFsError(err)} (expected a folder that can be written)`;
  }
  return null;
}

/** After the run: the score output into --output when the job completed; otherwise why not. */
export async function copyScoreOutput(
  summary: RunSummary,
  dir: string,
): Promise<{ line: string; ok: boolean }> {
  const score = path.join(summary.run_dir, 'outputs', SCORE_OUTPUT);
  if (summary.status !== 'completed') {
    return {
      line: `--output: ${dir} is left empty, the job did not complete; what it wrote is in ${score}`,
      ok: true,
    };
  }
  try {
    // The output file's line index is the app's, for paging through it: not an output.
    const index = summary.output_file ? lineIndexPath(summary.output_file) : undefined;
    await cp(score, dir, { recursive: true, filter: (src) => src !== index });
  } catch (err) {
    return { line: `--output: cannot copy ${score} to ${dir}: ${describeFsError(err)}`, ok: false };
  }
  return { line: `Output copied to ${dir}`, ok: true };
}
