// A CSV file of the log tree as a table sorted by any column (a click on its header; again for the
// other way), numbers as numbers. Virtualised: a long run's processed_mini-batches.csv has a row per
// attempt.

import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';

export interface CsvRows {
  header: string[];
  rows: string[][];
}

function compare(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) return x - y;
  return a.localeCompare(b, undefined, { numeric: true });
}

export function CsvTable({
  csv,
  selected,
  onRow,
  label,
  scrollTo,
}: {
  csv: CsvRows;
  /** Rows whose first cell is this are marked (a mini-batch's attempts). */
  selected?: string;
  onRow?: (row: string[]) => void;
  label: string;
  /** Scrolls once to the first row whose first cell is this (a mini-batch opened by its link). */
  scrollTo?: string;
}) {
  const [sort, setSort] = useState<{ col: number; desc: boolean } | null>(null);
  const rows = useMemo(() => {
    if (!sort) return csv.rows;
    const out = [...csv.rows].sort((a, b) => compare(a[sort.col] ?? '', b[sort.col] ?? ''));
    return sort.desc ? out.reverse() : out;
  }, [csv, sort]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 26,
    overscan: 12,
  });
  const hasRows = rows.length > 0;
  useEffect(() => {
    if (scrollTo === undefined) return;
    const i = rows.findIndex((r) => r[0] === scrollTo);
    if (i >= 0) virtual.scrollToIndex(i, { align: 'center' });
  }, [scrollTo, hasRows, sort]);
  const template = `repeat(${csv.header.length}, minmax(6em, 1fr))`;
  return (
    <div className="csv-scroll" ref={scroller} role="table" aria-label={label} data-testid="csv-table">
      <div className="csv-row head" role="row" style={{ gridTemplateColumns: template }}>
        {csv.header.map((h, i) => (
          <button
            key={h + i}
            role="columnheader"
            className="link"
            aria-sort={sort?.col === i ? (sort.desc ? 'descending' : 'ascending') : 'none'}
            onClick={() =>
              setSort((s) => (s?.col === i ? { col: i, desc: !s.desc } : { col: i, desc: false }))
            }
          >
            {h}
            {sort?.col === i ? (sort.desc ? ' ▼' : ' ▲') : ''}
          </button>
        ))}
      </div>
      <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
        {virtual.getVirtualItems().map((v) => {
          const r = rows[v.index];
          return (
            <div
              key={v.index}
              role="row"
              data-testid="csv-row"
              aria-selected={selected !== undefined && r[0] === selected}
              className={`csv-row${onRow ? ' clickable' : ''}`}
              style={{
                gridTemplateColumns: template,
                position: 'absolute',
                top: 0,
                left: 0,
                right: 0,
                height: v.size,
                transform: `translateY(${v.start}px)`,
              }}
              onClick={() => onRow?.(r)}
            >
              {csv.header.map((h, i) => (
                <span key={h + i} role="cell" title={r[i]}>
                  {r[i] ?? ''}
                </span>
              ))}
            </div>
          );
        })}
      </div>
    </div>
  );
}
