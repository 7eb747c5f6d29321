// A pipeline run folder read back for the app's pipeline view: pipeline.json, which the engine
// rewrites at every node's start and end, so a view that reads it again sees the live state.

import path from 'node:path';
import type { PipelineSnapshot } from '../common/api';
import { readPipelineRecord } from '../engine/pipeline/run';

export async function readPipelineSnapshot(runDir: string): Promise<PipelineSnapshot> {
  const abs = path.resolve(runDir);
  const record = await readPipelineRecord(abs);
  const time = (iso?: string) => (iso ? new Date(iso).getTime() : null);
  return {
    runDir: abs,
    name: record.name,
    status: record.summary?.status ?? 'running',
    startedAt: new Date(record.startedAt).getTime(),
    durationS: record.summary?.duration_s ?? null,
    reason: record.summary?.reason ?? null,
    notices: record.pipeline.notices ?? [],
    nodes: record.pipeline.nodes.map((n) => {
      const s = record.nodes[n.name];
      return {
        name: n.name,
        type: n.type,
        status: s?.status ?? 'pending',
        dependsOn: n.dependsOn,
        runDir: path.join(abs, s?.dir ?? `jobs/${n.name}`),
        startedAt: time(s?.startedAt),
        durationS: s?.durationS ?? null,
        reason: s?.reason ?? null,
        logFile: s?.logFile ? path.join(abs, s.logFile) : null,
        miniBatches: s?.mini_batches ?? null,
      };
    }),
  };
}
