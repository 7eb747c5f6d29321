// The modules a Python entry script imports, read from its text (nothing runs): the top-level
// package of every `import a.b` and `from a.b import c`, in the order they first appear. Relative
// imports (`from . import x`) are the script's own folder and are left out, as is `__future__`.

const IMPORT = /^[ \t]*import[ \t]+([^#\n;]+)/gm;
const FROM = /^[ \t]*from[ \t]+([A-Za-z_][\w.]*)[ \t]+import\b/gm;

/** Python strings and comments hold no imports: blank them out first (keeping line breaks). */
function withoutStrings(text: string): string {
  return text.replace(/("""[\s\S]*?"""|'''[\s\S]*?'''|#[^\n]*)/g, (m) => m.replace(/[^\n]/g, ' '));
}

export function pythonImports(text: string): string[] {
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
  return [...new Set(found.map((f) => f.name))].filter((n) => n !== '__future__');
}
