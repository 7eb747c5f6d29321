// A v2 `type: mltable` input: the folder's MLTable file says which files hold the table (paths) and
// how to read them (transformations). This module reads and checks that file and turns it into the
// spec's inputs: one per entry of `paths`, each carrying what the planner and the workers need to
// read its records (InputSpec.mltable). An MLTable file with no read_* step is a files input.
//
// Every problem names the MLTable file and the key inside it ("…/MLTable: transformations.0.
// read_delimited.header: …"), with what was expected. See docs/job-spec.md, "MLTable".

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InputSpec, MltableRead, TabularFormat, TextEncoding } from '../../common/spec';
import { showValue } from '../../common/specSchema';
import { compileMltablePartitionFormat } from '../partition/mltableColumns';
import { walkInput } from '../partition/walk';

export interface MltableInput {
  file: string;
  type: 'files' | 'tabular';
  inputs: InputSpec[];
  /** Where each input came from in the file (same order as inputs). */
  sources: PathEntry[];
  warnings: string[];
}

interface PathEntry {
  key: string;
  kind: 'file' | 'folder' | 'pattern';
  given: string;
}

export type MltableResult = { ok: true; value: MltableInput } | { ok: false; problems: string[] };

const READ_STEPS = ['read_delimited', 'read_parquet', 'read_json_lines'] as const;
const OTHER_STEPS = ['take', 'keep_columns', 'drop_columns', 'extract_columns_from_partition_format'];
/** Steps Azure has that change which records or values run() gets: refused rather than ignored. */
const UNSUPPORTED_STEPS = ['read_delta_lake', 'take_random_sample', 'convert_column_types', 'skip', 'filter'];
const HEADERS = ['all_files_same_headers', 'all_files_different_headers', 'from_first_file', 'no_header'];
/** MLTable's encodings as the readers know them; ASCII is read as UTF-8, of which it is a part. */
const ENCODINGS: Record<string, TextEncoding> = {
  utf8: 'utf8',
  utf8bom: 'utf8',
  ascii: 'utf8',
  latin1: 'latin1',
  iso88591: 'latin1',
  windows1252: 'windows1252',
};
const TOP_KEYS = ['$schema', 'type', 'paths', 'transformations', 'metadata', 'traits'];

type Doc = Record<string, unknown>;
/** A URI other than file:// (a Windows drive letter is a local path). */
const isCloudPath = (p: string) =>
  /^[a-z][a-z0-9+.-]*:/i.test(p) && !/^[A-Za-z]:[\\/]/.test(p) && !p.startsWith('file://');
const isRecord = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The MLTable file of an input's path: the file itself, or `MLTable` in the folder. */
export async function mltableFileOf(given: string): Promise<string | undefined> {
  const st = await stat(given).catch(() => undefined);
  if (st?.isFile()) return path.basename(given) === 'MLTable' ? given : undefined;
  if (!st?.isDirectory()) return undefined;
  const file = path.join(given, 'MLTable');
  return (await stat(file).catch(() => undefined))?.isFile() ? file : undefined;
}

/** Reads the MLTable file of a `type: mltable` input (a folder holding one, or the file itself). */
export async function readMltableInput(inputPath: string): Promise<MltableResult> {
  const file = await mltableFileOf(inputPath);
  if (!file) {
    const exists = await stat(inputPath).catch(() => undefined);
    return {
      ok: false,
      problems: [
        exists
          ? `${inputPath} has no MLTable file (expected a folder with an MLTable file, as type: mltable means; use type: uri_folder for a plain folder)`
          : `${inputPath} does not exist (expected a folder with an MLTable file)`,
      ],
    };
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [`${file}: cannot be read (${(err as Error).message})`] };
  }
  const { parseDocument } = await import('./yamlParser');
  const yaml = parseDocument(text);
  if (yaml.errors.length > 0) {
    return {
      ok: false,
      problems: yaml.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]} (expected valid YAML)`;
      }),
    };
  }
  const result = resolveMltable(yaml.toJS({ maxAliasCount: 100 }), file);
  if (!result.ok) return result;
  const problems = await missingPaths(result.value);
  return problems.length ? { ok: false, problems } : result;
}

/** Each path of the MLTable file must name a file, a folder, or a pattern that matches a file. */
async function missingPaths(table: MltableInput): Promise<string[]> {
  const problems: string[] = [];
  for (let i = 0; i < table.inputs.length; i++) {
    const { key, kind, given } = table.sources[i];
    const abs = table.inputs[i].path;
    const where = `${table.file}: ${key}: "${given}"`;
    if (kind === 'pattern') {
      let any = false;
      try {
        for await (const _ of walkInput(table.inputs[i])) {
          any = true;
          break;
        }
      } catch {
        // The pattern's folder is missing: no match either.
      }
      if (!any)
        problems.push(`${where} matches no file (expected at least one, relative to the MLTable file)`);
      continue;
    }
    const st = await stat(abs).catch(() => undefined);
    const ok = kind === 'file' ? st?.isFile() : st?.isDirectory();
    if (!ok)
      problems.push(`${where} ${st ? `is not a ${kind}` : 'does not exist'} at ${abs} (expected a ${kind})`);
  }
  return problems;
}

/** Checks a parsed MLTable document and maps it onto inputs; `file` is the MLTable file's path. */
export function resolveMltable(doc: unknown, file: string): MltableResult {
  const root = path.dirname(file);
  const problems: string[] = [];
  const warnings: string[] = [];
  const problem = (key: string, message: string) => problems.push(`${file}: ${key}: ${message}`);
  if (!isRecord(doc)) {
    return {
      ok: false,
      problems: [
        `${file}: ${showValue(doc)} is not an MLTable (expected a mapping with paths and transformations)`,
      ],
    };
  }
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) warnings.push(`${file}: ${key}: unknown MLTable key, ignored`);
  }
  if (doc.type !== undefined && doc.type !== 'mltable')
    problem('type', `${showValue(doc.type)} is not valid (expected mltable)`);

  // paths
  const inputs: Array<Omit<InputSpec, 'type'>> = [];
  const sources: PathEntry[] = [];
  if (!Array.isArray(doc.paths) || doc.paths.length === 0) {
    problem(
      'paths',
      `${doc.paths === undefined ? 'missing' : `${showValue(doc.paths)} is not valid`} (expected a list of {file: …}, {folder: …} or {pattern: …})`,
    );
  } else {
    doc.paths.forEach((entry, i) => {
      const at = `paths.${i}`;
      const kinds = isRecord(entry) ? (['file', 'folder', 'pattern'] as const).filter((k) => k in entry) : [];
      if (!isRecord(entry) || kinds.length !== 1) {
        problem(
          at,
          `${showValue(entry)} is not valid (expected one of file: <path>, folder: <path> or pattern: <glob>)`,
        );
        return;
      }
      const kind = kinds[0];
      const value = entry[kind];
      if (typeof value !== 'string' || value === '') {
        problem(
          `${at}.${kind}`,
          `${showValue(value)} is not valid (expected a path relative to the MLTable file)`,
        );
        return;
      }
      if (isCloudPath(value)) {
        problem(
          `${at}.${kind}`,
          `"${value}" is a cloud location (expected a local path relative to the MLTable file)`,
        );
        return;
      }
      const abs = path.resolve(root, value.replace(/^file:\/\//, ''));
      sources.push({ key: `${at}.${kind}`, kind, given: value });
      if (kind === 'pattern') inputs.push({ path: abs });
      // A folder is every file in it, the MLTable file itself left out when it lies there.
      else if (kind === 'folder') inputs.push({ path: abs, pattern: '**/!(MLTable)' });
      else inputs.push({ path: abs });
    });
  }

  // transformations
  const steps = doc.transformations ?? [];
  let format: TabularFormat | undefined;
  const read: MltableRead = { file, header: 'all_files_same_headers' };
  let encoding: TextEncoding | undefined;
  const columnSteps: NonNullable<MltableRead['columnSteps']> = [];
  const others: string[] = [];
  if (!Array.isArray(steps)) {
    problem(
      'transformations',
      `${showValue(steps)} is not valid (expected a list of steps such as read_delimited)`,
    );
  } else {
    steps.forEach((step, i) => {
      const name = typeof step === 'string' ? step : isRecord(step) ? Object.keys(step)[0] : undefined;
      const at = `transformations.${i}${name ? `.${name}` : ''}`;
      if (name === undefined || (isRecord(step) && Object.keys(step).length !== 1)) {
        problem(
          `transformations.${i}`,
          `${showValue(step)} is not valid (expected one step, such as read_delimited: {…})`,
        );
        return;
      }
      const args = isRecord(step) ? step[name] : undefined;
      if ((READ_STEPS as readonly string[]).includes(name)) {
        if (format) {
          problem(at, 'a second read step (expected one of read_delimited, read_parquet, read_json_lines)');
          return;
        }
        if (i !== 0) problem(at, 'not the first step (expected the read step before the others)');
        const opts = args ?? {};
        if (!isRecord(opts)) {
          problem(at, `${showValue(opts)} is not valid (expected a mapping of options)`);
          return;
        }
        ({ format, encoding } = readStep(
          name as (typeof READ_STEPS)[number],
          opts,
          at,
          read,
          problem,
          warnings,
        ));
        return;
      }
      others.push(name);
      if (name === 'take') {
        if (typeof args !== 'number' || !Number.isInteger(args) || args < 1)
          problem(at, `${showValue(args)} is not valid (expected a whole number of records >= 1)`);
        else read.take = Math.min(args, read.take ?? Infinity);
      } else if (name === 'keep_columns' || name === 'drop_columns') {
        const list = typeof args === 'string' ? [args] : args;
        if (
          !Array.isArray(list) ||
          list.length === 0 ||
          !list.every((c) => typeof c === 'string' && c !== '')
        )
          problem(at, `${showValue(args)} is not valid (expected a list of column names)`);
        else
          columnSteps.push(name === 'keep_columns' ? { keep: list as string[] } : { drop: list as string[] });
      } else if (name === 'extract_columns_from_partition_format') {
        const fmt = isRecord(args) ? args.partition_format : args;
        if (typeof fmt !== 'string' || fmt === '') {
          problem(
            at,
            `${showValue(args)} is not valid (expected a format such as "{Store}/{Brand}/{file_name}.{extension}")`,
          );
        } else {
          const compiled = compileMltablePartitionFormat(fmt);
          if ('error' in compiled) problem(at, compiled.error);
          else if (read.partitionFormat) problem(at, 'a second partition format (expected one)');
          else read.partitionFormat = fmt;
        }
      } else if (UNSUPPORTED_STEPS.includes(name)) {
        problem(at, `not supported here (expected only ${[...READ_STEPS, ...OTHER_STEPS].join(', ')})`);
      } else {
        problem(at, `unknown step (expected one of ${[...READ_STEPS, ...OTHER_STEPS].join(', ')})`);
      }
    });
  }
  if (columnSteps.length) read.columnSteps = columnSteps;
  if (format === 'parquet' && read.take !== undefined)
    problem(
      'transformations',
      'take with read_parquet is not supported here (expected take on read_delimited or read_json_lines)',
    );
  if (problems.length) return { ok: false, problems };

  if (!format) {
    // Only paths: a files input, each path as its own input.
    if (others.length)
      warnings.push(
        `${file}: ${others.join(', ')}: not used, an MLTable without a read step is a files input`,
      );
    return {
      ok: true,
      value: { file, type: 'files', inputs: inputs.map((i) => ({ ...i, type: 'files' })), sources, warnings },
    };
  }
  const tabular: InputSpec[] = inputs.map((i) => ({
    ...i,
    type: 'tabular',
    format,
    ...(encoding && encoding !== 'utf8' ? { encoding } : {}),
    mltable: read,
  }));
  return { ok: true, value: { file, type: 'tabular', inputs: tabular, sources, warnings } };
}

function readStep(
  name: (typeof READ_STEPS)[number],
  opts: Doc,
  at: string,
  read: MltableRead,
  problem: (key: string, message: string) => void,
  warnings: string[],
): { format: TabularFormat; encoding?: TextEncoding } {
  const known: Record<(typeof READ_STEPS)[number], string[]> = {
    read_delimited: [
      'delimiter',
      'header',
      'encoding',
      'empty_as_string',
      'include_path_column',
      'support_multi_line',
      'infer_column_types',
    ],
    read_parquet: ['include_path_column'],
    read_json_lines: ['include_path_column', 'encoding', 'invalid_lines'],
  };
  for (const key of Object.keys(opts)) {
    if (!known[name].includes(key))
      problem(`${at}.${key}`, `unknown option (expected one of ${known[name].join(', ')})`);
  }
  const bool = (key: string): boolean => {
    const v = opts[key];
    if (v === undefined) return false;
    if (typeof v !== 'boolean')
      problem(`${at}.${key}`, `${showValue(v)} is not valid (expected true or false)`);
    return v === true;
  };
  if (bool('include_path_column')) read.includePathColumn = true;
  let encoding: TextEncoding | undefined;
  if (opts.encoding !== undefined) {
    encoding = typeof opts.encoding === 'string' ? ENCODINGS[opts.encoding.toLowerCase()] : undefined;
    if (!encoding)
      problem(
        `${at}.encoding`,
        `${showValue(opts.encoding)} is not supported here (expected one of ${Object.keys(ENCODINGS).join(', ')})`,
      );
  }
  if (name === 'read_parquet') return { format: 'parquet' };
  if (name === 'read_json_lines') {
    if (opts.invalid_lines !== undefined && opts.invalid_lines !== 'error')
      problem(
        `${at}.invalid_lines`,
        `${showValue(opts.invalid_lines)} is not supported here (expected error)`,
      );
    return { format: 'jsonl', encoding };
  }
  if (opts.delimiter !== undefined) {
    const d = opts.delimiter;
    if (
      typeof d !== 'string' ||
      d.length !== 1 ||
      d.charCodeAt(0) > 0x7f ||
      d === '"' ||
      d === '\n' ||
      d === '\r'
    )
      problem(
        `${at}.delimiter`,
        `${showValue(d)} is not valid (expected one character, such as "," or "\\t")`,
      );
    else if (d !== ',') read.delimiter = d;
  }
  if (opts.header !== undefined) {
    if (typeof opts.header !== 'string' || !HEADERS.includes(opts.header))
      problem(
        `${at}.header`,
        `${showValue(opts.header)} is not valid (expected one of ${HEADERS.join(', ')})`,
      );
    else read.header = opts.header as MltableRead['header'];
  }
  if (bool('empty_as_string')) read.emptyAsString = true;
  // Quoted newlines are always read as data here (RFC 4180), so support_multi_line: false reads
  // a file without quoted newlines the same; infer_column_types is what pandas does anyway.
  bool('support_multi_line');
  if (opts.infer_column_types !== undefined && opts.infer_column_types !== true)
    warnings.push(`${read.file}: ${at}.infer_column_types: not used; Python gets pandas' own column types`);
  return { format: 'csv', encoding };
}

/**
 * The MLTable file of a v2 job's input_data, when that input is `type: mltable` (its path relative
 * to `dir`). A path that is not local is left to the v2 import, which reports it; a table file or
 * folder without an MLTable file (what an export of a tabular spec writes) is read as a table.
 */
export async function readDataMltable(
  doc: unknown,
  dir: string,
): Promise<{ name?: string; result?: MltableResult; warnings: string[] }> {
  const warnings: string[] = [];
  if (!isRecord(doc) || typeof doc.input_data !== 'string' || !isRecord(doc.inputs)) return { warnings };
  const name = /^\s*\$\{\{\s*inputs\.([A-Za-z0-9_.-]+)\s*\}\}\s*$/.exec(doc.input_data)?.[1];
  const value = name === undefined ? undefined : doc.inputs[name];
  if (!isRecord(value) || value.type !== 'mltable' || typeof value.path !== 'string') return { warnings };
  if (value.path === '' || isCloudPath(value.path) || value.path.includes('${{')) return { warnings };
  const abs = path.resolve(dir, value.path);
  if ((await stat(abs).catch(() => undefined)) && !(await mltableFileOf(abs))) {
    warnings.push(
      `inputs.${name}.path: "${value.path}" has no MLTable file; it is read as a table by its files' format`,
    );
    return { warnings };
  }
  return { name, result: await readMltableInput(abs), warnings };
}
