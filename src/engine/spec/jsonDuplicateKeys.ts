// JSON.parse keeps the last of two equal keys in an object without a word, so a spec with
// `"run_max_try": 1, ..., "run_max_try": 5` runs with 5 and nobody knows; YAML refuses the same
// document. This scan of the (already valid) JSON text finds such keys with their line and column.

export interface DuplicateKey {
  /** Dotted key path, as problems name keys: "inputs.0.path". */
  path: string;
  line: number;
  col: number;
}

type Frame =
  | { kind: 'object'; keys: Set<string>; key: string | null; expectKey: boolean }
  | { kind: 'array'; index: number };

/** Every repeated key of every object in `text`, which must be valid JSON. */
export function duplicateJsonKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const stack: Frame[] = [];
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') {
      line++;
      lineStart = i + 1;
    } else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) found.push({ path: pathOf(stack, key), line, col: start - lineStart + 1 });
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
    } else if (c === '{') stack.push({ kind: 'object', keys: new Set(), key: null, expectKey: true });
    else if (c === '[') stack.push({ kind: 'array', index: 0 });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object') top.expectKey = true;
      else if (top) top.index++;
    }
  }
  return found;
}

function pathOf(stack: Frame[], key: string): string {
  const parts = stack.slice(0, -1).map((f) => (f.kind === 'object' ? (f.key ?? '') : String(f.index)));
  return [...parts, key].join('.');
}
