// What the entry script's text says (read by the host, never run): its runtime and which of
// init(), run() and shutdown() it defines.

import { useHostQuery } from '../useHostQuery';

export function ScriptFacts({ path }: { path: string }) {
  const info = useHostQuery('inspectScript', path ? { path } : null, 300).result;
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
