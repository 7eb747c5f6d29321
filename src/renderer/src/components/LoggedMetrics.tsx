// The run view's Metrics panel: what the entry script logged (mlflow.log_metric, log_param,
// set_tag; Run.log, tag, add_properties), from the run's summary once the run has ended.

import type { LoggedMetrics as Logged } from '../../../common/events';

/** A value as one short line: numbers as they are, lists by their last value and count. */
function shown(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, '');
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function Rows({ kind, values, series }: { kind: string; values: Record<string, unknown>; series: boolean }) {
  return Object.entries(values).map(([name, value]) => {
    const many = series && Array.isArray(value);
    const list = many ? (value as unknown[]) : [value];
    return (
      <tr key={`${kind}:${name}`} data-testid="logged-metric">
        <td className="muted">{kind}</td>
        <th scope="row">{name}</th>
        <td>{shown(list[list.length - 1])}</td>
        <td className="muted">{many ? `${list.length} values, first ${shown(list[0])}` : ''}</td>
      </tr>
    );
  });
}

export function LoggedMetrics({ logged }: { logged?: Logged }) {
  if (!logged) return null;
  return (
    <section className="logged-metrics" aria-label="Metrics" data-testid="logged-metrics">
      <h3>Metrics</h3>
      <table className="runs">
        <thead>
          <tr>
            <th>kind</th>
            <th>name</th>
            <th>last value</th>
            <th />
          </tr>
        </thead>
        <tbody>
          <Rows kind="metric" values={logged.metrics} series />
          <Rows kind="param" values={logged.params} series={false} />
          <Rows kind="tag" values={logged.tags} series={false} />
          <Rows kind="property" values={logged.properties} series={false} />
        </tbody>
      </table>
    </section>
  );
}
