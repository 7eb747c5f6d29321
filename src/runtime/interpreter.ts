// Which Python a `python:` setting means, and what that interpreter can do. One set of rules for the
// spec loader (what `prs validate` reports), the run's pre-flight check, the wizard and the Python
// runtime: four copies of them used to disagree on `~`, on a bare name beside the spec and on the
// order inside a venv folder, so a spec could validate and then start another interpreter.
//
// Pure Node (no Electron, no engine): the runtime, which is below the engine, uses it too.

import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What a job without `python:` runs: python3 on PATH. */
export const DEFAULT_INTERPRETER = 'python3';

export const INTERPRETER_EXPECTED = 'expected an interpreter, a venv folder or a conda env folder';

/**
 * A venv or conda env folder's interpreter, in the order tried. `bin/python` first: every venv and
 * every conda env has it (python3 is an extra link in both); on Windows a venv keeps it in Scripts/
 * and conda in the env's root.
 */
const IN_FOLDER = ['bin/python', 'bin/python3', 'Scripts/python.exe', 'python.exe'];

export interface InterpreterLookup {
  /** The folder a relative setting is relative to: the spec file's. */
  baseDir: string;
  /** Where a bare name (and the default) is looked up. Default: this process's PATH. */
  pathVar?: string;
  /** What `~` means. Default: this user's home folder. */
  home?: string;
}

export type InterpreterResolution =
  | { ok: true; executable: string }
  | {
      ok: false;
      /** The absolute path, or the name on PATH, that was looked for: what a caller may still try. */
      lookedFor: string;
      /** `"<setting>" <what is wrong> (expected ...)`, for the `python` key. */
      problem: string;
    };

type Kind = 'executable' | 'file' | 'folder' | 'other' | undefined;

/**
 * The rules, once, for both resolvers below: each path they need to know about is yielded, and its
 * kind comes back. A bare name (python3.11) is a command on PATH unless a file or folder of that
 * name sits beside the spec; anything else is a path, `~` being the home folder and a relative one
 * relative to the spec's folder; a folder is a venv or conda env, whose interpreter is inside.
 */
function* rules(
  setting: string | undefined,
  lookup: InterpreterLookup,
): Generator<string, InterpreterResolution, Kind> {
  const given = setting === '' ? undefined : setting;
  const name = given ?? DEFAULT_INTERPRETER;
  const bare = !/[\\/]/.test(name) && !name.startsWith('.') && !name.startsWith('~');
  // The default never means a file that happens to sit beside the spec.
  const beside = bare && given !== undefined ? path.resolve(lookup.baseDir, name) : undefined;
  if (bare && (beside === undefined || (yield beside) === undefined)) {
    for (const dir of (lookup.pathVar ?? process.env.PATH ?? '').split(path.delimiter)) {
      if (dir && (yield path.join(dir, name)) === 'executable') return ok(path.join(dir, name));
    }
    return {
      ok: false,
      lookedFor: name,
      problem:
        given === undefined
          ? `no ${DEFAULT_INTERPRETER} on PATH, and the job spec names no interpreter (${INTERPRETER_EXPECTED})`
          : `"${given}" is not on PATH (${INTERPRETER_EXPECTED})`,
    };
  }
  const abs = path.resolve(lookup.baseDir, expandHome(name, lookup.home));
  const fail = (what: string) => ({
    ok: false as const,
    lookedFor: abs,
    problem: `"${name}" ${what} (${INTERPRETER_EXPECTED})`,
  });
  const kind = yield abs;
  if (kind === undefined) return fail(`does not exist${path.isAbsolute(name) ? '' : ` at ${abs}`}`);
  if (kind === 'folder') {
    for (const rel of IN_FOLDER) {
      // Not realpath'd: a venv's python finds its pyvenv.cfg through the link's own path.
      const candidate = path.join(abs, rel);
      if ((yield candidate) === 'executable') return ok(candidate);
    }
    return fail('is a folder without bin/python or bin/python3');
  }
  if (kind !== 'executable') return fail('is not executable');
  return ok(abs);
}

function ok(executable: string): InterpreterResolution {
  return { ok: true, executable };
}

function expandHome(p: string, home = os.homedir()): string {
  return p === '~' || p.startsWith('~/') ? path.join(home, p.slice(1)) : p;
}

/** The interpreter a `python:` setting (undefined: the default) means. */
export async function resolveInterpreter(
  setting: string | undefined,
  lookup: InterpreterLookup,
): Promise<InterpreterResolution> {
  const steps = rules(setting, lookup);
  let step = steps.next();
  while (!step.done) step = steps.next(await kindOf(step.value));
  return step.value;
}

/** resolveInterpreter for a caller that must not wait: the runtime, starting its interpreter. */
export function resolveInterpreterSync(
  setting: string | undefined,
  lookup: InterpreterLookup,
): InterpreterResolution {
  const steps = rules(setting, lookup);
  let step = steps.next();
  while (!step.done) step = steps.next(kindOfSync(step.value));
  return step.value;
}

/** The executable to start for a setting: the resolved one, or else what was looked for (its start then fails, and says so). */
export function interpreterToStart(resolution: InterpreterResolution): string {
  return resolution.ok ? resolution.executable : resolution.lookedFor;
}

/** A file this process may execute (a link to one counts). */
export async function isExecutable(file: string): Promise<boolean> {
  return (await kindOf(file)) === 'executable';
}

async function kindOf(p: string): Promise<Kind> {
  try {
    const s = await stat(p);
    if (s.isDirectory()) return 'folder';
    if (!s.isFile()) return 'other';
    return await access(p, constants.X_OK).then(
      () => 'executable' as const,
      () => 'file' as const,
    );
  } catch {
    return undefined;
  }
}

function kindOfSync(p: string): Kind {
  try {
    const s = statSync(p);
    if (s.isDirectory()) return 'folder';
    if (!s.isFile()) return 'other';
    try {
      accessSync(p, constants.X_OK);
      return 'executable';
    } catch {
      return 'file';
    }
  } catch {
    return undefined;
  }
}

// ---- the probe ----------------------------------------------------------------------------------

// Prints one JSON line. `imports` are imported for real (a broken pandas must fail as it would in
// run()), and why each one failed is kept; `--find` names are only looked up with find_spec, which
// finds a module without running it: they come from an entry script, and a check must not execute
// what an installed package does on import. The host's working folder ('' on sys.path) is no place
// a job imports from, so it is left out. Python 2 syntax too, so an old interpreter still says its
// version.
const PROBE = `
import json, sys
sys.path = [p for p in sys.path if p not in ('', '.')]
sep = sys.argv.index('--find')
missing = {}
for name in sys.argv[1:sep]:
    try:
        __import__(name)
    except Exception as e:
        missing[name] = "%s: %s" % (type(e).__name__, e)
def found(name):
    try:
        import importlib.util
        return importlib.util.find_spec(name) is not None
    except Exception:
        return False
print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable,
                  "missing": missing, "found": [found(n) for n in sys.argv[sep + 1:]]}))
`;

export interface ProbeRequest {
  /** Modules to import. */
  imports?: string[];
  /** Modules only to look for, without running them. */
  finds?: string[];
  /** The interpreter's environment. */
  env: NodeJS.ProcessEnv;
}

export type ProbeResult =
  | {
      ok: true;
      /** [major, minor, micro] */
      version: number[];
      /** sys.executable: what actually ran (a wrapper script's target). */
      executable: string;
      /** Each of `imports` that failed, with the exception it raised. */
      cannotImport: Record<string, string>;
      /** For each of `finds`, whether the interpreter would find it. */
      found: boolean[];
    }
  | {
      ok: false;
      /** Nothing to run at that path (or not allowed to run it). */
      notFound: boolean;
      /** What went wrong, one line: the interpreter's last line on stderr when it printed one. */
      error: string;
      /** All it said on stderr. */
      stderr: string;
    };

/** Runs the interpreter once and asks it its version and which modules it has. */
export function probeInterpreter(executable: string, request: ProbeRequest): Promise<ProbeResult> {
  const { imports = [], finds = [], env } = request;
  return new Promise((resolve) => {
    execFile(
      executable,
      ['-c', PROBE, ...imports, '--find', ...finds],
      { timeout: 60_000, env, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        const errText = String(stderr).trim();
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          resolve({
            ok: false,
            notFound: code === 'ENOENT' || code === 'EACCES',
            error: errText.split('\n').pop() || err.message,
            stderr: errText,
          });
          return;
        }
        const line = String(stdout).trim().split('\n').pop() ?? '';
        const answer = parseAnswer(line);
        resolve(
          answer
            ? { ok: true, ...answer, found: answer.found ?? finds.map(() => false) }
            : {
                ok: false,
                notFound: false,
                error: `it printed ${JSON.stringify(line.slice(0, 200))} instead of its version`,
                stderr: errText,
              },
        );
      },
    );
  });
}

function parseAnswer(
  line: string,
): { version: number[]; executable: string; cannotImport: Record<string, string>; found?: boolean[] } | null {
  try {
    const a = JSON.parse(line) as {
      version?: unknown;
      executable?: unknown;
      missing?: unknown;
      found?: unknown;
    };
    if (!Array.isArray(a.version) || !a.version.every((n) => typeof n === 'number')) return null;
    return {
      version: a.version as number[],
      executable: typeof a.executable === 'string' ? a.executable : '',
      cannotImport: a.missing && typeof a.missing === 'object' ? (a.missing as Record<string, string>) : {},
      found: Array.isArray(a.found) ? a.found.map((f) => f === true) : undefined,
    };
  } catch {
    return null;
  }
}
