// A log file of the run folder, read by byte range: the start of the file (or the offset where an
// attempt began) and more on demand, so a 1 GB log never loads whole.

import { useEffect, useState } from 'react';
import { formatBytes, type LogChunk } from '../../../common/api';
import { useStore } from '../store';
import { Modal } from './Modal';

export interface LogRef {
  path: string;
  start?: number;
}

const CHUNK = 256 * 1024;

export function LogViewer({ runDir, log, onClose }: { runDir: string; log: LogRef; onClose: () => void }) {
  const [chunks, setChunks] = useState<LogChunk[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = async (start: number) => {
    const client = useStore.getState().client;
    if (!client) return;
    try {
      const c = await client.call('readLog', { runDir, path: log.path, start, end: start + CHUNK });
      setChunks((prev) => [...prev, c]);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  useEffect(() => {
    setChunks([]);
    setError(null);
    void load(log.start ?? 0);
  }, [runDir, log.path, log.start]);
  const last = chunks[chunks.length - 1];
  return (
    <Modal label={`Log ${log.path}`} onClose={onClose} testId="log-viewer">
      <div className="section-head">
        <h3>{log.path}</h3>
        {last && (
          <span className="muted">
            bytes {chunks[0].start}–{last.end} of {formatBytes(last.size)}
          </span>
        )}
        <button onClick={onClose}>Close</button>
      </div>
      {error && <p className="bad-text">{error}</p>}
      <pre className="log-text" data-testid="log-text">
        {chunks.map((c) => c.data).join('')}
      </pre>
      {last && last.end < last.size && <button onClick={() => void load(last.end)}>Load more</button>}
    </Modal>
  );
}
