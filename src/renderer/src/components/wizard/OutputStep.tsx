// The Output step: what the job writes (rows appended to one file, or a summary only) and whether
// an unchanged job reuses its last results.

import { OUTPUT_ACTIONS, SPEC_DEFAULTS } from '../../../../common/specSchema';
import { SelectField, shown } from './fields';
import { SpecField } from './SpecField';
import type { StepProps } from './stepProps';

export function OutputStep(p: StepProps) {
  const { draft, set } = p;
  return (
    <>
      <SelectField
        name="output_action"
        label="Output action"
        value={shown(draft.output_action)}
        options={['', ...OUTPUT_ACTIONS]}
        onChange={(v) => set('output_action', v || undefined)}
      />
      <SpecField
        form={p}
        name="append_row_file_name"
        label="Output file name"
        placeholder={SPEC_DEFAULTS.append_row_file_name}
      />
      <SelectField
        name="allow_reuse"
        label="Reuse the last results of an unchanged job (allow_reuse)"
        value={shown(draft.allow_reuse)}
        options={['', 'true', 'false']}
        onChange={(v) => set('allow_reuse', v === '' ? undefined : v === 'true')}
      />
    </>
  );
}
