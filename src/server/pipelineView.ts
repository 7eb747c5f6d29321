// `prs run pipeline.yml` on a terminal: one line per node as it starts and ends, the notices, and
// the result naming the failed node, its cause and its log. With --json the last stdout line is the
// summary of contracts.md §2, with `jobs` (each node's status and folder) added.

import path from 'node:path';
import { EXIT } from '../common/exitCodes';
import type { PipelineHandle, PipelineSummary } from '../engine/pipeline/run';
import { jsonSummary } from './jsonSummary';

export async function watchPipeline(handle: PipelineHandle, json: boolean): Promise<number> {
  const out = json ? process.stderr : process.stdout;
  out.write(`Run folder: ${handle.runDir}\n`);
  handle.subscribe((e) => {
    if (e.type === 'notice') process.stderr.write(`notice: ${e.message}\n`);
    else if (e.type === 'node') {
      const s = e.state;
      if (s.status === 'running') out.write(`jobs.${e.node} (${s.type}): running\n`);
      else if (s.status !== 'pending') {
        const took = s.durationS !== undefined ? ` in ${s.durationS.toFixed(1)} s` : '';
        out.write(`jobs.${e.node} (${s.type}): ${s.status}${took}${s.reason ? `: ${s.reason}` : ''}\n`);
      }
    }
  });
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts === 1) {
      out.write('Cancelling: stopping the running nodes (press Ctrl-C again to quit at once)...\n');
      handle.cancel();
    } else process.exit(EXIT.cancelled);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await handle.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  out.write(report(summary));
  if (json) process.stdout.write(JSON.stringify(pipelineJson(summary)) + '\n');
  return summary.exit_code;
}

function report(s: PipelineSummary): string {
  const lines = [`Pipeline ${s.status} in ${s.duration_s.toFixed(1)} s.`];
  if (s.reason && s.status !== 'completed') lines.push(`Cause: ${s.reason}`);
  for (const [name, n] of Object.entries(s.jobs)) {
    if (n.status === 'failed' && n.logFile)
      lines.push(`- jobs.${name}: open ${path.join(s.run_dir, n.logFile)}`);
  }
  if (s.status !== 'completed' && s.status !== 'cancelled')
    lines.push(`To run what did not complete: prs resume ${s.run_dir}`);
  lines.push(`Run folder: ${s.run_dir}`);
  return lines.join('\n') + '\n';
}

/** The job's --json keys, and each node's state under `jobs`. */
function pipelineJson(s: PipelineSummary) {
  return {
    ...jsonSummary(s),
    jobs: Object.fromEntries(
      Object.entries(s.jobs).map(([name, n]) => [
        name,
        {
          type: n.type,
          status: n.status,
          run_dir: path.join(s.run_dir, n.dir),
          ...(n.reason ? { reason: n.reason } : {}),
          ...(n.logFile ? { log_file: path.join(s.run_dir, n.logFile) } : {}),
        },
      ]),
    ),
  };
}
