// The modules a Python entry script imports, read from its text (nothing runs): the top-level
// package of every `import a.b` and `from a.b import c`, in the order they first appear. Relative
// imports (`from . import x`) are the script's own folder and are left out, as is `__future__`.
// An import inside a `try:` block is optional: scripts fall back when it fails (`except
// ImportError`), so a missing one is shown but does not stop the job.

export interface PythonImport {
  name: string;
  optional: boolean;
}

const IMPORT = /^[ \t]*import[ \t]+([^#\n;]+)/gm;
const FROM = /^[ \t]*from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b/gm;

/** Python strings and comments hold no imports: blank them out first (keeping line breaks). */
function withoutStrings(text: string): string {
  return text.replace(/("""[\s\S]*?"""|'''[\s\S]*?'''|#[^\n]*)/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** Whether the statement at `at` lies in a `try:` block (the nearest line indented less opens one). */
function inTry(src: string, at: number): boolean {
  const lineStart = src.lastIndexOf('\n', at - 1) + 1;
  const indent = /^[ \t]*/.exec(src.slice(lineStart))![0].length;
  if (indent === 0) return false;
  const before = src.slice(0, lineStart).split('\n').reverse();
  for (const line of before) {
    if (line.trim() === '') continue;
    const i = /^[ \t]*/.exec(line)![0].length;
    if (i < indent) return /^\s*try\s*:/.test(line);
  }
  return false;
}

export function pythonImports(text: string): PythonImport[] {
  const src = withoutStrings(text);
  const found: Array<{ at: number; name: string }> = [];
  for (const m of src.matchAll(IMPORT)) {
    // `import a.b as c, d` -> a, d (a trailing backslash or parenthesis ends the list we read).
    for (const part of m[1].split(',')) {
      const name = /^\s*([A-Za-z_]\w*)/.exec(part)?.[1];
      if (name) found.push({ at: m.index, name });
    }
  }
  for (const m of src.matchAll(FROM)) found.push({ at: m.index, name: m[1].split('.')[0] });
  found.sort((a, b) => a.at - b.at);
  // A module imported anywhere outside a try block is required.
  const out = new Map<string, PythonImport>();
  for (const f of found) {
    if (f.name === '__future__') continue;
    const optional = inTry(src, f.at);
    const seen = out.get(f.name);
    if (!seen) out.set(f.name, { name: f.name, optional });
    else if (!optional) seen.optional = false;
  }
  return [...out.values()];
}
