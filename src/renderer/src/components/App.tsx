// The shell of the UI: connects to the host, routes by the URL hash (so a reload keeps the view),
// and sets data-app-state="ready" once the first data arrived (tests wait for it, never sleep).

import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { connect } from '../client';
import { pageFromHash as fromHash, useStore, type Page } from '../store';
import { setAckSink } from '../terminals';
import { HistoryView } from './HistoryView';
import { Home } from './Home';
import { LogsBrowser } from './LogsBrowser';
import { OutputBrowser } from './OutputBrowser';
import { PipelineView } from './PipelineView';
import { RunView } from './RunView';
import { Wizard } from './Wizard';

const pageFromHash = (): Page => fromHash(location.hash);

function NavLink({ page, label }: { page: Page; label: string }) {
  const current = useStore((s) => s.page.kind);
  return (
    <a
      href={`#/${page.kind === 'home' ? '' : page.kind}`}
      className={current === page.kind ? 'nav active' : 'nav'}
      onClick={(e) => {
        e.preventDefault();
        useStore.getState().navigate(page);
      }}
    >
      {label}
    </a>
  );
}

export function App() {
  const { appState, page, error } = useStore(
    useShallow((s) => ({ appState: s.appState, page: s.page, error: s.error })),
  );

  useEffect(() => {
    const client = connect();
    const store = useStore.getState();
    store.setClient(client);
    setAckSink((ack) => client.ack(ack));
    const off = client.onEvent((e) => useStore.getState().handleEvent(e));
    const onPop = () => useStore.setState({ page: pageFromHash() });
    window.addEventListener('popstate', onPop);
    store
      .refresh()
      .then(() => useStore.setState({ appState: 'ready', page: pageFromHash() }))
      .catch((err: unknown) => useStore.setState({ appState: 'error', error: String(err) }));
    return () => {
      off();
      window.removeEventListener('popstate', onPop);
    };
  }, []);

  return (
    <div className="app" data-app-state={appState}>
      <header className="topbar">
        <a
          href="#/"
          className="brand"
          onClick={(e) => {
            e.preventDefault();
            useStore.getState().navigate({ kind: 'home' });
          }}
        >
          Parallel Run Studio
        </a>
        <nav className="topnav">
          <NavLink page={{ kind: 'home' }} label="Home" />
          <NavLink page={{ kind: 'wizard' }} label="New job" />
          <NavLink page={{ kind: 'history' }} label="History" />
        </nav>
      </header>
      {error && (
        <div className="error-banner" role="alert">
          <pre>{error}</pre>
          <button onClick={() => useStore.getState().setError(null)}>Dismiss</button>
        </div>
      )}
      {appState === 'loading' && <p className="muted">Connecting…</p>}
      {appState === 'ready' && page.kind === 'home' && <Home />}
      {appState === 'ready' && page.kind === 'run' && <RunView runId={page.runId} runDir={page.runDir} />}
      {appState === 'ready' && page.kind === 'wizard' && (
        <Wizard key={page.specPath ?? ''} specPath={page.specPath} />
      )}
      {appState === 'ready' && page.kind === 'output' && <OutputBrowser runDir={page.runDir} />}
      {appState === 'ready' && page.kind === 'history' && <HistoryView />}
      {appState === 'ready' && page.kind === 'logs' && <LogsBrowser page={page} />}
      {appState === 'ready' && page.kind === 'pipeline' && (
        <PipelineView key={page.runDir} runDir={page.runDir} />
      )}
    </div>
  );
}
