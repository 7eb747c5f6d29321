// The nodes' supervision files of the log tree: each node's _main.txt (workers started, exited,
// starts stopped) and each worker's processNNN.txt (init, every attempt's inputs and outcome). The
// leader writes them for every node, local or remote, from what the pools report.

import { batchStartText } from '../../common/batchInputs';
import type { WorkerInfo } from '../../common/events';
import type { AttemptRow } from '../journal';
import { LogFile, logTime, type RunPaths } from '../logTree';
import type { AttemptOrder } from './nodePool';
import { attemptLine } from './reports';

interface WorkerLog {
  pid: number | undefined;
  sysLog: LogFile;
}

export class NodeLogs {
  private readonly mains = new Map<string, LogFile>();
  private readonly workers = new Map<string, WorkerLog>();

  constructor(
    private readonly paths: RunPaths,
    nodeIds: string[],
  ) {
    for (const id of nodeIds) this.mains.set(id, new LogFile(paths.mainTxt(id)));
  }

  started(nodeId: string, info: WorkerInfo): void {
    const sysLog = new LogFile(this.paths.processSysTxt(nodeId, info.name));
    this.workers.set(info.name, { pid: info.pid, sysLog });
    const gpu = info.gpu;
    this.note(
      nodeId,
      `${info.name} starts with pid ${info.pid ?? '?'}` +
        (gpu !== null ? `, CUDA_VISIBLE_DEVICES=${gpu}` : '') +
        '.',
    );
    sysLog.write(
      `${logTime()} ${info.name} pid ${info.pid ?? '?'} ip 127.0.0.1 node ${nodeId}` +
        (gpu !== null ? ` CUDA_VISIBLE_DEVICES=${gpu}` : ' (no GPU)') +
        '\n',
    );
  }

  ready(worker: string, initMs: number): void {
    this.workers
      .get(worker)
      ?.sysLog.write(`${logTime()} init() finished in ${(initMs / 1000).toFixed(3)} s\n`);
  }

  /** What it was given, where its result line will follow: the app's mini-batch view reads both. */
  attemptStarted(worker: string, order: AttemptOrder, at: number): void {
    this.workers.get(worker)?.sysLog.write(`${logTime(at)} ${batchStartText(order.batch, order.attempt)}\n`);
  }

  attemptEnded(row: AttemptRow): void {
    this.workers.get(row.process_name)?.sysLog.write(attemptLine(row));
  }

  exited(nodeId: string, worker: string, returnCode: number, error?: string): void {
    this.note(nodeId, `${worker} exits with returncode ${returnCode}${error ? ` (${error})` : ''}.`);
    void this.workers.get(worker)?.sysLog.close();
  }

  /** A line of the node's _main.txt. */
  note(nodeId: string, line: string): void {
    this.mains.get(nodeId)?.write(`${logTime()} ${line}\n`);
  }

  /** The pid the worker had when it started, for its journal rows. */
  pidOf(worker: string): number | null {
    return this.workers.get(worker)?.pid ?? null;
  }

  async close(): Promise<void> {
    await Promise.all([...this.mains.values()].map((m) => m.close()));
  }
}
