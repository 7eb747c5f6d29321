// Choosing files and folders: Electron's native dialog where there is one; in the browser host the
// server's own file browser (a web page cannot see the user's file system, the server can).

import { useEffect, useState } from 'react';
import { formatBytes, type DirListing } from '../../../common/api';
import { useStore } from '../store';

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
  const go = (p?: string) => {
    const client = useStore.getState().client;
    if (!client) return;
    client
      .call('listDir', { path: p })
      .then((l) => {
        setListing(l);
        setError(null);
      })
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  };
  useEffect(() => go(start), [start]);
  return (
    <div className="modal" role="dialog" aria-label="Choose a path" data-testid="file-browser">
      <div className="modal-body file-browser">
        <div className="section-head">
          <strong>{kind === 'dir' ? 'Choose a folder' : 'Choose a file'}</strong>
          <input
            aria-label="Folder"
            value={listing?.path ?? ''}
            onChange={(e) => setListing(listing && { ...listing, path: e.target.value })}
            onKeyDown={(e) => e.key === 'Enter' && go((e.target as HTMLInputElement).value)}
          />
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
          {listing?.entries.map((e) => (
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
      </div>
    </div>
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
  const client = useStore((s) => s.client);
  const abs = value && base ? base.toAbs(value) : value;
  const pick = (p: string) => onChange(base ? base.toValue(p) : p);
  const browse = async () => {
    if (client?.dialogs) {
      const p = await client.dialogs.open({
        title: label,
        directory: kind === 'dir',
        defaultPath: abs || base?.dir || undefined,
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
          start={abs ? (kind === 'dir' ? abs : dirOf(abs)) : base?.dir}
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
