// The run's nodes: one row per node (this machine's simulated nodes, or the cluster agents that
// fill the node ids), with its workers, and a filter that narrows the worker tiles and terminals
// to one node. Shown only when there is more than one node or the nodes are a cluster's.

import type { RunNode, WorkerInfo } from '../../../common/events';

/** Whether a run's nodes are worth a panel: one node of this machine is just "the run". */
export function showsNodes(nodes: RunNode[]): boolean {
  return nodes.length > 1 || nodes.some((n) => n.agent);
}

const STATE_BADGE: Record<RunNode['state'], string> = {
  live: 'running',
  rejoined: 'completed-with-failures',
  lost: 'failed',
  left: 'cancelled',
};

export function NodesPanel({
  nodes,
  workers,
  now,
  filter,
  onFilter,
}: {
  nodes: RunNode[];
  workers: WorkerInfo[];
  now: number;
  filter: string | null;
  onFilter: (nodeId: string | null) => void;
}) {
  return (
    <section className="nodes-panel" aria-label="Nodes" data-testid="nodes-panel">
      <div className="section-head">
        <h3>Nodes</h3>
        <button className="small" aria-pressed={filter === null} onClick={() => onFilter(null)}>
          All nodes
        </button>
      </div>
      <table className="runs">
        <thead>
          <tr>
            <th>Node</th>
            <th>Name</th>
            <th>Host</th>
            <th>Processes</th>
            <th>GPUs</th>
            <th>Heartbeat</th>
            <th>State</th>
            <th>Workers</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => {
            const mine = workers.filter((w) => w.nodeId === n.id);
            return (
              <tr key={n.id} data-testid={`node-${n.id}`} data-node-state={n.state}>
                <td>{n.id}</td>
                <td data-testid="node-name">{n.name}</td>
                <td>{n.host}</td>
                <td>{n.processes}</td>
                <td>{n.gpus.length > 0 ? n.gpus.join(', ') : 'none'}</td>
                <td>
                  {n.state === 'left' ? '—' : `${Math.max(0, Math.round((now - n.beatAt) / 1000))} s ago`}
                </td>
                <td>
                  <span className={`badge ${STATE_BADGE[n.state]}`} data-testid="node-state">
                    {n.state}
                  </span>
                </td>
                <td data-testid="node-workers">{mine.map((w) => w.name).join(', ') || '—'}</td>
                <td>
                  <button
                    className="small"
                    aria-pressed={filter === n.id}
                    onClick={() => onFilter(filter === n.id ? null : n.id)}
                  >
                    Only this node
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
