// partition_format for file inputs: "{user}/{season}/{genres}.wav" turns parts of a file's path
// (relative to the input root) into named values.
//
// Syntax: `{name}` matches one or more characters within one path segment (the shortest that lets
// the rest match, so "{a}_{b}.csv" splits at the first "_"); `*` matches any characters within a
// segment; `**` matches across segments; everything else matches itself. A leading "/" is ignored
// (Azure ML writes formats rooted at the dataset). The format must match the whole relative path.
// Azure's date form `{name:yyyy/MM/dd}` is not supported and is refused with that reason.

import { PartitionError } from './errors';

export interface PartitionFormat {
  readonly text: string;
  /** The placeholder names, in order of first appearance. */
  readonly names: string[];
  /** The values of a relative path ("/"-separated), or undefined when the path does not match. */
  match(rel: string): Record<string, string> | undefined;
}

export function compilePartitionFormat(text: string): PartitionFormat {
  const body = text.startsWith('/') ? text.slice(1) : text;
  const names: string[] = [];
  const groups: string[] = [];
  let source = '';
  let i = 0;
  while (i < body.length) {
    const c = body[i];
    if (c === '{') {
      const close = body.indexOf('}', i);
      const name = close < 0 ? '' : body.slice(i + 1, close);
      if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
        const why = name.includes(':')
          ? `"{${name}}": formatted placeholders (such as dates) are not supported`
          : `"${close < 0 ? body.slice(i) : `{${name}}`}" is not a placeholder`;
        throw new PartitionError(
          `partition_format "${text}": ${why} (expected {name} with a name of letters, digits, _ or -)`,
        );
      }
      groups.push(name);
      if (!names.includes(name)) names.push(name);
      source += '([^/]+?)';
      i = close + 1;
    } else if (c === '*') {
      if (body[i + 1] === '*') {
        source += '.*';
        i += 2;
      } else {
        source += '[^/]*';
        i += 1;
      }
    } else {
      source += c.replace(/[.+?^$()[\]\\|]/g, '\\$&');
      i += 1;
    }
  }
  const re = new RegExp(`^${source}$`, 'u');
  return {
    text,
    names,
    match(rel: string) {
      const m = re.exec(rel);
      if (!m) return undefined;
      const values: Record<string, string> = {};
      for (let g = 0; g < groups.length; g++) {
        const name = groups[g];
        const value = m[g + 1];
        // A name used twice must have one value ("{user}/{user}.wav" matches "ann/ann.wav" only).
        if (name in values && values[name] !== value) return undefined;
        values[name] = value;
      }
      return values;
    },
  };
}
