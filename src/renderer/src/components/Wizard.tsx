// The job wizard: a job spec made by point and click, step by step, checked field by field with the
// same schema (and so the same messages) as `prs validate`, and checked whole by the host exactly as
// `prs validate` does (disk included) before Start is enabled. Saves and opens spec files, imports
// Azure ML v2 `type: parallel` jobs and exports a job as one.

import { useEffect, useMemo, useRef, useState } from 'react';
import type {
  DeviceInfo,
  InputsInfo,
  InterpreterInfo,
  ScriptInfo,
  ValidateResult,
} from '../../../common/api';
import { formatBytes } from '../../../common/api';
import {
  FIELD_INFO,
  LOGGING_LEVELS,
  OUTPUT_ACTIONS,
  SPEC_DEFAULTS,
  TABULAR_FORMATS,
  validateSpecField,
} from '../../../common/specSchema';
import { useStore } from '../store';
import { dirOf, PathField } from './FileBrowser';

type Draft = Record<string, unknown>;
type Input = Record<string, unknown>;

const STEPS = [
  'Entry script',
  'Inputs',
  'Partitioning',
  'Execution',
  'Environment',
  'Output',
  'Review',
] as const;
type Step = (typeof STEPS)[number];

/** Keys every draft shows an error for once the user has been near them. */
const REQUIRED = ['name', 'entry_script', 'inputs'];

function resolvePath(specDir: string, p: string): string {
  return p.startsWith('/') ? p : `${specDir.replace(/\/+$/, '')}/${p.replace(/^\.\//, '')}`;
}

/** What a typed value means: a number when it reads as one (the schema then checks its range). */
export function typedValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return text;
}

function shown(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

function call() {
  const client = useStore.getState().client;
  if (!client) throw new Error('not connected');
  return client;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function Wizard({ specPath: initialPath }: { specPath?: string }) {
  const [specPath, setSpecPath] = useState(initialPath ?? '');
  const [draft, setDraft] = useState<Draft>({ inputs: [{ path: '', type: 'files' }] });
  const [step, setStep] = useState<Step>('Entry script');
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const specDir = specPath ? dirOf(specPath) : '/';
  // The file browser starts in the spec's folder (FileBrowser.tsx reads it from the store).
  useEffect(() => useStore.setState({ specDir: specPath ? specDir : null }), [specPath, specDir]);

  const set = (key: string, value: unknown) => {
    setTouched((t) => new Set(t).add(key));
    setSaved(null);
    setDraft((d) => {
      const next = { ...d };
      if (value === undefined) delete next[key];
      else next[key] = value;
      return next;
    });
  };
  const inputs = (Array.isArray(draft.inputs) ? draft.inputs : []) as Input[];
  const input: Input = inputs[0] ?? { path: '', type: 'files' };
  const setInput = (key: string, value: unknown) => {
    const next: Input = { ...input };
    if (value === undefined || value === '') delete next[key];
    else next[key] = value;
    if (key === 'path' && next.path === undefined) next.path = '';
    set('inputs', [next, ...inputs.slice(1)]);
  };

  // Field by field, with the CLI's schema and messages.
  const errors = useMemo(() => {
    const out: Record<string, string | null> = {};
    const keys = new Set([...Object.keys(draft), ...REQUIRED]);
    for (const k of keys) {
      if (draft[k] === undefined && !touched.has(k) && step !== 'Review') continue;
      out[k] = validateSpecField(k, draft[k], draft);
    }
    return out;
  }, [draft, touched, step]);
  const fieldErrors = Object.values(errors).filter(Boolean) as string[];

  // The whole draft as `prs validate` sees it (disk checks included), when it settles.
  const settled = useDebounced(JSON.stringify({ draft, specDir }), 350);
  const [verdict, setVerdict] = useState<ValidateResult | null>(null);
  useEffect(() => {
    let live = true;
    const { draft: d, specDir: dir } = JSON.parse(settled) as { draft: Draft; specDir: string };
    call()
      .call('validateDraft', { spec: d, specDir: dir })
      .then((r) => live && setVerdict(r))
      .catch((err: unknown) => live && setVerdict({ ok: false, problems: [errText(err)] }));
    return () => {
      live = false;
    };
  }, [settled]);
  const problemCount = new Set([...fieldErrors, ...(verdict && !verdict.ok ? verdict.problems : [])]).size;
  const canStart = fieldErrors.length === 0 && verdict?.ok === true && specPath !== '';

  const open = async (p: string) => {
    try {
      const content = await call().call('readSpecFile', { path: p });
      setDraft(content.spec);
      setTouched(new Set(Object.keys(content.spec)));
      if (content.source === 'azureml-v2') {
        // An imported job is saved as a spec beside it, so its relative paths keep working.
        const name = typeof content.spec.name === 'string' ? content.spec.name : 'job';
        setSpecPath(`${dirOf(content.path)}/${name}.prs.yaml`);
        setSaved(null);
        setNotice(
          `Imported Azure ML v2 job ${content.path}.` +
            (content.warnings.length ? ` Warnings: ${content.warnings.join('; ')}` : '') +
            (content.problems.length ? ` Problems: ${content.problems.join('; ')}` : ''),
        );
      } else {
        setSpecPath(content.path);
        setSaved(content.path);
        setNotice(`Opened ${content.path}.`);
      }
    } catch (err) {
      setNotice(errText(err));
    }
  };

  /** Saves (asking before replacing a file); true when the spec is on disk. */
  const save = async (): Promise<boolean> => {
    if (!specPath) {
      setNotice('Choose where to save the spec file first.');
      return false;
    }
    try {
      let r = await call().call('saveSpec', { path: specPath, spec: draft });
      if (!r.saved) {
        if (saved === specPath || window.confirm(`${specPath} exists. Replace it?`))
          r = await call().call('saveSpec', { path: specPath, spec: draft, overwrite: true });
        else return false;
      }
      if (r.saved) {
        setSaved(r.path);
        setNotice(`Saved ${r.path}.`);
        return true;
      }
    } catch (err) {
      setNotice(errText(err));
    }
    return false;
  };

  const start = async () => {
    if (!canStart || !(await save())) return;
    await useStore.getState().startExample(specPath);
  };

  const [openPath, setOpenPath] = useState('');
  const [v2Path, setV2Path] = useState('');
  const exportV2 = async () => {
    const dest = v2Path || `${specDir}/${shown(draft.name) || 'job'}.azureml.yaml`;
    try {
      let r = await call().call('saveSpec', { path: dest, spec: draft, azureMlV2: true });
      if (!r.saved && window.confirm(`${dest} exists. Replace it?`))
        r = await call().call('saveSpec', { path: dest, spec: draft, azureMlV2: true, overwrite: true });
      if (r.saved)
        setNotice(
          `Exported ${r.path} as an Azure ML v2 parallel job.${r.warnings.length ? ` ${r.warnings.join('; ')}` : ''}`,
        );
    } catch (err) {
      setNotice(errText(err));
    }
  };

  const field = (key: string, label: string, props: { placeholder?: string; type?: string } = {}) => (
    <TextField
      key={key}
      name={key}
      label={label}
      value={shown(draft[key])}
      onChange={(t) => set(key, typedValue(t))}
      error={errors[key]}
      {...props}
    />
  );

  const inputsError = errors.inputs ?? null;
  return (
    <main className="wizard" data-testid="wizard">
      <section className="wizard-files">
        <PathField
          label="Spec file"
          value={specPath}
          onChange={(v) => {
            setSpecPath(v);
            setSaved(null);
          }}
          kind="file"
          testId="spec-path"
        />
        <div className="row">
          <PathField
            label="Open a spec or import an Azure ML v2 job"
            value={openPath}
            onChange={setOpenPath}
            kind="file"
            testId="open-path"
          />
          <button data-testid="open-spec" disabled={!openPath} onClick={() => void open(openPath)}>
            Open
          </button>
        </div>
        {notice && (
          <p className="notice" data-testid="wizard-notice">
            {notice}
          </p>
        )}
      </section>
      <nav
        className="steps"
        role="tablist"
        onKeyDown={(e) => {
          // Arrow keys move between the steps, as in any tab list.
          const by = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
          if (!by) return;
          e.preventDefault();
          const next = STEPS[(STEPS.indexOf(step) + by + STEPS.length) % STEPS.length];
          setStep(next);
          e.currentTarget.querySelector<HTMLElement>(`[data-step="${next}"]`)?.focus();
        }}
      >
        {STEPS.map((s) => (
          <button
            key={s}
            role="tab"
            data-step={s}
            aria-selected={s === step}
            tabIndex={s === step ? 0 : -1}
            onClick={() => setStep(s)}
          >
            {s}
          </button>
        ))}
      </nav>
      <section className="step" data-testid={`step-${step.toLowerCase().replace(/ /g, '-')}`}>
        {step === 'Entry script' && (
          <>
            {field('name', 'Job name', { placeholder: 'score-images' })}
            <PathField
              label="Entry script"
              value={shown(draft.entry_script)}
              onChange={(v) => set('entry_script', v === '' ? undefined : v)}
              kind="file"
              testId="field-entry_script"
              error={errors.entry_script}
            />
            <ScriptFacts
              path={typeof draft.entry_script === 'string' ? resolvePath(specDir, draft.entry_script) : ''}
            />
            <PathField
              label="Source folder (default: the spec's folder)"
              value={shown(draft.source_directory)}
              onChange={(v) => set('source_directory', v === '' ? undefined : v)}
              kind="dir"
              testId="field-source_directory"
              error={errors.source_directory}
            />
          </>
        )}
        {step === 'Inputs' && (
          <>
            <PathField
              label="Input folder, file or glob"
              value={shown(input.path)}
              onChange={(v) => setInput('path', v)}
              kind="dir"
              testId="field-input-path"
            />
            <SelectField
              name="input-type"
              label="Type"
              value={shown(input.type) || 'files'}
              options={['files', 'tabular']}
              onChange={(v) => setInput('type', v)}
            />
            <TextField
              name="input-pattern"
              label="Pattern"
              placeholder="**/*.png"
              value={shown(input.pattern)}
              onChange={(v) => setInput('pattern', v)}
            />
            {input.type === 'tabular' ? (
              <SelectField
                name="input-format"
                label="Format"
                value={shown(input.format)}
                options={['', ...TABULAR_FORMATS]}
                onChange={(v) => setInput('format', v)}
              />
            ) : (
              <TextField
                name="input-partition_format"
                label="Partition format"
                placeholder="{user}/{season}/{genres}.wav"
                value={shown(input.partition_format)}
                onChange={(v) => setInput('partition_format', v)}
              />
            )}
            {inputs.length > 1 && (
              <p className="muted">{inputs.length - 1} more input(s) kept as they are.</p>
            )}
            {inputsError && (
              <p className="field-error" role="alert" data-testid="field-inputs-error">
                {inputsError}
              </p>
            )}
            <InputFacts draft={draft} specDir={specDir} />
          </>
        )}
        {step === 'Partitioning' && (
          <>
            {field(
              'mini_batch_size',
              input.type === 'tabular' ? 'Mini-batch size (bytes, e.g. 1MB)' : 'Mini-batch size (files)',
              {
                placeholder: String(
                  input.type === 'tabular'
                    ? SPEC_DEFAULTS.mini_batch_size_tabular
                    : SPEC_DEFAULTS.mini_batch_size_files,
                ),
              },
            )}
            <PartitionKeys
              draft={draft}
              specDir={specDir}
              onChange={(keys) => set('partition_keys', keys.length ? keys : undefined)}
            />
            {errors.partition_keys && (
              <p className="field-error" role="alert">
                {errors.partition_keys}
              </p>
            )}
            <InputFacts draft={draft} specDir={specDir} />
          </>
        )}
        {step === 'Execution' && (
          <>
            <Devices />
            {field('process_count_per_node', 'Processes per node', { placeholder: 'auto' })}
            {field('run_invocation_timeout', 'Timeout per mini-batch (s)', {
              placeholder: String(SPEC_DEFAULTS.run_invocation_timeout),
            })}
            {field('run_max_try', 'Attempts per mini-batch', {
              placeholder: String(SPEC_DEFAULTS.run_max_try),
            })}
            {field('error_threshold', 'Failed items tolerated (-1: all)', {
              placeholder: String(SPEC_DEFAULTS.error_threshold),
            })}
            {field('allowed_failed_count', 'Failed mini-batches tolerated (-1: all)', {
              placeholder: String(SPEC_DEFAULTS.allowed_failed_count),
            })}
            {field('allowed_failed_percent', 'Failed mini-batches tolerated (%)', {
              placeholder: String(SPEC_DEFAULTS.allowed_failed_percent),
            })}
            <SelectField
              name="logging_level"
              label="Logging level"
              value={shown(draft.logging_level)}
              options={['', ...LOGGING_LEVELS]}
              onChange={(v) => set('logging_level', v || undefined)}
            />
          </>
        )}
        {step === 'Environment' && (
          <EnvironmentStep draft={draft} specDir={specDir} set={set} errors={errors} />
        )}
        {step === 'Output' && (
          <>
            <SelectField
              name="output_action"
              label="Output action"
              value={shown(draft.output_action)}
              options={['', ...OUTPUT_ACTIONS]}
              onChange={(v) => set('output_action', v || undefined)}
            />
            {field('append_row_file_name', 'Output file name', {
              placeholder: SPEC_DEFAULTS.append_row_file_name,
            })}
          </>
        )}
        {step === 'Review' && <Review draft={draft} verdict={verdict} fieldErrors={fieldErrors} />}
      </section>
      <footer className="wizard-actions">
        <button disabled={step === STEPS[0]} onClick={() => setStep(STEPS[STEPS.indexOf(step) - 1])}>
          Back
        </button>
        <button disabled={step === 'Review'} onClick={() => setStep(STEPS[STEPS.indexOf(step) + 1])}>
          Next
        </button>
        <span className="spacer" />
        <span
          data-testid="wizard-validity"
          data-valid={canStart ? 'true' : 'false'}
          className={canStart ? 'muted' : 'bad-text'}
        >
          {problemCount > 0
            ? `${problemCount} problem(s): see Review`
            : !specPath
              ? 'choose a spec file to save to'
              : verdict?.ok
                ? 'valid'
                : 'checking…'}
        </span>
        <button data-testid="wizard-save" disabled={!specPath} onClick={() => void save()}>
          Save
        </button>
        <button
          className="primary"
          data-testid="wizard-start"
          disabled={!canStart}
          onClick={() => void start()}
        >
          Save and start
        </button>
        <span className="export-v2">
          <input
            aria-label="Azure ML v2 file"
            placeholder="job.azureml.yaml"
            value={v2Path}
            onChange={(e) => setV2Path(e.target.value)}
          />
          <button data-testid="export-v2" disabled={fieldErrors.length > 0} onClick={() => void exportV2()}>
            Export as Azure ML v2
          </button>
        </span>
      </footer>
    </main>
  );
}

function TextField({
  name,
  label,
  value,
  onChange,
  error,
  placeholder,
}: {
  name: string;
  label: string;
  value: string;
  onChange(v: string): void;
  error?: string | null;
  placeholder?: string;
}) {
  const hint = FIELD_INFO[name]?.expected;
  return (
    <div className="field">
      <label>
        <span>{label}</span>
        <input
          data-testid={`field-${name}`}
          aria-label={label}
          value={value}
          placeholder={placeholder}
          title={hint}
          onChange={(e) => onChange(e.target.value)}
        />
      </label>
      {error && (
        <p className="field-error" role="alert" data-testid={`field-${name}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

function SelectField({
  name,
  label,
  value,
  options,
  onChange,
}: {
  name: string;
  label: string;
  value: string;
  options: readonly string[];
  onChange(v: string): void;
}) {
  return (
    <div className="field">
      <label>
        <span>{label}</span>
        <select
          data-testid={`field-${name}`}
          aria-label={label}
          value={value}
          onChange={(e) => onChange(e.target.value)}
        >
          {options.map((o) => (
            <option key={o} value={o}>
              {o === '' ? '(default)' : o}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

function ScriptFacts({ path }: { path: string }) {
  const p = useDebounced(path, 300);
  const [info, setInfo] = useState<ScriptInfo | null>(null);
  useEffect(() => {
    if (!p) return setInfo(null);
    let live = true;
    call()
      .call('inspectScript', { path: p })
      .then((r) => live && setInfo(r))
      .catch(() => live && setInfo(null));
    return () => {
      live = false;
    };
  }, [p]);
  if (!info) return null;
  if (!info.exists)
    return (
      <p className="muted" data-testid="script-facts">
        {info.path} does not exist yet.
      </p>
    );
  const mark = (b: boolean) => (b ? '✓' : '✗');
  return (
    <p className="facts" data-testid="script-facts">
      Runtime: <strong>{info.runtime ?? 'unknown (expected .py, .js, .mjs, .cjs or .ts)'}</strong> · init(){' '}
      {mark(info.defines.init)} · run() {mark(info.defines.run)} · shutdown() {mark(info.defines.shutdown)}
      {!info.defines.run && <span className="bad-text"> — no run() found: every mini-batch would fail</span>}
    </p>
  );
}

/** Files, bytes and mini-batches of the inputs as they stand, recounted as they change. */
function useInputsInfo(draft: Draft, specDir: string): InputsInfo | null {
  const key = useDebounced(
    JSON.stringify({
      inputs: draft.inputs,
      size: draft.mini_batch_size,
      keys: draft.partition_keys,
      specDir,
    }),
    400,
  );
  const [info, setInfo] = useState<InputsInfo | null>(null);
  useEffect(() => {
    const k = JSON.parse(key) as { inputs: unknown; size: unknown; keys: unknown; specDir: string };
    let live = true;
    call()
      .call('inspectInputs', {
        spec: { inputs: k.inputs, mini_batch_size: k.size, partition_keys: k.keys },
        specDir: k.specDir,
      })
      .then((r) => live && setInfo(r))
      .catch(
        (err: unknown) =>
          live &&
          setInfo({
            files: 0,
            bytes: 0,
            partial: false,
            miniBatches: null,
            miniBatchesPartial: false,
            columns: [],
            rows: [],
            problem: errText(err),
          }),
      );
    return () => {
      live = false;
    };
  }, [key]);
  return info;
}

function InputFacts({ draft, specDir }: { draft: Draft; specDir: string }) {
  const info = useInputsInfo(draft, specDir);
  if (!info) return <p className="muted">Counting…</p>;
  const atLeast = (b: boolean) => (b ? 'at least ' : '');
  return (
    <div className="facts">
      {info.problem && <p className="bad-text">{info.problem}</p>}
      <p data-testid="inputs-count">
        {atLeast(info.partial)}
        {info.files} file(s), {formatBytes(info.bytes)}
      </p>
      <p data-testid="minibatch-count">
        {info.miniBatches === null
          ? 'mini-batches: —'
          : `${atLeast(info.miniBatchesPartial)}${info.miniBatches} mini-batch(es)`}
      </p>
      {info.columns.length > 0 && (
        <div className="table-preview">
          <table data-testid="table-preview">
            <thead>
              <tr>
                {info.columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {info.rows.map((r, i) => (
                <tr key={i}>
                  {r.map((v, j) => (
                    <td key={j}>{typeof v === 'string' ? v : JSON.stringify(v)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function PartitionKeys({
  draft,
  specDir,
  onChange,
}: {
  draft: Draft;
  specDir: string;
  onChange(keys: string[]): void;
}) {
  const info = useInputsInfo({ inputs: draft.inputs }, specDir);
  const chosen = Array.isArray(draft.partition_keys) ? (draft.partition_keys as string[]) : [];
  const first = (Array.isArray(draft.inputs) ? draft.inputs[0] : {}) as Input;
  const fromFormat =
    typeof first.partition_format === 'string'
      ? [...first.partition_format.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1])
      : [];
  const names = [...new Set([...(info?.columns ?? []), ...fromFormat])];
  if (names.length === 0)
    return (
      <p className="muted">
        Partition keys: the table's columns (tabular) or the names of a partition format (files) show here.
      </p>
    );
  return (
    <fieldset className="keys" data-testid="partition-keys">
      <legend>Partition keys (one mini-batch per distinct combination)</legend>
      {names.map((n) => (
        <label key={n}>
          <input
            type="checkbox"
            checked={chosen.includes(n)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, n] : chosen.filter((c) => c !== n))}
          />
          {n}
        </label>
      ))}
    </fieldset>
  );
}

function Devices() {
  const [d, setD] = useState<DeviceInfo | null>(null);
  useEffect(() => {
    call()
      .call('devices', {})
      .then(setD)
      .catch(() => undefined);
  }, []);
  if (!d) return null;
  return (
    <p className="facts" data-testid="devices">
      This machine: {d.cpus} CPU(s) ({d.cpuModel}), {formatBytes(d.memTotalBytes)} memory,{' '}
      {d.gpus.length === 0 ? 'no GPU' : d.gpus.map((g) => `GPU ${g.index}: ${g.name}`).join(', ')}. "auto"
      runs{' '}
      {d.gpus.length > 0
        ? `${d.gpus.length} process(es), one per GPU`
        : `${d.cpus} process(es), one per core`}
      .
    </p>
  );
}

function linesToEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const i = t.indexOf('=');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i).trim()] = t.slice(i + 1);
  }
  return out;
}

function EnvironmentStep({
  draft,
  specDir,
  set,
  errors,
}: {
  draft: Draft;
  specDir: string;
  set(key: string, value: unknown): void;
  errors: Record<string, string | null>;
}) {
  const [found, setFound] = useState<InterpreterInfo[] | null>(null);
  const [checked, setChecked] = useState<InterpreterInfo | null>(null);
  const [checking, setChecking] = useState<string | null>(null);
  const envText = useRef(
    Object.entries((draft.environment_variables ?? {}) as Record<string, unknown>)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join('\n'),
  );
  const argsText = useRef(((draft.arguments ?? []) as unknown[]).map(String).join('\n'));
  const source =
    typeof draft.source_directory === 'string' ? resolvePath(specDir, draft.source_directory) : specDir;
  const python = typeof draft.python === 'string' ? draft.python : '';
  const isPython =
    draft.runtime === 'python' ||
    (typeof draft.entry_script === 'string' && draft.entry_script.endsWith('.py'));
  useEffect(() => {
    if (!isPython) return;
    // The host checks only well-known interpreters by itself; one from the source folder is listed
    // unchecked (it came with the spec).
    call()
      .call('interpreters', { sourceDir: source })
      .then(setFound)
      .catch(() => setFound([]));
  }, [source, isPython]);
  // An interpreter the spec or the user names runs only when asked to, by the button that names it.
  useEffect(() => setChecked(null), [python, specDir]);
  const check = (target: string, onResult: (i: InterpreterInfo) => void) => {
    setChecking(target);
    call()
      .call('checkInterpreter', { python: target, specDir })
      .then(onResult)
      .catch(() => undefined)
      .finally(() => setChecking(null));
  };
  const notChecked = (i: InterpreterInfo) => i.version === null && i.error === null;
  const describe = (i: InterpreterInfo) =>
    i.error
      ? `does not run: ${i.error}`
      : `Python ${i.version} · pandas ${i.pandas ? 'imports' : 'is missing'}`;
  const typed = python && !found?.some((f) => f.path === python) ? python : null;
  const typedFull = typed && (typed.includes('/') ? resolvePath(specDir, typed) : `${typed} (on PATH)`);
  return (
    <>
      {isPython ? (
        <fieldset className="interpreters" data-testid="interpreters">
          <legend>Interpreter</legend>
          {found === null && <p className="muted">Looking for interpreters…</p>}
          <label>
            <input type="radio" checked={!python} onChange={() => set('python', undefined)} /> python3 on PATH
            (default)
          </label>
          {found?.map((i) => (
            <label key={i.path} data-testid="interpreter">
              <input type="radio" checked={python === i.path} onChange={() => set('python', i.path)} />{' '}
              {i.label}: <code>{i.path}</code>{' '}
              {notChecked(i) ? (
                <button
                  type="button"
                  data-testid="check-interpreter"
                  disabled={checking !== null}
                  onClick={() =>
                    check(i.path, (r) =>
                      setFound((f) => f?.map((x) => (x.path === i.path ? { ...r, label: i.label } : x)) ?? f),
                    )
                  }
                >
                  Check this interpreter: {i.path}
                </button>
              ) : (
                <span className={i.pandas ? 'muted' : 'bad-text'}>{describe(i)}</span>
              )}
            </label>
          ))}
          <TextField
            name="python"
            label="Or an interpreter, venv or conda env folder"
            value={python}
            onChange={(v) => set('python', v || undefined)}
            error={errors.python}
          />
          {typed && !checked && (
            <button
              type="button"
              data-testid="check-interpreter"
              disabled={checking !== null}
              onClick={() => check(typed, setChecked)}
            >
              Check this interpreter: {typedFull}
            </button>
          )}
          {checked && (
            <p className={checked.pandas ? 'muted' : 'bad-text'} data-testid="interpreter-checked">
              <code>{checked.label}</code>: {describe(checked)}
            </p>
          )}
        </fieldset>
      ) : (
        <p className="muted">A Node entry script runs in the Node runtime: no interpreter to choose.</p>
      )}
      <div className="field">
        <label>
          <span>Environment variables (NAME=value, one per line)</span>
          <textarea
            data-testid="field-environment_variables"
            defaultValue={envText.current}
            onChange={(e) => {
              const env = linesToEnv(e.target.value);
              set('environment_variables', Object.keys(env).length ? env : undefined);
            }}
          />
        </label>
        {errors.environment_variables && (
          <p className="field-error" role="alert">
            {errors.environment_variables}
          </p>
        )}
      </div>
      <div className="field">
        <label>
          <span>Arguments (one per line)</span>
          <textarea
            data-testid="field-arguments"
            defaultValue={argsText.current}
            onChange={(e) => {
              const args = e.target.value.split('\n').filter((l) => l.trim() !== '');
              set('arguments', args.length ? args : undefined);
            }}
          />
        </label>
      </div>
    </>
  );
}

function Review({
  draft,
  verdict,
  fieldErrors,
}: {
  draft: Draft;
  verdict: ValidateResult | null;
  fieldErrors: string[];
}) {
  const [yaml, setYaml] = useState('');
  useEffect(() => {
    call()
      .call('specYaml', { spec: draft })
      .then((r) => setYaml(r.yaml))
      .catch((err: unknown) => setYaml(errText(err)));
  }, [draft]);
  const problems = [...new Set([...fieldErrors, ...(verdict && !verdict.ok ? verdict.problems : [])])];
  return (
    <div className="review">
      <pre className="spec-yaml" data-testid="spec-yaml">
        {yaml}
      </pre>
      {problems.length > 0 ? (
        <ul className="problems" data-testid="draft-problems">
          {problems.map((p) => (
            <li key={p} className="bad-text">
              {p}
            </li>
          ))}
        </ul>
      ) : verdict?.ok ? (
        <p data-testid="draft-valid">
          Valid: {verdict.spec.name}, {verdict.spec.runtime} runtime, {verdict.spec.input_type} input.
          {verdict.warnings.map((w) => (
            <span key={w} className="muted">
              {' '}
              warning: {w}
            </span>
          ))}
        </p>
      ) : (
        <p className="muted">Checking…</p>
      )}
    </div>
  );
}
