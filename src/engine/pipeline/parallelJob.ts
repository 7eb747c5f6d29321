// A parallel node as the v2 parallel job document the parallel-job loader (spec/azuremlV2.ts)
// reads: its inputs bound to paths and values, its outputs as folders or files of its own run folder.
// Built twice: at load with stand-in paths (shape problems found before anything runs), and when
// the node starts, with the real paths of the outputs it reads.

import type { Binding, NodeOutput, ParallelNode } from './types';
import { slug } from '../spec/azuremlV2';

/** Input types the parallel-job loader knows; `path` (an older spelling) is a folder. */
const LOADER_INPUT_TYPES = [
  'uri_folder',
  'uri_file',
  'mltable',
  'custom_model',
  'mlflow_model',
  'triton_model',
];

export function parallelJobDoc(
  node: Pick<ParallelNode, 'name' | 'job' | 'inputs' | 'outputs'>,
  outputPath: (b: Extract<Binding, { kind: 'output' }>) => string,
): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [name, b] of Object.entries(node.inputs)) {
    if (b.kind === 'literal') inputs[name] = b.value;
    else {
      const type = LOADER_INPUT_TYPES.includes(b.type) ? b.type : 'uri_folder';
      inputs[name] = { type, path: b.kind === 'path' ? b.path : outputPath(b) };
    }
  }
  const outputs: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(node.outputs)) outputs[name] = outputDoc(name, o);
  return { ...node.job, type: 'parallel', name: jobName(node.name), inputs, outputs };
}

/** The loader puts an output at outputs/<name>, or for a uri_file at outputs/<the file name it is given>. */
function outputDoc(name: string, o: NodeOutput): Record<string, unknown> {
  const type = o.kind === 'file' ? 'uri_file' : o.type === 'mltable' ? 'mltable' : 'uri_folder';
  const file = o.rel.replace(/^outputs\//, '');
  return o.kind === 'file' && file !== name ? { type, path: file } : { type };
}

/** Node names may hold underscores; job names may not (contracts.md §1). */
export function jobName(node: string): string {
  const s = slug(node);
  return s.length >= 3 ? s : `job-${s || 'node'}`.slice(0, 32);
}
