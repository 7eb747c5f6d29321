// The job wizard: a job spec made by point and click, step by step, with a field for every key of
// the spec file, checked field by field with the same schema (and so the same messages) as `prs
// validate`, and checked whole by the host exactly as `prs validate` does (disk included), with the
// interpreter's modules, before Start is enabled. Opens and saves spec files (keeping the user's
// YAML as written), imports Azure ML v2 `type: parallel` jobs and exports a job as one. Its parts
// are in ./wizard: the steps (a table of one component each, steps.ts), the draft and its file
// (useDraft), the host's verdict (useVerdict) and the interpreter's (useEnvironment).

import { useState } from 'react';
import { CLUSTER_WAIT_S } from '../../../common/api';
import { useStore } from '../store';
import { SpecFileBar } from './wizard/SpecFileBar';
import type { StepProps } from './wizard/stepProps';
import { STEPS, type StepTitle } from './wizard/steps';
import { useDraft, useFieldErrors, useVerdict } from './wizard/useDraft';
import { useEnvironment } from './wizard/interpreters';
import { shown } from './wizard/fields';
import { clusterOf, RunOn, runOnProblem, type RunOnChoice } from './wizard/RunOn';

const TITLES = STEPS.map((s) => s.title);

export function Wizard({ specPath: initialPath }: { specPath?: string }) {
  const d = useDraft(initialPath);
  const { draft, specPath, specDir, paths } = d;
  const [step, setStep] = useState<StepTitle>('Entry script');
  const errors = useFieldErrors(draft, d.touched, step === 'Review');
  const fieldErrors = Object.values(errors).filter(Boolean) as string[];
  const verdict = useVerdict(draft, specDir);
  const env = useEnvironment(draft, specDir, paths.sourceDir);

  // Where Start runs the job: a run option, like prs run --cluster, never saved in the spec.
  const [runOn, setRunOn] = useState<RunOnChoice>({ where: 'local', url: '' });
  const runOnError = runOnProblem(runOn);
  const problems = [
    ...new Set([
      ...fieldErrors,
      ...(verdict && !verdict.ok ? verdict.problems : []),
      ...env.problems,
      ...(runOnError ? [runOnError] : []),
    ]),
  ];
  const canStart = problems.length === 0 && verdict?.ok === true && specPath !== '';

  const nodeCount = typeof draft.node_count === 'number' ? draft.node_count : 1;
  // Starting on a cluster waits for its agents (up to CLUSTER_WAIT_S): say so, and take no second click.
  const [starting, setStarting] = useState<string | null>(null);
  const start = async () => {
    if (!canStart || starting !== null || !(await d.save())) return;
    const cluster = clusterOf(runOn);
    setStarting(
      cluster === undefined
        ? 'starting…'
        : `waiting for ${nodeCount} agent(s) of the cluster to take the job's nodes (up to ${CLUSTER_WAIT_S} s)…`,
    );
    try {
      await useStore.getState().startExample(specPath, undefined, cluster);
    } finally {
      setStarting(null);
    }
  };

  const [v2Path, setV2Path] = useState('');
  const stepProps: StepProps = {
    draft,
    set: d.set,
    errors,
    paths,
    specDir,
    specPath,
    interpreters: env.interpreters,
    isPython: env.isPython,
    verdict,
    problems,
    envNote: env.note,
  };
  const at = TITLES.indexOf(step);
  const { Step } = STEPS[at];

  return (
    <main className="wizard" data-testid="wizard">
      <SpecFileBar
        specPath={specPath}
        specDir={specDir}
        suggestedName={`${shown(draft.name) || 'job'}.yaml`}
        dirty={d.dirty && specPath !== ''}
        notice={d.notice}
        onOpen={(p) => void d.open(p)}
        onSave={() => void d.save()}
        onSaveAs={(p) => void d.save(p)}
      />
      <nav
        className="steps"
        role="tablist"
        onKeyDown={(e) => {
          // Arrow keys move between the steps, as in any tab list.
          const by = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
          if (!by) return;
          e.preventDefault();
          const next = TITLES[(at + by + TITLES.length) % TITLES.length];
          setStep(next);
          e.currentTarget.querySelector<HTMLElement>(`[data-step="${next}"]`)?.focus();
        }}
      >
        {TITLES.map((s) => (
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
        key={d.generation}
        className="step"
        data-testid={`step-${step.toLowerCase().replace(/ /g, '-')}`}
      >
        <Step {...stepProps} />
        {step === 'Review' && <RunOn choice={runOn} nodeCount={nodeCount} onChange={setRunOn} />}
      </section>
      <footer className="wizard-actions">
        <button disabled={at === 0} onClick={() => setStep(TITLES[at - 1])}>
          Back
        </button>
        <button disabled={at === TITLES.length - 1} onClick={() => setStep(TITLES[at + 1])}>
          Next
        </button>
        <span className="spacer" />
        {starting !== null && (
          <span className="muted" data-testid="wizard-starting" role="status">
            {starting}
          </span>
        )}
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
          disabled={!canStart || starting !== null}
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
          <button
            data-testid="export-v2"
            disabled={fieldErrors.length > 0}
            onClick={() => void d.exportV2(v2Path)}
          >
            Export as Azure ML v2
          </button>
        </span>
      </footer>
    </main>
  );
}
