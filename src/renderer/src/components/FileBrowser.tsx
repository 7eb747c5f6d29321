// Choosing files and folders: Electron's native dialog where there is one; in the browser host the
// server's own file browser (a web page cannot see the user's file system, the server can). Both
// start where the field's path is, else in the spec's folder; dot-files show only when asked.

import { useEffect, useState } from 'react';
import type { DirListing } from '../../../common/api';
import { formatBytes } from '../../../common/format';
import { useStore } from '../store';
import { Modal } from './Modal';

export type PickKind = 'file' | 'dir';

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function dirOf(p: string): string {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function FileBrowser({
  start,
  kind,
  onPick,
  onClose,
}: {
  start?: string;
  kind: PickKind;
  onPick(path: string): void;
  onClose(): void;
}) {
  const [listing, setListing] = useState<DirListing | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [hidden, setHidden] = useState(false);
  const go = (p?: string) => {
    useStore
      .getState()
      .request('listDir', { path: p })
      .then((l) => {
        setListing(l);
        setError(null);
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };
  useEffect(() => go(start), [start]);
  return (
    <Modal label="Choose a path" onClose={onClose} className="file-browser" testId="file-browser">
      <div className="section-head">
        <strong>{kind === 'dir' ? 'Choose a folder' : 'Choose a file'}</strong>
        <input
          aria-label="Folder"
          value={listing?.path ?? ''}
          onChange={(e) => setListing(listing && { ...listing, path: e.target.value })}
          onKeyDown={(e) => e.key === 'Enter' && go((e.target as HTMLInputElement).value)}
        />
        <label>
          <input
            type="checkbox"
            data-testid="show-hidden"
            checked={hidden}
            onChange={(e) => setHidden(e.target.checked)}
          />{' '}
          hidden files
        </label>
        <button onClick={onClose}>Close</button>
      </div>
      {error && <p className="bad-text">{error}</p>}
      <ul className="dir-list">
        {listing?.parent && (
          <li>
            <button className="link" onClick={() => go(listing.parent ?? undefined)}>
              ..
            </button>
          </li>
        )}
        {listing?.entries
          .filter((e) => hidden || !e.name.startsWith('.'))
          .map((e) => (
            <li key={e.name} data-testid="dir-entry">
              {e.kind === 'dir' ? (
                <button className="link" onClick={() => go(joinPath(listing.path, e.name))}>
                  {e.name}/
                </button>
              ) : (
                <button
                  className="link"
                  disabled={kind === 'dir'}
                  onClick={() => onPick(joinPath(listing.path, e.name))}
                >
                  {e.name} <span className="muted">{formatBytes(e.size)}</span>
                </button>
              )}
            </li>
          ))}
      </ul>
      {kind === 'dir' && listing && (
        <button className="primary" onClick={() => onPick(listing.path)}>
          Choose this folder
        </button>
      )}
    </Modal>
  );
}

/** A text field with a Browse button: typing always works; browsing fills it in. */
export function PathField({
  label,
  value,
  onChange,
  kind,
  testId,
  error,
  base,
}: {
  label: string;
  value: string;
  onChange(v: string): void;
  kind: PickKind;
  testId: string;
  error?: string | null;
  /**
   * The folder relative values are relative to (the spec's): browsing starts there and a path
   * chosen inside it comes back relative (`./data`), as a spec file holds it.
   */
  base?: { dir: string; toValue(abs: string): string; toAbs(value: string): string };
}) {
  const [browsing, setBrowsing] = useState(false);
  const specDir = useStore((s) => s.specDir);
  const abs = value && base ? base.toAbs(value) : value;
  const pick = (p: string) => onChange(base ? base.toValue(p) : p);
  // Where browsing starts without a path: the field's own folder, else the spec's folder.
  const startDir = base?.dir ?? specDir ?? undefined;
  const browse = async () => {
    const dialogs = useStore.getState().dialogs();
    if (dialogs) {
      const p = await dialogs.open({
        title: label,
        directory: kind === 'dir',
        defaultPath: abs || startDir,
      });
      if (p) pick(p);
    } else setBrowsing(true);
  };
  return (
    <div className="field">
      <label>
        <span>{label}</span>
        <span className="path-input">
          <input
            data-testid={testId}
            aria-label={label}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
          <button type="button" onClick={() => void browse()}>
            Browse…
          </button>
        </span>
      </label>
      {error && (
        <p className="field-error" role="alert" data-testid={`${testId}-error`}>
          {error}
        </p>
      )}
      {browsing && (
        <FileBrowser
          start={abs ? (kind === 'dir' ? abs : dirOf(abs)) : startDir}
          kind={kind}
          onPick={(p) => {
            pick(p);
            setBrowsing(false);
          }}
          onClose={() => setBrowsing(false)}
        />
      )}
    </div>
  );
}
