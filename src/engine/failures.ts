// Failures, grouped: what job_error.txt, job_result.txt and the app's diagnosis panel say. Memory
// stays bounded whatever the number of failures: a count per kind of error and the first example.

import type { AttemptStatus, Finding } from '../common/events';
import type { ErrorInfo } from '../common/protocol';
import type { CpuUse } from './monitor/treeCpu';

export interface FailureExample {
  miniBatchId: number;
  attempt: number;
  process: string;
  status: AttemptStatus;
  error: ErrorInfo;
  elapsedS: number;
  cpuS: number;
  /** A timeout's CPU use, read from /proc at the kill; null where it could not be read. */
  cpu?: CpuUse | null;
  /** Relative to the run folder. */
  logFile: string;
}

interface Group {
  key: string;
  count: number;
  first: FailureExample;
}

const MAX_GROUPS = 100;

export class FailureLog {
  private readonly groups = new Map<string, Group>();
  private overflow = 0;
  first: FailureExample | null = null;

  record(example: FailureExample): void {
    this.first ??= example;
    // Numbers (ids, counts, file names) vary between occurrences of one error: group without them.
    const key = `${example.status}|${example.error.type}|${firstLine(example.error.message).replace(/\d+/g, '#')}`;
    const group = this.groups.get(key);
    if (group) group.count++;
    else if (this.groups.size < MAX_GROUPS) this.groups.set(key, { key, count: 1, first: example });
    else this.overflow++;
  }

  get size(): number {
    return this.groups.size;
  }

  /** job_error.txt: errors by type with counts and one full traceback each. */
  jobErrorText(): string {
    if (this.groups.size === 0) return 'No errors were raised by the entry script.\n';
    const groups = [...this.groups.values()].sort((a, b) => b.count - a.count);
    const parts = groups.map((g) => {
      const e = g.first;
      return (
        `${e.error.type}: ${firstLine(e.error.message)}\n` +
        `  count: ${g.count} attempt(s)\n` +
        `  first seen: mini-batch ${e.miniBatchId} attempt ${e.attempt} on ${e.process} (log: ${e.logFile})\n` +
        indent(e.error.traceback ?? `${e.error.type}: ${e.error.message}`) +
        '\n'
      );
    });
    if (this.overflow > 0) parts.push(`... and ${this.overflow} more failed attempt(s) of other kinds.\n`);
    return parts.join('\n');
  }

  /** One finding per kind of failure, with the reference's remedy. */
  findings(timeoutS: number): Finding[] {
    return [...this.groups.values()].map((g) => toFinding(g.first, g.count, timeoutS));
  }
}

function toFinding(e: FailureExample, count: number, timeoutS: number): Finding {
  const base = {
    miniBatchId: e.miniBatchId,
    process: e.process,
    logFile: e.logFile,
    traceback: e.error.traceback,
    count,
  };
  switch (e.status) {
    case 'timeout': {
      const { text, waiting } = timeoutCpuText(e.cpu ?? null);
      return {
        ...base,
        kind: 'timeout',
        title: `run() exceeded run_invocation_timeout (${timeoutS} s) ${count} time(s)`,
        detail: `Mini-batch ${e.miniBatchId} was stopped after ${timeoutS} s on ${e.process}. ${text}`,
        remedy: waiting
          ? 'Look for slow file, network or remote calls in run(); raise run_invocation_timeout, or make mini_batch_size smaller.'
          : 'Raise run_invocation_timeout, or make mini_batch_size smaller so each run() does less; balance slow inputs across mini-batches.',
      };
    }
    case 'crashed':
      return {
        ...base,
        kind: 'crash',
        title: `A worker process died while running a mini-batch (${count} time(s))`,
        detail: `${e.process} stopped during mini-batch ${e.miniBatchId}: ${e.error.message.replace(/\.$/, '')}. It was replaced by a new process and the attempt counted as failed.`,
        remedy:
          'Look at the end of the process stderr log for the cause. Set PYTHONFAULTHANDLER (Parallel Run Studio sets it) to get a trace of hard crashes in native code.',
      };
    default:
      if (e.error.type === 'ReturnValueError') {
        return {
          ...base,
          kind: 'return-value',
          title: `run() broke the return-value contract (${count} time(s))`,
          detail: e.error.message,
          remedy: 'Return a list (or DataFrame) with one element per input that succeeded; never None.',
        };
      }
      if (e.error.type === 'InputDataError' || NOT_UTF8.test(e.error.message)) {
        // "<file> line <n>: what is wrong" (Python) or "<file>: byte <n>: ..." (Node): the runtime
        // found the record in the file.
        const at = /^(.+?)(?: line |: byte )(\d+)/.exec(e.error.message);
        const where = at
          ? `${at[1]} ${e.error.message.includes(`${at[1]} line`) ? 'line' : 'byte'} ${at[2]}`
          : 'the file named';
        return {
          ...base,
          kind: 'exception',
          title: `An input record cannot be read (${count} time(s))`,
          detail: `${firstLine(e.error.message)} (mini-batch ${e.miniBatchId}, attempt ${e.attempt}, ${e.process}).`,
          remedy:
            (NOT_UTF8.test(e.error.message)
              ? `The input is not UTF-8 text (at ${where}): set the input's encoding (latin1 or windows1252) to what the file is written in, or convert it to UTF-8; `
              : `The input data is at fault, not the entry script: fix or drop the bad record in ${where}; `) +
            'then re-run the failed mini-batches with `prs resume --retry-failed`.',
        };
      }
      if (e.error.type === 'InputReadError') {
        return {
          ...base,
          kind: 'exception',
          title: `A mini-batch's input cannot be read (${count} time(s))`,
          detail: `${firstLine(e.error.message)} (attempt ${e.attempt}, ${e.process}); run() was not called.`,
          remedy:
            'Check the input file named: it must exist, be readable and keep its content while the run lasts; then `prs resume --retry-failed`.',
        };
      }
      return {
        ...base,
        kind: 'exception',
        title: `run() raised ${e.error.type} (${count} time(s))`,
        detail: `${e.error.type}: ${firstLine(e.error.message)} (first in mini-batch ${e.miniBatchId}, attempt ${e.attempt}, ${e.process}).`,
        remedy:
          'Fix the entry script using the traceback; the failing mini-batch can be re-run with `prs resume --retry-failed`.',
      };
  }
}

/**
 * Busy or waiting, from the CPU use of the worker's process tree read at the kill. Time spent
 * runnable but without a CPU (a loaded machine) is computing too: the code wanted nothing else.
 */
function timeoutCpuText(use: CpuUse | null): { text: string; waiting: boolean } {
  if (use === null || use.windowS <= 0)
    return {
      text: 'Its CPU time could not be read on this system, so whether run() was computing or waiting is not known.',
      waiting: false,
    };
  const cpu = `CPU time ${use.cpuS.toFixed(1)} s of ${use.windowS.toFixed(1)} s`;
  const tree = '(its process and the subprocesses it started)';
  const queued = use.runQueueS >= 0.1 * use.windowS;
  if (use.cpuS + use.runQueueS < 0.3 * use.windowS)
    return {
      text: `run() was mostly waiting, on I/O, the network or a lock: ${cpu} ${tree}.`,
      waiting: true,
    };
  return {
    text:
      `run() was busy computing: ${cpu} ${tree}` +
      (queued
        ? `, and ${use.runQueueS.toFixed(1)} s more ready to run but waiting for a CPU the machine's other processes held`
        : '') +
      '.',
    waiting: false,
  };
}

/** The runtimes' words for bytes that are not UTF-8 text. */
const NOT_UTF8 = /not valid UTF-8/;

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? line.slice(0, 300) + '…' : line;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => '    ' + l)
    .join('\n');
}
