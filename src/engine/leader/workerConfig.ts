// What a worker is told at init: the spec's runtime, entry script and arguments, and its own
// files in the log tree (which depend on its node and process name).

import path from 'node:path';
import type { WorkerConfig } from '../../common/protocol';
import type { JobSpec } from '../../common/spec';
import { bindOutputArgs } from '../jobOutputs';
import type { RunPaths } from '../logTree';
import { findFlag } from '../spec/passThrough';

export function workerConfig(
  spec: JobSpec,
  paths: RunPaths,
  python: string | undefined,
  name: string,
  nodeId: string,
): WorkerConfig {
  return {
    runtime: spec.runtime,
    entryScript: spec.entry_script,
    sourceDirectory: spec.source_directory,
    python,
    args: bindOutputArgs(spec.arguments, spec.outputs, paths.outputsDir),
    nodeId,
    processName: name,
    loggingLevel: spec.logging_level,
    outputAction: spec.output_action,
    logDir: paths.entryLogDir(nodeId),
    entryLogFile: paths.entryLog(nodeId, name),
    errorLogFile: path.join(paths.userErrorDir(nodeId), `${name}.txt`),
    metricsFile: path.join(paths.metricsDir(nodeId), `${name}.jsonl`),
    outputDir: paths.outputsDir,
    profileFile: spec.profiling_module ? paths.profile(nodeId, name) : undefined,
    profilingModule: spec.profiling_module,
    models: spec.models,
    dataframeHeader: /^true$/i.test(findFlag(spec.arguments, 'append_row_dataframe_header')?.value ?? ''),
  };
}
