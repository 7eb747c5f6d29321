// What the entry script's text says (read by the host, never run): its runtime and which of
// init(), run() and shutdown() it defines.

import { useEffect, useState } from 'react';
import type { ScriptInfo } from '../../../../common/api';
import { call, useDebounced } from './fields';

export function ScriptFacts({ path }: { path: string }) {
  const p = useDebounced(path, 300);
  const [info, setInfo] = useState<ScriptInfo | null>(null);
  useEffect(() => {
    if (!p) return setInfo(null);
    let live = true;
    call()
      .call('inspectScript', { path: p })
      .then((r) => live && setInfo(r))
      .catch(() => live && setInfo(null));
    return () => {
      live = false;
    };
  }, [p]);
  if (!info) return null;
  if (!info.exists)
    return (
      <p className="muted" data-testid="script-facts">
        {info.path} does not exist yet.
      </p>
    );
  const mark = (b: boolean) => (b ? '✓' : '✗');
  return (
    <p className="facts" data-testid="script-facts">
      Runtime: <strong>{info.runtime ?? 'unknown (expected .py, .js, .mjs, .cjs or .ts)'}</strong> · init(){' '}
      {mark(info.defines.init)} · run() {mark(info.defines.run)} · shutdown() {mark(info.defines.shutdown)}
      {!info.defines.run && <span className="bad-text"> — no run() found: every mini-batch would fail</span>}
    </p>
  );
}
