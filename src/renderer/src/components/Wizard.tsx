// The job wizard: a job spec made by point and click, step by step, with a field for every key of
// the spec file, checked field by field with the same schema (and so the same messages) as `prs
// validate`, and checked whole by the host exactly as `prs validate` does (disk included), with the
// interpreter's modules, before Start is enabled. Opens and saves spec files (keeping the user's
// YAML as written), imports Azure ML v2 `type: parallel` jobs and exports a job as one. Its parts
// are in ./wizard.

import { useEffect, useMemo, useState } from 'react';
import type { ValidateResult } from '../../../common/api';
import {
  LOGGING_LEVELS,
  OUTPUT_ACTIONS,
  RUNTIMES,
  SPEC_DEFAULTS,
  validateSpecField,
} from '../../../common/specSchema';
import { useStore } from '../store';
import { PathField } from './FileBrowser';
import { Devices } from './wizard/Devices';
import { EnvironmentStep } from './wizard/EnvironmentStep';
import {
  call,
  errText,
  SelectField,
  shown,
  TextField,
  typedValue,
  useDebounced,
  type Draft,
} from './wizard/fields';
import { InputFacts, PartitionKeys } from './wizard/InputFacts';
import { InputsStep } from './wizard/InputsStep';
import { chosenInterpreter, interpreterProblems, notChecked, useInterpreters } from './wizard/interpreters';
import { dirOf, rebasePaths, resolveFrom } from '../../../common/specFilePaths';
import { Review } from './wizard/Review';
import { ScriptFacts } from './wizard/ScriptFacts';
import { SpecFileBar } from './wizard/SpecFileBar';
import { specPaths } from './wizard/specPaths';

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

const EMPTY: Draft = { inputs: [{ path: '', type: 'files' }] };

/** gpus as typed: auto, none, or device indexes separated by commas. */
function gpusValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  if (t === 'auto' || t === 'none') return t;
  const parts = t.split(',').map((p) => typedValue(p));
  return parts.every((p) => typeof p === 'number') ? parts : t;
}

export function Wizard({ specPath: initialPath }: { specPath?: string }) {
  const [specPath, setSpecPath] = useState('');
  const [draft, setDraft] = useState<Draft>(EMPTY);
  /** The draft as the spec file on disk says it, or null when it is not on disk. */
  const [onDisk, setOnDisk] = useState<string | null>(null);
  /** Changes when a spec is opened: the form's fields start again from it. */
  const [generation, setGeneration] = useState(0);
  const [step, setStep] = useState<Step>('Entry script');
  const [touched, setTouched] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const specDir = specPath ? dirOf(specPath) : '/';
  const paths = specPaths(draft, specDir, specPath !== '');
  const dirty = onDisk !== JSON.stringify(draft);
  // The file browser starts in the spec's folder (FileBrowser.tsx reads it from the store).
  useEffect(() => useStore.setState({ specDir: specPath ? specDir : null }), [specPath, specDir]);

  const set = (key: string, value: unknown) => {
    setTouched((t) => new Set(t).add(key));
    setDraft((d) => {
      const next = { ...d };
      if (value === undefined) delete next[key];
      else next[key] = value;
      return next;
    });
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

  // The interpreter, and whether it has every module the entry script imports.
  const python = typeof draft.python === 'string' ? draft.python : '';
  const entryScript = typeof draft.entry_script === 'string' ? draft.entry_script : '';
  const isPython = draft.runtime === 'python' || (draft.runtime === undefined && entryScript.endsWith('.py'));
  const script =
    isPython && entryScript
      ? { path: resolveFrom(paths.sourceDir, entryScript), sourceDir: paths.sourceDir }
      : undefined;
  const interpreters = useInterpreters(python, specDir, paths.sourceDir, script);
  const chosen = isPython ? chosenInterpreter(python, interpreters) : null;
  const envProblems = isPython ? interpreterProblems(chosen, entryScript) : [];
  const envNote =
    isPython && chosen && notChecked(chosen)
      ? `python: ${chosen.path} is not checked yet: on the Environment step, "Check this interpreter" looks up the modules ${entryScript} imports.`
      : isPython && python && !chosen
        ? `python: ${python} is not checked yet: on the Environment step, "Check this interpreter" looks up the modules ${entryScript} imports.`
        : null;

  const problems = [
    ...new Set([...fieldErrors, ...(verdict && !verdict.ok ? verdict.problems : []), ...envProblems]),
  ];
  const canStart = problems.length === 0 && verdict?.ok === true && specPath !== '';

  const open = async (p: string) => {
    try {
      const content = await call().call('readSpecFile', { path: p });
      setDraft(content.spec);
      setTouched(new Set(Object.keys(content.spec)));
      setGeneration((g) => g + 1);
      if (content.source === 'azureml-v2') {
        // An imported job is saved as a spec beside it, so its relative paths keep working.
        const name = typeof content.spec.name === 'string' ? content.spec.name : 'job';
        setSpecPath(`${dirOf(content.path)}/${name}.prs.yaml`);
        setOnDisk(null);
        setNotice(
          `Imported Azure ML v2 job ${content.path}.` +
            (content.warnings.length ? ` Warnings: ${content.warnings.join('; ')}` : '') +
            (content.problems.length ? ` Problems: ${content.problems.join('; ')}` : ''),
        );
      } else {
        setSpecPath(content.path);
        setOnDisk(JSON.stringify(content.spec));
        setNotice(`Opened ${content.path}.`);
      }
    } catch (err) {
      setNotice(errText(err));
    }
  };
  // "Edit in wizard" opens the run's spec.
  useEffect(() => {
    if (initialPath) void open(initialPath);
  }, [initialPath]);

  /**
   * Saves to `target` (asking before replacing a file other than the one open); true when the spec
   * is on disk. A spec saved into another folder has its paths rebased onto that folder.
   */
  const save = async (target = specPath): Promise<boolean> => {
    if (!target) return false;
    const moved = target !== specPath;
    const spec = moved ? rebasePaths(draft, specPath ? specDir : null, dirOf(target)) : draft;
    try {
      const replace = !moved && onDisk !== null;
      // Saved as… from a spec file: the new file keeps that file's comments and layout.
      const template = moved && onDisk !== null ? specPath : undefined;
      let r = await call().call('saveSpec', { path: target, spec, overwrite: replace, template });
      if (!r.saved) {
        if (!window.confirm(`${target} exists. Replace it?`)) return false;
        r = await call().call('saveSpec', { path: target, spec, overwrite: true, template });
      }
      if (r.saved) {
        setDraft(spec);
        if (moved) setGeneration((g) => g + 1);
        setSpecPath(r.path);
        setOnDisk(JSON.stringify(spec));
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

  const [v2Path, setV2Path] = useState('');
  const exportV2 = async () => {
    const dest = v2Path || `${specDir === '/' ? '' : specDir}/${shown(draft.name) || 'job'}.azureml.yaml`;
    // Its paths are relative to the file exported, as Azure ML reads them.
    const spec = rebasePaths(draft, specPath ? specDir : null, dirOf(resolveFrom(specDir, dest)));
    try {
      let r = await call().call('saveSpec', { path: dest, spec, azureMlV2: true });
      if (!r.saved && window.confirm(`${dest} exists. Replace it?`))
        r = await call().call('saveSpec', { path: dest, spec, azureMlV2: true, overwrite: true });
      if (r.saved)
        setNotice(
          `Exported ${r.path} as an Azure ML v2 parallel job.${r.warnings.length ? ` ${r.warnings.join('; ')}` : ''}`,
        );
    } catch (err) {
      setNotice(errText(err));
    }
  };

  const field = (key: string, label: string, props: { placeholder?: string } = {}) => (
    <TextField
      key={key}
      name={key}
      label={label}
      value={Array.isArray(draft[key]) ? (draft[key] as unknown[]).join(',') : shown(draft[key])}
      onChange={(t) => set(key, key === 'gpus' ? gpusValue(t) : typedValue(t))}
      error={errors[key]}
      {...props}
    />
  );
  const firstInput = (Array.isArray(draft.inputs) ? draft.inputs[0] : undefined) as Draft | undefined;
  const tabular = firstInput?.type === 'tabular';

  return (
    <main className="wizard" data-testid="wizard">
      <SpecFileBar
        specPath={specPath}
        specDir={specDir}
        suggestedName={`${shown(draft.name) || 'job'}.yaml`}
        dirty={dirty && specPath !== ''}
        notice={notice}
        onOpen={(p) => void open(p)}
        onSave={() => void save()}
        onSaveAs={(p) => void save(p)}
      />
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
      <section
        key={generation}
        className="step"
        data-testid={`step-${step.toLowerCase().replace(/ /g, '-')}`}
      >
        {step === 'Entry script' && (
          <>
            {field('name', 'Job name', { placeholder: 'score-images' })}
            <PathField
              label="Source folder (default: the spec's folder)"
              value={shown(draft.source_directory)}
              onChange={(v) => set('source_directory', v === '' ? undefined : v)}
              kind="dir"
              testId="field-source_directory"
              error={errors.source_directory}
              base={paths.specBase}
            />
            <PathField
              label="Entry script (in the source folder)"
              value={entryScript}
              onChange={(v) => set('entry_script', v === '' ? undefined : v)}
              kind="file"
              testId="field-entry_script"
              error={errors.entry_script}
              base={paths.sourceBase}
            />
            <ScriptFacts path={entryScript ? resolveFrom(paths.sourceDir, entryScript) : ''} />
            <SelectField
              name="runtime"
              label="Runtime (default: by the entry script's extension)"
              value={shown(draft.runtime)}
              options={['', ...RUNTIMES]}
              onChange={(v) => set('runtime', v || undefined)}
            />
          </>
        )}
        {step === 'Inputs' && <InputsStep draft={draft} paths={paths} set={set} errors={errors} />}
        {step === 'Partitioning' && (
          <>
            {field(
              'mini_batch_size',
              tabular ? 'Mini-batch size (bytes, e.g. 1MB)' : 'Mini-batch size (files)',
              {
                placeholder: String(
                  tabular ? SPEC_DEFAULTS.mini_batch_size_tabular : SPEC_DEFAULTS.mini_batch_size_files,
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
            {field('node_count', 'Nodes (more than 1 without a cluster: simulated on this machine)', {
              placeholder: String(SPEC_DEFAULTS.node_count),
            })}
            {field('process_count_per_node', 'Processes per node', { placeholder: 'auto' })}
            {field('gpus', 'GPUs workers may take (auto, none, or indexes: 0,1)', { placeholder: 'auto' })}
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
            {field('resource_monitor_interval', 'Seconds between resource snapshots (0: off)', {
              placeholder: String(SPEC_DEFAULTS.resource_monitor_interval),
            })}
            {field('profiling_module', 'Profiling module (e.g. cProfile)', { placeholder: 'none' })}
          </>
        )}
        {step === 'Environment' && (
          <EnvironmentStep
            draft={draft}
            paths={paths}
            set={set}
            errors={errors}
            interpreters={interpreters}
            isPython={isPython}
          />
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
            <SelectField
              name="allow_reuse"
              label="Reuse the last results of an unchanged job (allow_reuse)"
              value={shown(draft.allow_reuse)}
              options={['', 'true', 'false']}
              onChange={(v) => set('allow_reuse', v === '' ? undefined : v === 'true')}
            />
          </>
        )}
        {step === 'Review' && (
          <Review draft={draft} verdict={verdict} problems={problems} note={envNote} specPath={specPath} />
        )}
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
          {problems.length > 0
            ? `${problems.length} problem(s): see Review`
            : !specPath
              ? 'save the spec (Save as…) to start it'
              : verdict?.ok
                ? 'valid'
                : 'checking…'}
        </span>
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
