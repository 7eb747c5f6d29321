// What entry scripts log (mlflow.log_metric, log_param, set_tag; Run.log, tag, add_properties),
// gathered into run.json when a run ends. Each Python process appends JSON lines to its own file,
// logs/user/metrics/<node>/<process>.jsonl (resources/python/prs_metrics.py): a file, so that a
// subprocess of the script can record too and a killed worker keeps what it had recorded.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoggedMetrics } from '../common/events';

type RunMetrics = LoggedMetrics;

interface Entry {
  kind: string;
  name: string;
  value: unknown;
  time: number;
}

const KINDS: Record<string, keyof RunMetrics> = {
  metric: 'metrics',
  param: 'params',
  tag: 'tags',
  property: 'properties',
};

/** The metrics under `metricsRoot` (logs/user/metrics), or undefined when the script logged none. */
export async function readRunMetrics(metricsRoot: string): Promise<RunMetrics | undefined> {
  const entries: Entry[] = [];
  const nodes = await readdir(metricsRoot).catch(() => [] as string[]);
  for (const node of nodes) {
    const files = await readdir(path.join(metricsRoot, node)).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.jsonl'))) {
      const text = await readFile(path.join(metricsRoot, node, file), 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        // A process killed mid-write leaves at most a partial last line: skip what does not parse.
        try {
          const e = JSON.parse(line) as Entry;
          if (typeof e.name === 'string' && e.kind in KINDS) entries.push(e);
        } catch {
          // not a whole line
        }
      }
    }
  }
  if (entries.length === 0) return undefined;
  entries.sort((a, b) => a.time - b.time);
  const all: Record<keyof RunMetrics, Map<string, unknown[]>> = {
    metrics: new Map(),
    params: new Map(),
    tags: new Map(),
    properties: new Map(),
  };
  for (const e of entries) {
    const values = all[KINDS[e.kind]!];
    values.set(e.name, [...(values.get(e.name) ?? []), e.value]);
  }
  const flat = (m: Map<string, unknown[]>, lastOnly: boolean) =>
    Object.fromEntries(
      [...m].map(([k, v]) => [k, lastOnly || v.length === 1 ? v[v.length - 1] : v] as const),
    );
  // A metric is a series; a param, tag or property is a setting, whose last value holds.
  return {
    metrics: flat(all.metrics, false),
    params: flat(all.params, true),
    tags: flat(all.tags, true),
    properties: flat(all.properties, true),
  };
}
