// Before any worker starts: find the interpreter the spec names and check that it can run the job
// (Python 3.8+, and pandas for tabular inputs), so a broken environment is reported once, up front,
// naming the interpreter and the remedy, instead of as N identical init() failures.

import { execFile } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Finding } from '../../common/events';
import type { JobSpec } from '../../common/spec';
import { inheritedEnv } from '../childEnv';

const MIN_VERSION: [number, number] = [3, 8];

export async function isExecutable(file: string): Promise<boolean> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function onPath(name: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The interpreters a venv or conda env folder holds, in the order they are tried. */
function inFolder(dir: string): string[] {
  return process.platform === 'win32'
    ? [path.join(dir, 'Scripts', 'python.exe'), path.join(dir, 'python.exe')]
    : [path.join(dir, 'bin', 'python3'), path.join(dir, 'bin', 'python')];
}

/**
 * The interpreter executable for a job: `python` as an executable, a venv or conda env folder, or a
 * command name looked up on PATH; python3 on PATH when the spec names none. When nothing is found,
 * returns what the spec named (or "python3") so the caller's check can report it.
 */
export async function resolvePython(spec: Pick<JobSpec, 'python' | 'spec_path'>): Promise<string> {
  const named = spec.python ?? 'python3';
  if (!named.includes('/') && !named.includes('\\')) return (await onPath(named)) ?? named;
  const full = path.resolve(spec.spec_path ? path.dirname(spec.spec_path) : process.cwd(), named);
  try {
    if ((await stat(full)).isDirectory()) {
      for (const candidate of inFolder(full)) if (await isExecutable(candidate)) return candidate;
    }
  } catch {
    // reported by checkPython
  }
  return full;
}

// Prints one JSON line: the version and which of the requested modules fail to import (and why).
const PROBE = `
import json, sys
missing = {}
for name in sys.argv[1:]:
    try:
        __import__(name)
    except Exception as e:
        missing[name] = "%s: %s" % (type(e).__name__, e)
print(json.dumps({"version": list(sys.version_info[:3]), "executable": sys.executable, "missing": missing}))
`;

interface Probe {
  version: number[];
  executable: string;
  missing: Record<string, string>;
}

function probe(python: string, modules: string[], env: NodeJS.ProcessEnv): Promise<Probe> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      ['-c', PROBE, ...modules],
      { timeout: 60_000, env, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(Object.assign(err, { stderr: String(stderr).trim() }));
          return;
        }
        const line = String(stdout).trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as Probe);
        } catch {
          reject(new Error(`it printed ${JSON.stringify(line.slice(0, 200))} instead of its version`));
        }
      },
    );
  });
}

/** The modules a job needs from the interpreter, with why. */
function requiredModules(spec: JobSpec): Array<{ name: string; why: string; apt: string }> {
  if (spec.input_type === 'tabular') {
    return [{ name: 'pandas', why: 'tabular inputs need', apt: 'python3-pandas' }];
  }
  return [];
}

function environmentFinding(title: string, detail: string, remedy: string): Finding {
  return { kind: 'environment', title, detail, remedy };
}

/** The interpreter to start, or why none can run the job. */
export type PythonCheck = { ok: true; python: string; version: string } | { ok: false; findings: Finding[] };

/** `python`: the interpreter resolvePython found, when the caller has it already. */
export async function checkPython(spec: JobSpec, resolved?: string): Promise<PythonCheck> {
  const python = resolved ?? (await resolvePython(spec));
  const choose =
    'or choose another interpreter with `python:` in the job spec (an executable, a venv or a conda env folder)';
  const required = requiredModules(spec);
  // Part of a run the user started: the spec's variables apply, as they will in its workers.
  const env: NodeJS.ProcessEnv = { ...inheritedEnv(), ...spec.environment_variables };
  let result: Probe;
  try {
    result = await probe(
      python,
      required.map((m) => m.name),
      env,
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const notFound = e.code === 'ENOENT' || e.code === 'EACCES';
    const detail = notFound
      ? spec.python
        ? `The job spec's \`python: ${spec.python}\` does not lead to an executable interpreter (looked for ${python}).`
        : 'No `python3` was found on PATH, and the job spec names no interpreter with `python:`.'
      : `Interpreter ${python} did not start: ${e.message}${e.stderr ? `\n${e.stderr}` : ''}`;
    return {
      ok: false,
      findings: [
        environmentFinding(
          notFound
            ? `Python interpreter not found: ${python}`
            : `Python interpreter ${python} fails to start`,
          detail,
          `Install Python ${MIN_VERSION.join('.')} or later (e.g. apt-get install python3), ${choose}.`,
        ),
      ],
    };
  }

  const version = result.version.join('.');
  const findings: Finding[] = [];
  const [major = 0, minor = 0] = result.version;
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    findings.push(
      environmentFinding(
        `Python ${version} is too old`,
        `Interpreter ${python} is Python ${version}; entry scripts need Python ${MIN_VERSION.join('.')} or later.`,
        `Install a newer Python, ${choose}.`,
      ),
    );
  }
  for (const m of required) {
    const why = result.missing[m.name];
    if (why === undefined) continue;
    findings.push(
      environmentFinding(
        `${m.name} is missing from ${python}`,
        `Interpreter ${python} cannot import ${m.name}, which ${m.why} (${why}).`,
        `Install it (apt-get install ${m.apt} / ${python} -m pip install ${m.name}) ${choose}.`,
      ),
    );
  }
  return findings.length > 0 ? { ok: false, findings } : { ok: true, python, version };
}
