// Resource graphs over the whole run (uPlot). Samples are read through store.subscribe into the
// chart directly: a new sample redraws the chart, never the React tree. Time runs from the run's
// start, in seconds (minutes and hours once the run is long): a short run's clock time says nothing,
// and one sample on a time scale spans years. The GPU chart shows only where there are GPUs.

import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { MetricsHistory } from '../../../common/api';
import { useStore } from '../store';

const COLOURS = ['#5e81ac', '#bf616a', '#a3be8c', '#ebcb8b', '#b48ead', '#88c0d0', '#d08770', '#8fbcbb'];

interface ChartDef {
  id: string;
  title: string;
  unit: string;
  /** Series labels and data columns; the first column is seconds since `t0` (epoch ms). */
  build(m: MetricsHistory, t0: number): { labels: string[]; data: uPlot.AlignedData };
}

/** Seconds since the start as an axis tick: "45 s", "12:05", "1:02:03". */
export function elapsedTick(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(Math.floor(s % 60)).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** The same under the pointer, to a tenth of a second. */
function elapsedAt(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '—';
  return s < 120 ? `${s.toFixed(1)} s` : elapsedTick(s);
}

const secondsOf = (m: MetricsHistory, t0: number) => m.node.map((n) => (n.t - t0) / 1000);

function byProcess(m: MetricsHistory, t0: number, value: (p: MetricsHistory['processes'][number]) => number) {
  const names = [...new Set(m.processes.map((p) => p.process))].sort();
  const times = m.node.map((n) => n.t);
  const index = new Map(times.map((t, i) => [t, i]));
  const cols = names.map(() => new Array<number | null>(times.length).fill(null));
  for (const p of m.processes) {
    const i = index.get(p.t);
    if (i !== undefined) cols[names.indexOf(p.process)][i] = value(p);
  }
  return { labels: names, data: [secondsOf(m, t0), ...cols] as uPlot.AlignedData };
}

/** Whether the node has GPUs, by its latest sample. */
export const hasGpus = (m: MetricsHistory) => (m.node.at(-1)?.gpus.length ?? 0) > 0;

const CHARTS: ChartDef[] = [
  {
    id: 'node',
    title: 'Node CPU and memory',
    unit: '%',
    build: (m, t0) => ({
      labels: ['CPU %', 'Memory %'],
      data: [
        secondsOf(m, t0),
        m.node.map((n) => n.cpuPercent),
        m.node.map((n) => (n.memTotalBytes > 0 ? (100 * n.memUsedBytes) / n.memTotalBytes : 0)),
      ],
    }),
  },
  {
    id: 'gpu',
    title: 'GPU utilisation and memory',
    unit: '%',
    build: (m, t0) => {
      const gpus = [...new Set(m.node.flatMap((n) => n.gpus.map((g) => g.index)))].sort((a, b) => a - b);
      const labels = gpus.flatMap((g) => [`GPU ${g} util %`, `GPU ${g} mem %`]);
      const cols = gpus.flatMap((g) => [
        m.node.map((n) => n.gpus.find((x) => x.index === g)?.utilPercent ?? null),
        m.node.map((n) => {
          const x = n.gpus.find((y) => y.index === g);
          return x && x.memTotalBytes > 0 ? (100 * x.memUsedBytes) / x.memTotalBytes : null;
        }),
      ]);
      return { labels, data: [secondsOf(m, t0), ...cols] as uPlot.AlignedData };
    },
  },
  {
    id: 'proc-cpu',
    title: 'Process CPU',
    unit: '%',
    build: (m, t0) => byProcess(m, t0, (p) => p.cpuPercent),
  },
  {
    id: 'proc-mem',
    title: 'Process memory',
    unit: 'MB',
    build: (m, t0) => byProcess(m, t0, (p) => p.rssBytes / 1048576),
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
      const { metrics, run } = useStore.getState();
      // From the run's start; a resumed run's samples are from this session, so from the first.
      const first = metrics.node[0]?.t ?? Date.now();
      const t0 = run && run.startedAt <= first ? run.startedAt : first;
      const { labels, data } = def.build(metrics, t0);
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
            // From 0, and at least 10 s wide: one sample is a point on a short axis, not a span of years.
            scales: { x: { time: false, range: (_u, _min, max) => [0, Math.max(10, max)] } },
            axes: [
              {
                values: (_u, splits) => {
                  const ticks = splits.map(elapsedTick);
                  // Ticks are drawn on the canvas: the element says what they read (tests look).
                  host.dataset.xTicks = ticks.join('|');
                  return ticks;
                },
                label: 'since the start',
              },
              { label: def.unit, size: 50 },
            ],
            series: [
              { label: 'time', value: (_u, v) => elapsedAt(v) },
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
  const gpus = useStore((s) => hasGpus(s.metrics));
  return (
    <section className="graphs" aria-label="Resource graphs">
      {CHARTS.filter((c) => c.id !== 'gpu' || gpus).map((c) => (
        <Chart key={c.id} def={c} />
      ))}
    </section>
  );
}
