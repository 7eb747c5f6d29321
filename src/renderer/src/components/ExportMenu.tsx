// Exports of a run: a download in the browser host (the server streams it, behind a single-use
// ticket), a native save dialog in Electron (the host writes the file).

import type { ExportWhat } from '../../../common/api';
import { useStore } from '../store';

export const EXPORT_LABELS: Record<ExportWhat, string> = {
  'output-csv': 'Export CSV',
  'output-jsonl': 'Export JSON Lines',
  'output-parquet': 'Export Parquet',
  'logs-zip': 'Logs as zip',
  'run-zip': 'Run folder as zip',
};

async function saveThroughDialog(runDir: string, what: ExportWhat): Promise<void> {
  const { client, setError } = useStore.getState();
  if (!client?.dialogs) return;
  const ext = what.endsWith('zip') ? 'zip' : what.slice('output-'.length);
  const dest = await client.dialogs.save({
    title: EXPORT_LABELS[what],
    filters: [{ name: ext, extensions: [ext] }],
  });
  if (!dest) return;
  try {
    // The dialog already asked about replacing an existing file.
    await client.call('exportRun', { runDir, what, dest, overwrite: true });
  } catch (err) {
    setError(err instanceof Error ? err.message : String(err));
  }
}

async function download(runDir: string, what: ExportWhat): Promise<void> {
  const { client, setError } = useStore.getState();
  try {
    await client?.download?.(runDir, what);
  } catch (err) {
    setError(err instanceof Error ? err.message : String(err));
  }
}

export function ExportMenu({ runDir, kinds }: { runDir: string; kinds: ExportWhat[] }) {
  const client = useStore((s) => s.client);
  if (!client) return null;
  const save = client.download ? download : saveThroughDialog;
  return (
    <span className="export-menu">
      {kinds.map((what) => (
        <button key={what} data-testid={`export-${what}`} onClick={() => void save(runDir, what)}>
          {EXPORT_LABELS[what]}
        </button>
      ))}
    </span>
  );
}
