// The wizard's steps, in order: each is one component that takes the same props (stepProps.ts).

import type { ComponentType } from 'react';
import { EntryScriptStep } from './EntryScriptStep';
import { EnvironmentStep } from './EnvironmentStep';
import { ExecutionStep } from './ExecutionStep';
import { InputsStep } from './InputsStep';
import { OutputStep } from './OutputStep';
import { PartitioningStep } from './PartitioningStep';
import { Review } from './Review';
import type { StepProps } from './stepProps';

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
