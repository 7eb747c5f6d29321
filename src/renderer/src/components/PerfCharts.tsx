// A perf CSV of the log tree (logs/perf/<node>/*.csv) as charts: one per measure (the columns ending
// in _percent or _bytes), time across, and one line per process where the file has a process column.

import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import type { CsvRows } from './CsvTable';

const COLOURS = ['#5e81ac', '#bf616a', '#a3be8c', '#ebcb8b', '#b48ead', '#88c0d0', '#d08770', '#8fbcbb'];

interface Series {
  measure: string;
  labels: string[];
  data: uPlot.AlignedData;
}

/** The file's rows as aligned series per measure. */
function perfSeries(csv: CsvRows): Series[] {
  const col = (n: string) => csv.header.indexOf(n);
  const t = col('time');
  if (t < 0) return [];
  const groupCol = col('process') >= 0 ? col('process') : col('path');
  const measures = csv.header.filter((h) => /_(percent|bytes)$/.test(h) && !/_total_bytes$/.test(h));
  const times = [...new Set(csv.rows.map((r) => Date.parse(r[t] ?? '') / 1000).filter(Number.isFinite))].sort(
    (a, b) => a - b,
  );
  const at = new Map(times.map((x, i) => [x, i]));
  const groups = groupCol >= 0 ? [...new Set(csv.rows.map((r) => r[groupCol] ?? ''))].sort() : [''];
  return measures.map((measure) => {
    const m = col(measure);
    const cols = groups.map(() => new Array<number | null>(times.length).fill(null));
    for (const r of csv.rows) {
      const i = at.get(Date.parse(r[t] ?? '') / 1000);
      const v = Number(r[m]);
      if (i === undefined || r[m] === '' || !Number.isFinite(v)) continue;
      cols[groupCol >= 0 ? groups.indexOf(r[groupCol] ?? '') : 0][i] = v;
    }
    return {
      measure,
      labels: groups.map((g) => g || measure),
      data: [times, ...cols] as uPlot.AlignedData,
    };
  });
}

function PerfChart({ series }: { series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = box.current;
    if (!host) return;
    const plot = new uPlot(
      {
        width: Math.max(240, host.clientWidth || 360),
        height: 160,
        legend: { show: true },
        scales: { x: { time: true } },
        axes: [{}, { label: series.measure.endsWith('_bytes') ? 'bytes' : '%', size: 60 }],
        series: [
          {},
          ...series.labels.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 1.5 })),
        ],
      },
      series.data,
      host,
    );
    const ro = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(240, host.clientWidth), height: 160 }),
    );
    ro.observe(host);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [series]);
  return (
    <figure className="chart">
      <figcaption>{series.measure}</figcaption>
      <div ref={box} className="chart-box" data-testid={`perf-chart-${series.measure}`} />
    </figure>
  );
}

export function PerfCharts({ csv }: { csv: CsvRows }) {
  const all = useMemo(() => perfSeries(csv), [csv]);
  if (all.length === 0 || csv.rows.length === 0) return <p className="muted">No samples in this file yet.</p>;
  return (
    <section className="graphs" aria-label="Resource usage charts" data-testid="perf-charts">
      {all.map((s) => (
        <PerfChart key={s.measure} series={s} />
      ))}
    </section>
  );
}
