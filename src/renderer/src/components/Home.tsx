import { useShallow } from 'zustand/react/shallow';
import { formatDuration } from '../../../common/format';
import { useStore } from '../store';

/** Runs the home page lists; History has them all. */
const RECENT = 10;

export function Home() {
  const { examples, runs } = useStore(useShallow((s) => ({ examples: s.examples, runs: s.runs })));
  const { startExample, navigate } = useStore.getState();
  return (
    <main className="home">
      <section>
        <h2>Examples</h2>
        {examples.length === 0 && <p className="muted">No examples found.</p>}
        <ul className="cards">
          {examples.map((ex) => (
            <li key={ex.specPath} className="card" data-testid={`example-${ex.name}`}>
              <h3>{ex.name}</h3>
              <p className="muted">{ex.description || ex.specPath}</p>
              <button className="primary" onClick={() => void startExample(ex.specPath, ex.input)}>
                Start
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section>
        <div className="title-row">
          <h2>Runs</h2>
          <a
            href="#/history"
            data-testid="home-history-link"
            onClick={(e) => {
              e.preventDefault();
              navigate({ kind: 'history' });
            }}
          >
            {runs.length > RECENT ? `All ${runs.length} runs in History` : 'History'}
          </a>
        </div>
        {runs.length === 0 && <p className="muted">No runs yet.</p>}
        <table className="runs">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Mini-batches</th>
              <th>Started</th>
              <th>Duration</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {runs.slice(0, RECENT).map((r) => (
              <tr key={r.runDir} data-testid="run-row">
                <td>{r.name}</td>
                <td>
                  <span className={`badge ${r.status}`}>{r.status}</span>
                </td>
                <td>
                  {r.miniBatches
                    ? `${r.miniBatches.succeeded}/${r.miniBatches.total} (${r.miniBatches.failed} failed)`
                    : '—'}
                </td>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td>{r.durationS !== null ? formatDuration(r.durationS) : '—'}</td>
                <td>
                  <button onClick={() => navigate({ kind: 'run', runId: r.runId, runDir: r.runDir })}>
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </main>
  );
}
