// Paths as a spec file holds them: relative to the spec's folder (entry_script to
// source_directory), so a job folder can be moved, zipped or shared. Absolute paths outside that
// folder (an interpreter, a shared data disk) stay absolute. POSIX paths: the host is Linux.

type Draft = Record<string, unknown>;

const trimEnd = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/** `p` made absolute against `dir` (itself absolute), with `.` and `..` resolved. */
export function resolveFrom(dir: string, p: string): string {
  const parts: string[] = [];
  for (const part of (p.startsWith('/') ? p : `${dir}/${p}`).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `abs` relative to `dir` when it lies inside it (`./data`, or `score.py` with `bare`), else as it is. */
export function relativeInside(dir: string, abs: string, bare = false): string {
  if (!abs.startsWith('/')) return abs;
  const d = trimEnd(dir);
  const a = trimEnd(abs);
  if (a === d) return '.';
  const prefix = d === '/' ? '/' : `${d}/`;
  if (!a.startsWith(prefix)) return abs;
  const rel = a.slice(prefix.length);
  return bare ? rel : `./${rel}`;
}

/** The folder of a file path. */
export function dirOf(p: string): string {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** The absolute source_directory of a draft whose spec lives in `specDir`. */
export function sourceDirOf(draft: Draft, specDir: string): string {
  return typeof draft.source_directory === 'string' && draft.source_directory !== ''
    ? resolveFrom(specDir, draft.source_directory)
    : specDir;
}

const isPathy = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * The draft's paths for a spec that moves from `fromDir` (null: not saved yet, paths are absolute
 * or relative to nothing) to `toDir`: each made absolute, then relative to `toDir` where it lies
 * inside it. An interpreter given by name (`python3`) is left alone.
 */
export function rebasePaths(draft: Draft, fromDir: string | null, toDir: string): Draft {
  const move = (p: unknown, from: string | null, to: string, bare = false) => {
    if (!isPathy(p)) return p;
    // A relative path in a spec that stays where it is means what it meant: keep it as written.
    if (!p.startsWith('/') && (from === null || from === to)) return p;
    return relativeInside(to, from === null ? p : resolveFrom(from, p), bare);
  };
  const next: Draft = { ...draft };
  const oldSource = fromDir === null ? null : sourceDirOf(draft, fromDir);
  next.source_directory = move(draft.source_directory, fromDir, toDir);
  if (next.source_directory === '.') delete next.source_directory;
  const newSource = isPathy(next.source_directory) ? resolveFrom(toDir, next.source_directory) : toDir;
  // entry_script is relative to source_directory: it follows the source folder.
  const sourceMoved = oldSource !== null && oldSource !== newSource;
  if (isPathy(draft.entry_script) && (draft.entry_script.startsWith('/') || sourceMoved))
    next.entry_script = relativeInside(
      newSource,
      oldSource === null ? draft.entry_script : resolveFrom(oldSource, draft.entry_script),
      true,
    );
  if (isPathy(draft.python) && draft.python.includes('/')) next.python = move(draft.python, fromDir, toDir);
  for (const list of ['inputs', 'side_inputs'] as const)
    if (Array.isArray(draft[list]))
      next[list] = (draft[list] as Draft[]).map((i) => ({ ...i, path: move(i.path, fromDir, toDir) }));
  if (draft.models && typeof draft.models === 'object')
    next.models = Object.fromEntries(
      Object.entries(draft.models as Draft).map(([k, v]) => [k, move(v, fromDir, toDir)]),
    );
  for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
  return next;
}
