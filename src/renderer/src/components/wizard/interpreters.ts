// The interpreters the wizard offers, and what each knows of the entry script's imports. The host
// checks the well-known ones (python3 on PATH, /usr/bin/python3, conda envs) by itself; one the
// spec names, or that came in its folder, runs only when the user presses the button naming it.

import { useEffect, useState } from 'react';
import type { InterpreterInfo, ScriptToCheck } from '../../../../common/api';
import { useStore } from '../../store';
import { resolveFrom } from '../../../../common/specFilePaths';
import { useDebounced } from '../useHostQuery';
import type { Draft } from './fields';

export const DEFAULT_LABEL = 'python3 on PATH';

export interface Interpreters {
  /** The ones the host lists (null while it looks). */
  found: InterpreterInfo[] | null;
  /** The one typed in the field, once checked. */
  typed: InterpreterInfo | null;
  checking: string | null;
  /** Runs `target` (the button that names it was pressed). */
  check(target: string): void;
}

export function useInterpreters(
  python: string,
  specDir: string,
  sourceDir: string,
  script: ScriptToCheck | undefined,
): Interpreters {
  const [found, setFound] = useState<InterpreterInfo[] | null>(null);
  const [typed, setTyped] = useState<InterpreterInfo | null>(null);
  const [checking, setChecking] = useState<string | null>(null);
  const key = useDebounced(JSON.stringify({ sourceDir, script: script ?? null }), 400);
  useEffect(() => {
    const k = JSON.parse(key) as { sourceDir: string; script: ScriptToCheck | null };
    let live = true;
    useStore
      .getState()
      .request('interpreters', { sourceDir: k.sourceDir, script: k.script ?? undefined })
      // A new script or folder asks again: a result is for one script.
      .then((r) => live && setFound(r))
      .catch(() => live && setFound([]));
    return () => {
      live = false;
    };
  }, [key]);
  useEffect(() => setTyped(null), [python, specDir, key]);
  const check = (target: string) => {
    setChecking(target);
    useStore
      .getState()
      .request('checkInterpreter', { python: target, specDir, script })
      .then((r) => {
        if (found?.some((f) => f.path === target))
          setFound((f) => f?.map((x) => (x.path === target ? { ...r, label: x.label } : x)) ?? f);
        else setTyped(r);
      })
      .catch(() => undefined)
      .finally(() => setChecking(null));
  };
  return { found, typed, checking, check };
}

export const notChecked = (i: InterpreterInfo) => i.version === null && i.error === null;

/** The interpreter the job would run with, as far as it is known. */
export function chosenInterpreter(python: string, its: Interpreters): InterpreterInfo | null {
  if (python === '') return its.found?.find((f) => f.label === DEFAULT_LABEL) ?? null;
  return its.found?.find((f) => f.path === python) ?? its.typed ?? null;
}

/** The executable a result is for, by its full path where the host gave one. */
export function exeOf(i: InterpreterInfo): string {
  return i.label.startsWith('/') ? i.label : i.path;
}

/**
 * What stops the job from running with `i`: an interpreter that does not start, or a module the
 * entry script imports that it cannot find, named with the interpreter and the script.
 */
export function interpreterProblems(i: InterpreterInfo | null, entryScript: string): string[] {
  if (!i || notChecked(i)) return [];
  if (i.error) return [`python: ${exeOf(i)} does not run: ${i.error} (expected a Python 3 interpreter)`];
  return i.modules
    .filter((m) => m.found === 'missing' && !m.optional)
    .map(
      (m) =>
        `python: ${exeOf(i)} has no module named '${m.name}' (${entryScript} imports it: install it into that interpreter, or choose one that has it)`,
    );
}

export interface Environment {
  interpreters: Interpreters;
  /** The job runs in the Python runtime (by `runtime`, or by the entry script's extension). */
  isPython: boolean;
  /** What stops the job from running with the interpreter chosen. */
  problems: string[];
  /** What is not known yet: the interpreter has not been checked. */
  note: string | null;
}

/** The interpreter a draft would run with, and what is known of it. */
export function useEnvironment(draft: Draft, specDir: string, sourceDir: string): Environment {
  const python = typeof draft.python === 'string' ? draft.python : '';
  const entryScript = typeof draft.entry_script === 'string' ? draft.entry_script : '';
  const isPython = draft.runtime === 'python' || (draft.runtime === undefined && entryScript.endsWith('.py'));
  const script =
    isPython && entryScript ? { path: resolveFrom(sourceDir, entryScript), sourceDir } : undefined;
  const interpreters = useInterpreters(python, specDir, sourceDir, script);
  const chosen = isPython ? chosenInterpreter(python, interpreters) : null;
  const unchecked =
    isPython && chosen && notChecked(chosen) ? chosen.path : isPython && !chosen ? python : '';
  return {
    interpreters,
    isPython,
    problems: isPython ? interpreterProblems(chosen, entryScript) : [],
    note: unchecked
      ? `python: ${unchecked} is not checked yet: on the Environment step, "Check this interpreter" looks up the modules ${entryScript} imports.`
      : null,
  };
}
