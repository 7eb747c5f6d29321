// One mini-batch as the log tree tells it: per attempt, what it was given (its files, or the byte
// ranges and rows of a table) and links to its lines in the process log, the process's stdout and
// its EntryScript log.

import { useEffect, useState } from 'react';
import type { MiniBatchLogs as Logs } from '../../../common/api';
import type { BatchInputs } from '../../../common/batchInputs';
import { useStore } from '../store';

export interface LogTarget {
  file: string;
  at?: number;
  /** The mini-batch whose lines to mark in it. */
  batch?: number;
}

export function MiniBatchLogs({
  runDir,
  miniBatchId,
  onOpen,
}: {
  runDir: string;
  miniBatchId: number;
  onOpen: (t: LogTarget) => void;
}) {
  const [logs, setLogs] = useState<Logs | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setLogs(null);
    setError(null);
    useStore
      .getState()
      .request('miniBatchLogs', { runDir, miniBatchId })
      .then(setLogs)
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, [runDir, miniBatchId]);
  if (error) return <p className="bad-text">{error}</p>;
  if (!logs) return <p className="muted">Reading the process logs…</p>;
  if (logs.attempts.length === 0)
    return <p className="muted">No process log names mini-batch {miniBatchId} yet.</p>;
  return (
    <div className="mb-logs" data-testid="mini-batch-logs">
      {logs.attempts.map((a) => {
        const first = a.lines[0];
        return (
          <div key={a.attempt} className="attempt" data-testid={`mb-attempt-${a.attempt}`}>
            <div>
              <strong>Attempt {a.attempt}</strong> · {a.process} · node {a.nodeId}
            </div>
            <Inputs inputs={a.inputs} />
            <div className="links">
              <button
                className="small"
                data-testid="mb-process-log"
                onClick={() => onOpen({ file: a.logPath, at: first?.offset, batch: miniBatchId })}
              >
                {a.logPath.split('/').pop()}, line{a.lines.length === 1 ? '' : 's'}{' '}
                {a.lines.map((l) => l.line + 1).join(', ')}
              </button>
              <button
                className="small"
                onClick={() => onOpen({ file: `logs/user/stdout/${a.nodeId}/${a.process}.stdout.txt` })}
              >
                stdout
              </button>
              <button
                className="small"
                onClick={() => onOpen({ file: `logs/user/stderr/${a.nodeId}/${a.process}.stderr.txt` })}
              >
                stderr
              </button>
              <button
                className="small"
                onClick={() =>
                  onOpen({ file: `logs/user/entry_script_log/${a.nodeId}/${a.process}.log.txt` })
                }
              >
                entry_script_log
              </button>
            </div>
          </div>
        );
      })}
    </div>
  );
}

function Inputs({ inputs }: { inputs: BatchInputs | null }) {
  if (!inputs) return <p className="muted">Its inputs are not recorded in this run's process log.</p>;
  return (
    <div className="mb-inputs" data-testid="mb-inputs">
      <div className="muted">
        {inputs.items} item{inputs.items === 1 ? '' : 's'}
        {inputs.partition &&
          ` · partition ${Object.entries(inputs.partition)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`}
      </div>
      {inputs.files && (
        <ul>
          {inputs.files.map((f) => (
            <li key={f}>
              <code>{f}</code>
            </li>
          ))}
        </ul>
      )}
      {inputs.tables && (
        <ul>
          {inputs.tables.map((t, i) => (
            <li key={i}>
              <code>{t.file}</code>
              {t.bytes && ` bytes ${t.bytes.map(([s, e]) => `${s}–${e}`).join(', ')}`}
              {t.lines && ` (lines ${t.lines.map(([s, e]) => `${s}–${e}`).join(', ')})`}
              {t.rowGroups && ` row group${t.rowGroups.length === 1 ? '' : 's'} ${t.rowGroups.join(', ')}`}
              {inputs.tables!.length === 1 && ` (${inputs.items} row${inputs.items === 1 ? '' : 's'})`}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
