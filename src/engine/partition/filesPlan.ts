// Mini-batches of file inputs: `mini_batch_size` files each, in walk order, inputs concatenated
// (a mini-batch may hold the last files of one input and the first of the next); or, with
// partition_keys, one mini-batch per distinct combination of the keys' values taken from each
// file's path through its input's partition_format.

import type { MiniBatch, PartitionKeyValue } from '../../common/minibatch';
import type { JobSpec } from '../../common/spec';
import { PartitionError, throwIfAborted } from './errors';
import { compilePartitionFormat } from './partitionFormat';
import { hasRawBytes } from '../../runtime/rawNames';
import { type InputFile, walkInput } from './walk';

export type PlannedBatch = Omit<MiniBatch, 'id'>;

/** Stats this many files at once: enough to hide latency, few enough not to flood the disk. */

export async function* planFileBatches(spec: JobSpec, signal?: AbortSignal): AsyncGenerator<PlannedBatch> {
  const keys = spec.partition_keys ?? [];
  if (keys.length > 0) {
    yield* planPartitionedFiles(spec, keys, signal);
    return;
  }
  const size = Math.max(1, Math.floor(spec.mini_batch_size));
  let files: string[] = [];
  for (const input of spec.inputs) {
    for await (const f of walkInput(input, signal)) {
      checkRepresentable(spec, f);
      files.push(f.abs);
      if (files.length >= size) {
        yield await filesBatch(files, undefined, signal);
        files = [];
      }
    }
  }
  if (files.length > 0) yield await filesBatch(files, undefined, signal);
}

/**
 * Grouping by key needs a full pass: a key's files can be anywhere in the order, so no group is
 * known to be complete before the last file has been seen. Memory is one path per file, which the
 * mini-batches themselves must list anyway.
 *
 * A file whose path does not match its input's partition_format is an error (not skipped with a
 * warning): silently leaving files out of a job is worse than stopping it, and `pattern` is the
 * way to leave files out on purpose. Groups come out in the order of their first file.
 */
async function* planPartitionedFiles(
  spec: JobSpec,
  keys: string[],
  signal?: AbortSignal,
): AsyncGenerator<PlannedBatch> {
  const groups = new Map<string, { values: PartitionKeyValue; files: string[] }>();
  for (const input of spec.inputs) {
    if (!input.partition_format) {
      throw new PartitionError(
        `partition_keys [${keys.join(', ')}] need a partition_format on every file input (expected e.g. partition_format: "{${keys[0]}}/*")`,
        { file: input.path },
      );
    }
    const format = compilePartitionFormat(input.partition_format);
    const missing = keys.filter((k) => !format.names.includes(k));
    if (missing.length > 0) {
      throw new PartitionError(
        `partition key${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not in partition_format "${format.text}" (its names: ${format.names.join(', ') || 'none'})`,
        { file: input.path },
      );
    }
    for await (const f of walkInput(input, signal)) {
      checkRepresentable(spec, f);
      const found = format.match(f.rel);
      if (!found) {
        throw new PartitionError(
          `path "${f.rel}" (relative to the input) does not match partition_format "${format.text}" (use the input's pattern to leave such files out)`,
          { file: f.abs },
        );
      }
      const values: PartitionKeyValue = {};
      for (const k of keys) values[k] = found[k];
      const id = JSON.stringify(keys.map((k) => values[k]));
      let group = groups.get(id);
      if (!group) groups.set(id, (group = { values, files: [] }));
      group.files.push(f.abs);
    }
  }
  for (const group of groups.values()) {
    yield await filesBatch(group.files, group.values, signal);
  }
}

/**
 * A file name that is not UTF-8 reaches a Python run() intact (see rawNames.ts), but a Node run()
 * gets JavaScript strings, which cannot name it: fs would open another name. Say so now, not as a
 * "no such file" from inside run().
 */
function checkRepresentable(spec: JobSpec, f: InputFile): void {
  if (spec.runtime === 'node' && hasRawBytes(f.abs)) {
    throw new PartitionError(
      'the file name is not valid UTF-8, and the Node runtime passes run() file names as strings, which cannot hold it ' +
        "(expected UTF-8 names: rename the file, leave it out with the input's pattern, or use a Python entry script)",
      { file: f.abs },
    );
  }
}

async function filesBatch(
  files: string[],
  key: PartitionKeyValue | undefined,
  signal?: AbortSignal,
): Promise<PlannedBatch> {
  throwIfAborted(signal);
  // No stat per file: sizes would cost the leader a system call per input file (a third of its
  // time on 20,000 one-file mini-batches) and nothing is scheduled by them. A file that vanished
  // or is not readable is reported by the worker that opens it, naming the file.
  const batch: PlannedBatch = { items: files.length, bytes: 0, sources: [{ kind: 'files', files }] };
  if (key) batch.partition_key_value = key;
  return batch;
}
