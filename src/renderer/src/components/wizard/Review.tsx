// The Review step: the spec as it would be saved, and every problem with it (field by field, the
// host's `prs validate`, and the interpreter's missing modules), or that it is valid.

import type { ValidateResult } from '../../../../common/api';
import { useHostQuery } from '../useHostQuery';
import type { Draft } from './fields';

export function Review({
  draft,
  verdict,
  problems,
  envNote,
  specPath,
}: {
  draft: Draft;
  /** The file Save writes to ('' for none yet): the text shown is what Save would write there. */
  specPath: string;
  verdict: ValidateResult | null;
  /** Every problem known, the host's and the form's. */
  problems: string[];
  /** What is not known yet (an interpreter not checked). */
  envNote: string | null;
}) {
  const answer = useHostQuery('specYaml', { spec: draft, path: specPath || undefined });
  const yaml = answer.error ?? answer.result?.yaml ?? '';
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
      {envNote && (
        <p className="muted" data-testid="review-note">
          {envNote}
        </p>
      )}
    </div>
  );
}
