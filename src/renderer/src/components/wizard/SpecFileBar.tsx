// The spec file the wizard edits, and one Open / Save / Save as… flow for it: Electron's own
// dialogs where there are some; in the browser a small dialog with a path to type or browse to.

import { useState } from 'react';
import { useStore } from '../../store';
import { PathField } from '../FileBrowser';

type Mode = 'open' | 'save';

function SpecFileDialog({
  mode,
  start,
  onDone,
  onClose,
}: {
  mode: Mode;
  start: string;
  onDone(path: string): void;
  onClose(): void;
}) {
  const [p, setP] = useState(start);
  const verb = mode === 'open' ? 'Open' : 'Save';
  return (
    <div className="modal" role="dialog" aria-label={`${verb} a spec file`} data-testid="spec-file-dialog">
      <form
        className="modal-body spec-file-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (p.trim()) onDone(p.trim());
        }}
      >
        <strong>
          {mode === 'open'
            ? 'Open a job spec (.yaml, .json) or an Azure ML v2 parallel job'
            : 'Save the job spec as (.yaml or .json)'}
        </strong>
        <PathField label="Spec file" value={p} onChange={setP} kind="file" testId="spec-file-path" />
        <div className="row">
          <button type="submit" className="primary" data-testid="spec-file-ok" disabled={!p.trim()}>
            {verb}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

export function SpecFileBar({
  specPath,
  specDir,
  suggestedName,
  dirty,
  notice,
  onOpen,
  onSave,
  onSaveAs,
}: {
  /** '' for a job not saved yet. */
  specPath: string;
  specDir: string;
  suggestedName: string;
  dirty: boolean;
  notice: string | null;
  onOpen(path: string): void;
  onSave(): void;
  onSaveAs(path: string): void;
}) {
  const [dialog, setDialog] = useState<Mode | null>(null);
  const ask = async (mode: Mode) => {
    const dialogs = useStore.getState().dialogs();
    if (!dialogs) return setDialog(mode);
    const filters = [{ name: 'Job spec', extensions: ['yaml', 'yml', 'json'] }];
    const defaultPath = mode === 'open' ? specDir : specPath || `${specDir}/${suggestedName}`;
    const p =
      mode === 'open'
        ? await dialogs.open({ title: 'Open a job spec', defaultPath, filters })
        : await dialogs.save({ title: 'Save the job spec as', defaultPath, filters });
    if (p) (mode === 'open' ? onOpen : onSaveAs)(p);
  };
  const start =
    dialog === 'save'
      ? specPath || `${specDir === '/' ? '' : specDir}/${suggestedName}`
      : `${specDir === '/' ? '' : specDir}/`;
  return (
    <section className="wizard-files">
      <div className="row">
        <span data-testid="spec-file" data-spec-path={specPath} className="spec-file">
          {specPath ? (
            <>
              Spec file: <code>{specPath}</code>
              {dirty && <span className="muted"> (changed, not saved)</span>}
            </>
          ) : (
            <span className="muted">A new job, not saved yet: Save as… chooses its folder.</span>
          )}
        </span>
        <button data-testid="wizard-open" onClick={() => void ask('open')}>
          Open…
        </button>
        <button data-testid="wizard-save" onClick={() => (specPath ? onSave() : void ask('save'))}>
          Save
        </button>
        <button data-testid="wizard-save-as" onClick={() => void ask('save')}>
          Save as…
        </button>
      </div>
      {notice && (
        <p className="notice" data-testid="wizard-notice">
          {notice}
        </p>
      )}
      {dialog && (
        <SpecFileDialog
          mode={dialog}
          start={start}
          onClose={() => setDialog(null)}
          onDone={(p) => {
            setDialog(null);
            (dialog === 'open' ? onOpen : onSaveAs)(p);
          }}
        />
      )}
    </section>
  );
}
