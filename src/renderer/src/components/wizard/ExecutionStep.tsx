// The Execution step: nodes, processes and GPUs, the timeout and retries, what failures are
// tolerated, and the logging and monitoring of a run.

import { LOGGING_LEVELS, SPEC_DEFAULTS } from '../../../../common/specSchema';
import { Devices } from './Devices';
import { SelectField, shown } from './fields';
import { SpecField } from './SpecField';
import type { StepProps } from './stepProps';

export function ExecutionStep(p: StepProps) {
  const field = (name: string, label: string, placeholder: string | number) => (
    <SpecField form={p} name={name} label={label} placeholder={String(placeholder)} />
  );
  return (
    <>
      <Devices />
      {field(
        'node_count',
        'Nodes (more than 1 without a cluster: simulated on this machine)',
        SPEC_DEFAULTS.node_count,
      )}
      {field('process_count_per_node', 'Processes per node', 'auto')}
      {field('gpus', 'GPUs workers may take (auto, none, or indexes: 0,1)', 'auto')}
      {field('run_invocation_timeout', 'Timeout per mini-batch (s)', SPEC_DEFAULTS.run_invocation_timeout)}
      {field('run_max_try', 'Attempts per mini-batch', SPEC_DEFAULTS.run_max_try)}
      {field('error_threshold', 'Failed items tolerated (-1: all)', SPEC_DEFAULTS.error_threshold)}
      {field(
        'allowed_failed_count',
        'Failed mini-batches tolerated (-1: all)',
        SPEC_DEFAULTS.allowed_failed_count,
      )}
      {field(
        'allowed_failed_percent',
        'Failed mini-batches tolerated (%)',
        SPEC_DEFAULTS.allowed_failed_percent,
      )}
      <SelectField
        name="logging_level"
        label="Logging level"
        value={shown(p.draft.logging_level)}
        options={['', ...LOGGING_LEVELS]}
        onChange={(v) => p.set('logging_level', v || undefined)}
      />
      {field(
        'resource_monitor_interval',
        'Seconds between resource snapshots (0: off)',
        SPEC_DEFAULTS.resource_monitor_interval,
      )}
      {field('profiling_module', 'Profiling module (e.g. cProfile)', 'none')}
    </>
  );
}
