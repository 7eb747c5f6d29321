// The Environment step: the interpreter and whether it has every module the entry script imports,
// the environment variables, the script's arguments, and the models Model.get_model_path finds.

import type { InterpreterInfo, ModuleCheck } from '../../../../common/api';
import { PathField } from '../FileBrowser';
import { LinesField, RowsField, shown, TextField, type Draft } from './fields';
import { DEFAULT_LABEL, exeOf, notChecked, type Interpreters } from './interpreters';
import { resolveFrom } from '../../../../common/specFilePaths';
import type { SpecPaths } from './specPaths';

const WHERE: Record<ModuleCheck['found'], string> = {
  installed: 'installed',
  source: 'in the source folder',
  bundled: "the app's compatibility package",
  missing: 'missing',
};

function describe(i: InterpreterInfo): string {
  if (i.error) return `does not run: ${i.error}`;
  const missing = i.modules.filter((m) => m.found === 'missing' && !m.optional).map((m) => m.name);
  const mods =
    i.modules.length === 0
      ? `pandas ${i.pandas ? 'imports' : 'is missing'}`
      : missing.length
        ? `missing: ${missing.join(', ')}`
        : `all ${i.modules.length} imported module(s) found`;
  return `Python ${i.version} · ${mods}`;
}

const isOk = (i: InterpreterInfo) =>
  !i.error && (i.modules.length ? i.modules.every((m) => m.found !== 'missing' || m.optional) : i.pandas);

function ModuleList({ info }: { info: InterpreterInfo }) {
  if (info.error || info.modules.length === 0) return null;
  return (
    <ul className="modules" data-testid="interpreter-modules">
      {info.modules.map((m) => (
        <li
          key={m.name}
          className={m.found === 'missing' && !m.optional ? 'bad-text' : 'muted'}
          data-module={m.name}
        >
          <code>{m.name}</code>: {WHERE[m.found]}
          {m.optional && ' (imported inside try: the script does without it)'}
        </li>
      ))}
    </ul>
  );
}

export function EnvironmentStep({
  draft,
  paths,
  set,
  errors,
  interpreters: its,
  isPython,
}: {
  draft: Draft;
  paths: SpecPaths;
  set(key: string, value: unknown): void;
  errors: Record<string, string | null>;
  interpreters: Interpreters;
  isPython: boolean;
}) {
  const python = typeof draft.python === 'string' ? draft.python : '';
  const typed = python && !its.found?.some((f) => f.path === python) ? python : null;
  const typedFull = typed && (typed.includes('/') ? resolveFrom(paths.specDir, typed) : `${typed} (on PATH)`);
  const env = Object.entries((draft.environment_variables ?? {}) as Record<string, unknown>);
  const models = Object.entries((draft.models ?? {}) as Record<string, unknown>).map(([name, p]) => ({
    name,
    path: shown(p),
  }));
  return (
    <>
      {isPython ? (
        <fieldset className="interpreters" data-testid="interpreters">
          <legend>Interpreter</legend>
          {its.found === null && <p className="muted">Looking for interpreters…</p>}
          <label>
            <input type="radio" checked={!python} onChange={() => set('python', undefined)} /> {DEFAULT_LABEL}{' '}
            (default)
          </label>
          {its.found?.map((i) => (
            <div key={i.path} data-testid="interpreter">
              <label>
                <input type="radio" checked={python === i.path} onChange={() => set('python', i.path)} />{' '}
                {i.label}: <code>{i.path}</code>{' '}
              </label>
              {notChecked(i) ? (
                <button
                  type="button"
                  data-testid="check-interpreter"
                  disabled={its.checking !== null}
                  onClick={() => its.check(i.path)}
                >
                  Check this interpreter: {i.path}
                </button>
              ) : (
                <span className={isOk(i) ? 'muted' : 'bad-text'}>{describe(i)}</span>
              )}
              {(python === i.path || (!python && i.label === DEFAULT_LABEL)) && <ModuleList info={i} />}
            </div>
          ))}
          <TextField
            name="python"
            label="Or an interpreter, venv or conda env folder"
            value={python}
            onChange={(v) => set('python', v || undefined)}
            error={errors.python}
          />
          {typed && !its.typed && (
            <button
              type="button"
              data-testid="check-interpreter"
              disabled={its.checking !== null}
              onClick={() => its.check(typed)}
            >
              Check this interpreter: {typedFull}
            </button>
          )}
          {its.typed && (
            <div data-testid="interpreter-checked">
              <p className={isOk(its.typed) ? 'muted' : 'bad-text'}>
                <code>{exeOf(its.typed)}</code>: {describe(its.typed)}
              </p>
              <ModuleList info={its.typed} />
            </div>
          )}
        </fieldset>
      ) : (
        <p className="muted">A Node entry script runs in the Node runtime: no interpreter to choose.</p>
      )}
      <LinesField
        name="environment_variables"
        label="Environment variables (NAME=value, one per line)"
        value={env.map(([k, v]) => `${k}=${String(v)}`)}
        onChange={(lines) => set('environment_variables', lines && linesToEnv(lines))}
        error={errors.environment_variables}
      />
      <LinesField
        name="arguments"
        label="Arguments (one per line; the script runs in the source folder)"
        value={((draft.arguments ?? []) as unknown[]).map(String)}
        onChange={(args) => set('arguments', args)}
        error={errors.arguments}
      />
      <RowsField<{ name: string; path: string }>
        name="model"
        legend="Models (found by Model.get_model_path(name))"
        rows={models}
        blank={{ name: '', path: '' }}
        onChange={(rows) =>
          set('models', rows.length ? Object.fromEntries(rows.map((r) => [r.name, r.path])) : undefined)
        }
        addLabel="Add model"
        error={errors.models}
        row={(m, setRow) => (
          <>
            <TextField
              name="model-name"
              label="Model name"
              placeholder="digits"
              value={m.name}
              onChange={(v) => setRow({ ...m, name: v })}
            />
            <PathField
              label="Model file or folder"
              value={m.path}
              onChange={(v) => setRow({ ...m, path: v })}
              kind="file"
              testId="field-model-path"
              base={paths.specBase}
            />
          </>
        )}
      />
    </>
  );
}

function linesToEnv(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const t = line.trim();
    const i = t.indexOf('=');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i).trim()] = t.slice(i + 1);
  }
  return out;
}
