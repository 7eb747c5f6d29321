// `prs export <run-dir> --format csv|jsonl|parquet [--out FILE]`: the output browser's exports
// from the command line, through the same writer (exports.ts), so both give the same file.

import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ExportWhat } from '../common/api';
import { describeFsError, InputError } from '../engine/inputError';
import { UsageError } from './usageError';
import { writeExport, writeExportFile } from '../host/exports';

const FORMATS: Record<string, ExportWhat> = {
  csv: 'output-csv',
  jsonl: 'output-jsonl',
  parquet: 'output-parquet',
};

export async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { format: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1)
    throw new UsageError(`export: expected <run-dir>, got ${positionals.length} argument(s)`);
  const format = values.format;
  if (format === undefined) throw new UsageError('export: --format is required (csv, jsonl or parquet)');
  const what = FORMATS[format];
  if (!what) throw new UsageError(`export: --format "${format}" is not one of csv, jsonl, parquet`);
  const runDir = path.resolve(positionals[0]!);
  if (values.out === undefined && what === 'output-parquet' && process.stdout.isTTY)
    throw new UsageError('export: Parquet is binary; give --out FILE (or send stdout to a file or a pipe)');
  try {
    if (values.out === undefined) {
      await writeExport(runDir, what, process.stdout);
      return 0;
    }
    const dest = path.resolve(values.out);
    const bytes = await writeExportFile(runDir, what, dest);
    process.stderr.write(`Wrote ${dest} (${bytes} bytes)\n`);
    return 0;
  } catch (err) {
    // Not a run folder, or no output there: InputError already (runFolderPaths.ts). An --out
    // that cannot be written is the user's too: one sentence naming it, exit 2.
    const e = err as NodeJS.ErrnoException;
    // The reader of stdout stopped early (`prs export ... | head`): what it wanted it has.
    if (values.out === undefined && e.code === 'EPIPE') return 0;
    if (values.out !== undefined && e.code && typeof e.syscall === 'string')
      throw new InputError(`--out ${path.resolve(values.out)}: ${describeFsError(e)}`);
    throw err;
  }
}
