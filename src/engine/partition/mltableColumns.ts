// The columns an MLTable file gives each source file: the file's own (its header, or Column1…N),
// then Path (include_path_column) and the columns of extract_columns_from_partition_format, then
// keep_columns / drop_columns in the file's order. The planner works this out once per file and
// puts it in the mini-batch (TableShape), so the Python and Node readers only apply it.

import path from 'node:path';
import type { TableShape } from '../../common/minibatch';
import type { MltableRead } from '../../common/spec';
import { PartitionError } from './errors';

export interface MltablePartitionFormat {
  names: string[];
  /** The values of a path ("/"-separated), or undefined when it does not match. */
  match(p: string): Record<string, string> | undefined;
}

/**
 * Azure's partition format: `{name}` is one or more characters other than ".", "/" and "\\"; `*`
 * any characters; everything else itself. It is matched against the end of the file's path ("the
 * format starts at the first partition key and runs to the end of the path"), or, failing that,
 * against the end of the file's folder ("/puYear={year}/puMonth={month}").
 */
export function compileMltablePartitionFormat(text: string): MltablePartitionFormat | { error: string } {
  const body = text.replace(/^\/+/, '');
  const names: string[] = [];
  let source = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '{') {
      const close = body.indexOf('}', i);
      const name = close < 0 ? '' : body.slice(i + 1, close);
      if (!/^[A-Za-z_][A-Za-z0-9_ -]*$/.test(name)) {
        return {
          error: name.includes(':')
            ? `"{${name}}": date placeholders are not supported here (expected {name} placeholders, read as text)`
            : `"${close < 0 ? body.slice(i) : `{${name}}`}" is not a placeholder (expected {name} with a name of letters, digits, _ or -)`,
        };
      }
      if (names.includes(name)) source += `\\k<g${names.indexOf(name)}>`;
      else {
        source += `(?<g${names.length}>[^./\\\\]+)`;
        names.push(name);
      }
      i = close;
    } else if (c === '*') source += '.*?';
    else source += c.replace(/[.+?^$()[\]\\|]/g, '\\$&');
  }
  if (names.length === 0) return { error: `"${text}" has no {name} placeholder (expected at least one)` };
  const re = new RegExp(`(?:^|/)${source}$`, 'u');
  return {
    names,
    match(p: string) {
      const m = re.exec(p) ?? re.exec(path.posix.dirname(p));
      if (!m?.groups) return undefined;
      const values: Record<string, string> = {};
      names.forEach((n, i) => (values[n] = m.groups![`g${i}`]));
      return values;
    },
  };
}

const compiled = new Map<string, MltablePartitionFormat | { error: string }>();

/** Compiled once per format, not once per file of a large table. */
function compiledFormat(text: string): MltablePartitionFormat | { error: string } {
  let format = compiled.get(text);
  if (!format) compiled.set(text, (format = compileMltablePartitionFormat(text)));
  return format;
}

/**
 * The shape of one file's records. `fileColumns` are the columns the file itself gives (header or
 * Column1…N); `rel` is the file's path relative to the MLTable file's folder.
 */
export function mltableShape(
  read: MltableRead,
  file: string,
  rel: string,
  fileColumns: string[],
): TableShape {
  const added: Array<[string, string]> = [];
  if (read.includePathColumn) added.push(['Path', file]);
  if (read.partitionFormat) {
    const format = compiledFormat(read.partitionFormat);
    if ('error' in format) throw new PartitionError(`${read.file}: ${format.error}`, { file });
    const values = format.match(rel);
    if (!values) {
      throw new PartitionError(
        `path "${rel}" (relative to the MLTable file's folder) does not match extract_columns_from_partition_format "${read.partitionFormat}" of ${read.file} (expected every file's path to match it)`,
        { file },
      );
    }
    for (const n of format.names) added.push([n, values[n]]);
  }
  let columns = [...fileColumns, ...added.map(([n]) => n)];
  for (const step of read.columnSteps ?? []) {
    const names = 'keep' in step ? step.keep : step.drop;
    const missing = names.filter((n) => !columns.includes(n));
    if (missing.length) {
      throw new PartitionError(
        `${read.file}: ${'keep' in step ? 'keep_columns' : 'drop_columns'}: no column ${missing.map((n) => `"${n}"`).join(', ')} (the columns: ${columns.join(', ')})`,
        { file },
      );
    }
    columns =
      'keep' in step ? columns.filter((c) => names.includes(c)) : columns.filter((c) => !names.includes(c));
  }
  const shape: TableShape = {};
  if (read.delimiter) shape.delimiter = read.delimiter;
  if (read.emptyAsString) shape.emptyAsString = true;
  if (added.length) shape.added = added;
  if (read.columnSteps?.length) shape.select = columns;
  return shape;
}

/** Azure's names for the columns of a file without a header. */
export function numberedColumns(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `Column${i + 1}`);
}
