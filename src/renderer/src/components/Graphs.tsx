// Resource graphs over the whole run (uPlot). Samples are read through store.subscribe into the
// chart directly: a new sample redraws the chart, never the React tree.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { MetricsHistory } from '../../../common/api';
import { useStore } from '../store';

const COLOURS = ['#5e81ac', '#bf616a', '#a3be8c', '#ebcb8b', '#b48ead', '#88c0d0', '#d08770', '#8fbcbb'];

interface ChartDef {
  id: string;
  title: string;
  unit: string;
  /** Series labels and data columns from the history; the first column is time in seconds. */
  build(m: MetricsHistory): { labels: string[]; data: uPlot.AlignedData };
}

function byProcess(m: MetricsHistory, value: (p: MetricsHistory['processes'][number]) => number) {
  const names = [...new Set(m.processes.map((p) => p.process))].sort();
  const times = m.node.map((n) => n.t);
  const index = new Map(times.map((t, i) => [t, i]));
  const cols = names.map(() => new Array<number | null>(times.length).fill(null));
  for (const p of m.processes) {
    const i = index.get(p.t);
    if (i !== undefined) cols[names.indexOf(p.process)][i] = value(p);
  }
  return { labels: names, data: [times.map((t) => t / 1000), ...cols] as uPlot.AlignedData };
}

const CHARTS: ChartDef[] = [
  {
    id: 'node',
    title: 'Node CPU and memory',
    unit: '%',
    build: (m) => ({
      labels: ['CPU %', 'Memory %'],
      data: [
        m.node.map((n) => n.t / 1000),
        m.node.map((n) => n.cpuPercent),
        m.node.map((n) => (n.memTotalBytes > 0 ? (100 * n.memUsedBytes) / n.memTotalBytes : 0)),
      ],
    }),
  },
  {
    id: 'gpu',
    title: 'GPU utilisation and memory',
    unit: '%',
    build: (m) => {
      const gpus = [...new Set(m.node.flatMap((n) => n.gpus.map((g) => g.index)))].sort((a, b) => a - b);
      const labels = gpus.flatMap((g) => [`GPU ${g} util %`, `GPU ${g} mem %`]);
      const cols = gpus.flatMap((g) => [
        m.node.map((n) => n.gpus.find((x) => x.index === g)?.utilPercent ?? null),
        m.node.map((n) => {
          const x = n.gpus.find((y) => y.index === g);
          return x && x.memTotalBytes > 0 ? (100 * x.memUsedBytes) / x.memTotalBytes : null;
        }),
      ]);
      return { labels, data: [m.node.map((n) => n.t / 1000), ...cols] as uPlot.AlignedData };
    },
  },
  { id: 'proc-cpu', title: 'Process CPU', unit: '%', build: (m) => byProcess(m, (p) => p.cpuPercent) },
  {
    id: 'proc-mem',
    title: 'Process memory',
    unit: 'MB',
    build: (m) => byProcess(m, (p) => p.rssBytes / 1048576),
  },
];

function Chart({ def }: { def: ChartDef }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = box.current;
    if (!host) return;
    let plot: uPlot | null = null;
    let labelsKey = '';
    const draw = () => {
      const { labels, data } = def.build(useStore.getState().metrics);
      const key = labels.join('|');
      host.dataset.points = String(data[0].length);
      if (labels.length === 0) {
        host.dataset.empty = 'true';
        return;
      }
      delete host.dataset.empty;
      if (!plot || key !== labelsKey) {
        plot?.destroy();
        labelsKey = key;
        plot = new uPlot(
          {
            width: Math.max(240, host.clientWidth || 360),
            height: 160,
            legend: { show: true },
            scales: { x: { time: true } },
            axes: [{}, { label: def.unit, size: 50 }],
            series: [
              {},
              ...labels.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 1.5 })),
            ],
          },
          data,
          host,
        );
      } else {
        plot.setData(data);
      }
    };
    draw();
    // Redraw at most every 500 ms however fast samples arrive.
    let pending = false;
    const unsub = useStore.subscribe((s, prev) => {
      if (s.metricsVersion === prev.metricsVersion || pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        draw();
      }, 500);
    });
    const ro = new ResizeObserver(() =>
      plot?.setSize({ width: Math.max(240, host.clientWidth), height: 160 }),
    );
    ro.observe(host);
    return () => {
      unsub();
      ro.disconnect();
      plot?.destroy();
    };
  }, [def]);
  return (
    <figure className="chart">
      <figcaption>{def.title}</figcaption>
      <div ref={box} className="chart-box" data-testid={`chart-${def.id}`} />
    </figure>
  );
}

export function Graphs() {
  return (
    <section className="graphs" aria-label="Resource graphs">
      {CHARTS.map((c) => (
        <Chart key={c.id} def={c} />
      ))}
    </section>
  );
}
