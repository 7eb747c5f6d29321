// Before any worker starts: find the interpreter the spec names and check that it can run the job
// (Python 3.8+, and pandas for tabular inputs), so a broken environment is reported once, up front,
// naming the interpreter and the remedy, instead of as N identical init() failures.

import path from 'node:path';
import type { Finding } from '../../common/events';
import type { JobSpec } from '../../common/spec';
import {
  interpreterToStart,
  isExecutable,
  probeInterpreter,
  resolveInterpreter,
} from '../../runtime/interpreter';
import { inheritedEnv } from '../childEnv';

export { isExecutable };

const MIN_VERSION: [number, number] = [3, 8];

/**
 * The interpreter executable for a job (see src/runtime/interpreter.ts for the rules). When nothing
 * is found, returns what was looked for, so the caller's check can report it.
 */
export async function resolvePython(spec: Pick<JobSpec, 'python' | 'spec_path'>): Promise<string> {
  const baseDir = spec.spec_path ? path.dirname(spec.spec_path) : process.cwd();
  return interpreterToStart(await resolveInterpreter(spec.python, { baseDir }));
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

/**
 * `python`: the interpreter resolvePython found, when the caller has it already. `importedElsewhere`:
 * why each module cannot be imported, from a process of that interpreter that imports them anyway
 * (the run's fork server); null where it cannot tell, and the check imports them itself.
 */
export async function checkPython(
  spec: JobSpec,
  resolved?: string,
  importedElsewhere?: (modules: string[]) => Promise<Record<string, string> | null>,
): Promise<PythonCheck> {
  const python = resolved ?? (await resolvePython(spec));
  const choose =
    'or choose another interpreter with `python:` in the job spec (an executable, a venv or a conda env folder)';
  const required = requiredModules(spec);
  // Part of a run the user started: the spec's variables apply, as they will in its workers.
  const env: NodeJS.ProcessEnv = { ...inheritedEnv(), ...spec.environment_variables };
  const names = required.map((m) => m.name);
  const elsewhere = names.length > 0 ? importedElsewhere?.(names).catch(() => null) : undefined;
  let result = await probeInterpreter(python, { imports: elsewhere ? [] : names, env });
  if (result.ok && elsewhere) {
    const failures = await elsewhere;
    result = failures
      ? { ...result, cannotImport: failures }
      : await probeInterpreter(python, { imports: names, env });
  }
  if (!result.ok) {
    const detail = result.notFound
      ? spec.python
        ? `The job spec's \`python: ${spec.python}\` does not lead to an executable interpreter (looked for ${python}).`
        : 'No `python3` was found on PATH, and the job spec names no interpreter with `python:`.'
      : `Interpreter ${python} did not start: ${result.error}${result.stderr && result.stderr !== result.error ? `\n${result.stderr}` : ''}`;
    return {
      ok: false,
      findings: [
        environmentFinding(
          result.notFound
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
    const why = result.cannotImport[m.name];
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
