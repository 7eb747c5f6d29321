// The Partitioning step: how big a mini-batch is, the keys that group rows or files into one, and
// what the inputs make with them.

import { SPEC_DEFAULTS } from '../../../../common/specSchema';
import type { Draft } from './fields';
import { InputFacts, PartitionKeys } from './InputFacts';
import { SpecField } from './SpecField';
import type { StepProps } from './stepProps';

export function PartitioningStep(p: StepProps) {
  const { draft, set, errors, specDir } = p;
  const firstInput = (Array.isArray(draft.inputs) ? draft.inputs[0] : undefined) as Draft | undefined;
  const tabular = firstInput?.type === 'tabular';
  return (
    <>
      <SpecField
        form={p}
        name="mini_batch_size"
        label={tabular ? 'Mini-batch size (bytes, e.g. 1MB)' : 'Mini-batch size (files)'}
        placeholder={String(
          tabular ? SPEC_DEFAULTS.mini_batch_size_tabular : SPEC_DEFAULTS.mini_batch_size_files,
        )}
      />
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
  );
}
