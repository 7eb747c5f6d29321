// What every step of the wizard takes (steps.ts lists them): its own file, so that the steps,
// which import it, and the list, which imports them, do not import each other.

import type { ValidateResult } from '../../../../common/api';
import type { Interpreters } from './interpreters';
import type { DraftForm } from './SpecField';
import type { SpecPaths } from './specPaths';

/** Everything a step may show or change; each step takes what it needs. */
export interface StepProps extends DraftForm {
  paths: SpecPaths;
  specDir: string;
  /** '' for a job not saved yet. */
  specPath: string;
  interpreters: Interpreters;
  isPython: boolean;
  verdict: ValidateResult | null;
  /** Every problem known: the form's, the host's and the interpreter's. */
  problems: string[];
  envNote: string | null;
}
