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
  const { dialogs, request, setError } = useStore.getState();
  const native = dialogs();
  if (!native) return;
  const ext = what.endsWith('zip') ? 'zip' : what.slice('output-'.length);
  const dest = await native.save({
    title: EXPORT_LABELS[what],
    filters: [{ name: ext, extensions: [ext] }],
  });
  if (!dest) return;
  try {
    // The dialog already asked about replacing an existing file.
    await request('exportRun', { runDir, what, dest, overwrite: true });
  } catch (err) {
    setError(err instanceof Error ? err.message : String(err));
  }
}

async function download(runDir: string, what: ExportWhat): Promise<void> {
  const { download: streamed, setError } = useStore.getState();
  try {
    await streamed()?.(runDir, what);
  } catch (err) {
    setError(err instanceof Error ? err.message : String(err));
  }
}

export function ExportMenu({ runDir, kinds }: { runDir: string; kinds: ExportWhat[] }) {
  const save = useStore.getState().download() ? download : saveThroughDialog;
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
