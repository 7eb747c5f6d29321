// Where the wizard's Start runs the job: this machine, or the agents of a cluster (what `prs run
// --cluster URL` does). The URL is a run option: it is never written into the spec file. Check
// lists the cluster's agents as `prs cluster status` does.

import { useState } from 'react';
import type { ClusterStatus } from '../../../../common/api';
import { useStore } from '../../store';
import { errText } from '../useHostQuery';

export interface RunOnChoice {
  where: 'local' | 'cluster';
  url: string;
}

/** The cluster URL a start passes, or undefined for this machine. */
export function clusterOf(choice: RunOnChoice): string | undefined {
  return choice.where === 'cluster' ? choice.url.trim() : undefined;
}

/** Why Start cannot run on the chosen cluster yet, or null. */
export function runOnProblem(choice: RunOnChoice): string | null {
  if (choice.where !== 'cluster') return null;
  return /^rediss?:\/\/[^/?#]/i.test(choice.url.trim())
    ? null
    : 'Run on: the cluster URL is expected as redis://[user:pass@]host:port or rediss://…';
}

export function RunOn({
  choice,
  nodeCount,
  onChange,
}: {
  choice: RunOnChoice;
  nodeCount: number;
  onChange: (choice: RunOnChoice) => void;
}) {
  const [status, setStatus] = useState<{ result: ClusterStatus | null; error: string | null }>({
    result: null,
    error: null,
  });
  const check = () => {
    setStatus({ result: null, error: null });
    useStore
      .getState()
      .request('clusterStatus', { cluster: choice.url.trim() })
      .then((result) => setStatus({ result, error: null }))
      .catch((err: unknown) => setStatus({ result: null, error: errText(err) }));
  };
  const problem = runOnProblem(choice);
  return (
    <fieldset className="run-on" data-testid="run-on">
      <legend>Run on</legend>
      <label>
        <input
          type="radio"
          name="run-on"
          checked={choice.where === 'local'}
          onChange={() => onChange({ ...choice, where: 'local' })}
        />{' '}
        this machine
      </label>{' '}
      <label>
        <input
          type="radio"
          name="run-on"
          checked={choice.where === 'cluster'}
          onChange={() => onChange({ ...choice, where: 'cluster' })}
        />{' '}
        cluster
      </label>{' '}
      <input
        aria-label="Cluster URL"
        data-testid="cluster-url"
        placeholder="redis://host:6379"
        disabled={choice.where !== 'cluster'}
        value={choice.url}
        onChange={(e) => onChange({ ...choice, url: e.target.value })}
      />{' '}
      <button
        className="small"
        data-testid="cluster-check"
        disabled={choice.where !== 'cluster' || problem !== null}
        onClick={check}
      >
        Check
      </button>
      {choice.where === 'cluster' && problem && (
        <p className="bad-text" data-testid="cluster-problem">
          {problem}
        </p>
      )}
      {status.error && (
        <p className="bad-text" data-testid="cluster-error">
          {status.error}
        </p>
      )}
      {status.result && (
        <div data-testid="cluster-nodes">
          <p className="muted">
            {status.result.url}: {status.result.nodes.length} agent(s); the job needs {nodeCount}{' '}
            (node_count).
          </p>
          {status.result.nodes.length > 0 && (
            <table className="runs">
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Host</th>
                  <th>Processes</th>
                  <th>Running</th>
                  <th>GPUs</th>
                  <th>State</th>
                </tr>
              </thead>
              <tbody>
                {status.result.nodes.map((n) => (
                  <tr key={n.name} data-testid={`cluster-node-${n.name}`}>
                    <td>{n.name}</td>
                    <td>{n.host}</td>
                    <td>{n.processes}</td>
                    <td>{n.running}</td>
                    <td>{n.gpus.length > 0 ? n.gpus.join(', ') : 'none'}</td>
                    <td>{n.leaving ? 'leaving' : 'ready'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </fieldset>
  );
}
