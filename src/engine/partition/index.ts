// Planning: a job spec's inputs become mini-batch descriptors, produced lazily and in a
// deterministic order (the same spec over the same input gives the same plan, ids included: a
// resumed run relies on it). See filesPlan.ts and tabularPlan.ts for the two input types.

import type { MiniBatch } from '../../common/minibatch';
import type { JobSpec } from '../../common/spec';
import { throwIfAborted } from './errors';
import { planFileBatches } from './filesPlan';
import { planTableBatches } from './tabularPlan';

export { PartitionError } from './errors';
export { compilePartitionFormat, type PartitionFormat } from './partitionFormat';
export { walkInput, type InputFile } from './walk';

/**
 * Yields the plan's mini-batches with ids 0, 1, 2, ... . Errors the input causes throw
 * PartitionError naming the file, line or byte offset, and what was expected. Aborting the signal
 * stops the walk at the next file or chunk; returning from the iteration closes open files.
 */
export async function* planMiniBatches(
  spec: JobSpec,
  options: { signal?: AbortSignal } = {},
): AsyncGenerator<MiniBatch> {
  const { signal } = options;
  const planned =
    spec.input_type === 'tabular' ? planTableBatches(spec, signal) : planFileBatches(spec, signal);
  let id = 0;
  for await (const batch of planned) {
    throwIfAborted(signal);
    yield { id: id++, ...batch };
  }
}
