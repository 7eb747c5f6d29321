// The wizard's steps, in order: each is one component that takes the same props.

import type { ComponentType } from 'react';
import type { ValidateResult } from '../../../../common/api';
import { EntryScriptStep } from './EntryScriptStep';
import { EnvironmentStep } from './EnvironmentStep';
import { ExecutionStep } from './ExecutionStep';
import { InputsStep } from './InputsStep';
import type { Interpreters } from './interpreters';
import { OutputStep } from './OutputStep';
import { PartitioningStep } from './PartitioningStep';
import { Review } from './Review';
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

export const STEPS = [
  { title: 'Entry script', Step: EntryScriptStep },
  { title: 'Inputs', Step: InputsStep },
  { title: 'Partitioning', Step: PartitioningStep },
  { title: 'Execution', Step: ExecutionStep },
  { title: 'Environment', Step: EnvironmentStep },
  { title: 'Output', Step: OutputStep },
  { title: 'Review', Step: Review },
] as const satisfies ReadonlyArray<{ title: string; Step: ComponentType<StepProps> }>;

export type StepTitle = (typeof STEPS)[number]['title'];
