// Taking results and logs away: the append_row file as CSV or JSON Lines (rows split into columns
// the way the output browser shows them), and a run's logs or whole folder as a zip. Everything is
// streamed: a 1 GB output never sits in memory. Parquet comes from parquetExport.ts.

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { ExportWhat } from '../common/api';
import { csvField } from '../common/csv';
import { detectRowFormat, jsonColumns, splitRow, type RowFormat } from '../common/outputRows';
import { appendRowFile, type JobSpec } from '../common/spec';
import { parquetOfOutput } from './parquetExport';
import { openRunFolder, resolveInside, type RunFolder } from './runFolderPaths';

export const EXPORTS: ExportWhat[] = ['output-csv', 'output-jsonl', 'output-parquet', 'logs-zip', 'run-zip'];

export function isExportWhat(v: unknown): v is ExportWhat {
  return typeof v === 'string' && (EXPORTS as string[]).includes(v);
}

/** The append_row file of a run folder (its real path) and its path relative to the folder. */
export async function outputFileOf(runDir: string | RunFolder): Promise<{ file: string; rel: string }> {
  const folder = typeof runDir === 'string' ? await openRunFolder(runDir) : runDir;
  // A reused run (allow_reuse) has no outputs of its own: they are those of the run it reused.
  const from = folder.json.summary?.reused_from;
  const { dir, json } = from ? await openRunFolder(from) : folder;
  const spec = json.spec as Partial<JobSpec>;
  const rel = path.join(
    ...appendRowFile({
      append_row_file_name: spec.append_row_file_name ?? 'parallel_run_step.txt',
      append_row_folder: spec.append_row_folder,
    }).split('/'),
  );
  return { file: await resolveInside(dir, rel), rel };
}

/** The download's file name: "<job>-<run id>-output.csv" and so on. */
export function exportFileName(runDir: string, what: ExportWhat): string {
  const job = path.basename(path.dirname(runDir));
  const id = path.basename(runDir);
  const suffix = {
    'output-csv': 'output.csv',
    'output-jsonl': 'output.jsonl',
    'output-parquet': 'output.parquet',
    'logs-zip': 'logs.zip',
    'run-zip': 'run.zip',
  }[what];
  return `${job}-${id}-${suffix}`;
}

export function exportContentType(what: ExportWhat): string {
  return {
    'output-csv': 'text/csv; charset=utf-8',
    'output-jsonl': 'application/x-ndjson; charset=utf-8',
    'output-parquet': 'application/vnd.apache.parquet',
    'logs-zip': 'application/zip',
    'run-zip': 'application/zip',
  }[what];
}

/**
 * Writes the export to `out` and ends it. The one check of what may be exported, for the HTTP
 * download and the app's "save as" alike: a run folder (run.json with a spec), and nothing that
 * leads outside it.
 */
export async function writeExport(runDir: string, what: ExportWhat, out: Writable): Promise<void> {
  const folder = await openRunFolder(runDir);
  if (what === 'logs-zip') return zipFolder(await resolveInside(folder.dir, 'logs'), 'logs', out);
  if (what === 'run-zip') return zipFolder(folder.dir, path.basename(path.resolve(runDir)), out);
  const { file } = await outputFileOf(folder);
  const chunks =
    what === 'output-parquet'
      ? parquetOfOutput(file)
      : convertOutput(file, what === 'output-csv' ? 'csv' : 'jsonl');
  await pipeline(Readable.from(chunks), out);
}

/**
 * Writes the export to `dest` through a temporary file beside it, renamed over `dest` only once
 * whole: a failed export leaves an existing file as it was, and no half-written one.
 */
export async function writeExportFile(runDir: string, what: ExportWhat, dest: string): Promise<number> {
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    await writeExport(runDir, what, fh.createWriteStream());
    await rename(tmp, dest);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return (await stat(dest)).size;
}

async function firstLines(file: string, n: number): Promise<string[]> {
  const lines: string[] = [];
  const rl = createInterface({ input: createReadStream(file, { end: 1024 * 1024 }), crlfDelay: Infinity });
  for await (const line of rl) {
    lines.push(line);
    if (lines.length >= n) break;
  }
  rl.close();
  return lines;
}

/** What the output file becomes, in chunks of about 64 KB (a pipeline writes them with back-pressure). */
async function* convertOutput(file: string, to: 'csv' | 'jsonl'): AsyncGenerator<string> {
  const sample = await firstLines(file, 50);
  const format: RowFormat = detectRowFormat(sample);
  const firstNonEmpty = sample.find((l) => l.trim() !== '') ?? '';
  const jsonKeys = format === 'json' ? jsonColumns(firstNonEmpty.trim()) : null;
  const width = Math.max(1, ...sample.map((l) => splitRow(l, format).length));
  const columns =
    jsonKeys ?? (format === 'plain' ? ['line'] : Array.from({ length: width }, (_, i) => `col${i + 1}`));
  let pending = to === 'csv' ? columns.map(csvField).join(',') + '\n' : '';
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    if (to === 'jsonl') {
      if (format === 'json') pending += line.trim() + '\n';
      else {
        const cells = splitRow(line, format);
        const obj: Record<string, string> = {};
        cells.forEach((c, i) => (obj[columns[i] ?? `col${i + 1}`] = c));
        pending += JSON.stringify(obj) + '\n';
      }
    } else {
      let cells: string[];
      if (jsonKeys) {
        const v = JSON.parse(line) as Record<string, unknown>;
        cells = jsonKeys.map((k) =>
          typeof v[k] === 'string' ? (v[k] as string) : (JSON.stringify(v[k]) ?? ''),
        );
      } else cells = splitRow(line, format);
      pending += cells.map(csvField).join(',') + '\n';
    }
    if (pending.length >= 64 * 1024) {
      yield pending;
      pending = '';
    }
  }
  if (pending) yield pending;
}

async function* walkFiles(dir: string, rel = ''): AsyncGenerator<{ abs: string; rel: string }> {
  const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walkFiles(dir, r);
    else if (e.isFile()) yield { abs: path.join(dir, r), rel: r };
  }
}

async function zipFolder(dir: string, root: string, out: Writable): Promise<void> {
  const st = await stat(dir).catch(() => null);
  if (!st?.isDirectory()) throw new Error(`${dir}: no such folder (expected a run folder with logs/)`);
  const zip = new ZipFile();
  const done = pipeline(zip.outputStream, out);
  for await (const f of walkFiles(dir)) zip.addFile(f.abs, `${root}/${f.rel}`);
  zip.end();
  await done;
}
