// Taking results and logs away: the append_row file as CSV or JSON Lines (rows split into columns
// the way the output browser shows them), and a run's logs or whole folder as a zip. Everything is
// streamed: a 1 GB output never sits in memory. Parquet is not offered: no well-kept pure-JS
// Parquet writer is installed (hyparquet only reads).

import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import type { ExportWhat, RowFormat } from '../../common/api';
import { csvField, detectRowFormat, jsonColumns, splitRow } from '../../common/api';
import { insideRunDir, readRunJson } from './runFolder';

export const EXPORTS: ExportWhat[] = ['output-csv', 'output-jsonl', 'logs-zip', 'run-zip'];

export function isExportWhat(v: unknown): v is ExportWhat {
  return typeof v === 'string' && (EXPORTS as string[]).includes(v);
}

/** The append_row file of a run folder (absolute) and its path relative to the folder. */
export async function outputFileOf(runDir: string): Promise<{ file: string; rel: string }> {
  const json = await readRunJson(runDir);
  if (!json) throw new Error(`${runDir}: not a run folder (no readable run.json)`);
  const name = json.spec?.append_row_file_name ?? 'parallel_run_step.txt';
  const rel = path.join('outputs', name);
  return { file: insideRunDir(runDir, rel), rel };
}

/** The download's file name: "<job>-<run id>-output.csv" and so on. */
export function exportFileName(runDir: string, what: ExportWhat): string {
  const job = path.basename(path.dirname(runDir));
  const id = path.basename(runDir);
  const suffix = {
    'output-csv': 'output.csv',
    'output-jsonl': 'output.jsonl',
    'logs-zip': 'logs.zip',
    'run-zip': 'run.zip',
  }[what];
  return `${job}-${id}-${suffix}`;
}

export function exportContentType(what: ExportWhat): string {
  return what.endsWith('zip')
    ? 'application/zip'
    : what === 'output-csv'
      ? 'text/csv; charset=utf-8'
      : 'application/x-ndjson; charset=utf-8';
}

/** Writes the export to `out` and ends it. */
export async function writeExport(runDir: string, what: ExportWhat, out: Writable): Promise<void> {
  if (what === 'logs-zip') return zipFolder(path.join(runDir, 'logs'), 'logs', out);
  if (what === 'run-zip') return zipFolder(runDir, path.basename(runDir), out);
  const { file } = await outputFileOf(runDir);
  return convertOutput(file, what === 'output-csv' ? 'csv' : 'jsonl', out);
}

export async function writeExportFile(runDir: string, what: ExportWhat, dest: string): Promise<number> {
  await writeExport(runDir, what, createWriteStream(dest));
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

async function convertOutput(file: string, to: 'csv' | 'jsonl', out: Writable): Promise<void> {
  const sample = await firstLines(file, 50);
  const format: RowFormat = detectRowFormat(sample);
  const firstNonEmpty = sample.find((l) => l.trim() !== '') ?? '';
  const jsonKeys = format === 'json' ? jsonColumns(firstNonEmpty.trim()) : null;
  const width = Math.max(1, ...sample.map((l) => splitRow(l, format).length));
  const columns =
    jsonKeys ?? (format === 'plain' ? ['line'] : Array.from({ length: width }, (_, i) => `col${i + 1}`));
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (to === 'csv') await write(columns.map(csvField).join(',') + '\n');
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    if (to === 'jsonl') {
      if (format === 'json') await write(line.trim() + '\n');
      else {
        const cells = splitRow(line, format);
        const obj: Record<string, string> = {};
        cells.forEach((c, i) => (obj[columns[i] ?? `col${i + 1}`] = c));
        await write(JSON.stringify(obj) + '\n');
      }
    } else {
      let cells: string[];
      if (jsonKeys) {
        const v = JSON.parse(line) as Record<string, unknown>;
        cells = jsonKeys.map((k) =>
          typeof v[k] === 'string' ? (v[k] as string) : (JSON.stringify(v[k]) ?? ''),
        );
      } else cells = splitRow(line, format);
      await write(cells.map(csvField).join(',') + '\n');
    }
  }
  out.end();
  await once(out, 'finish');
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
