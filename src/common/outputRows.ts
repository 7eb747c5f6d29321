// Output rows as columns: how a run's append_row lines split into fields. The output browser and
// the CSV/JSON Lines/Parquet exports use this one reading, so they agree.

export type RowFormat = 'json' | 'csv' | 'space' | 'plain';

/** Guesses how a run's output lines are laid out, from a sample of them. */
export function detectRowFormat(lines: string[]): RowFormat {
  const sample = lines.filter((l) => l.trim() !== '').slice(0, 50);
  if (sample.length === 0) return 'plain';
  const all = (test: (l: string) => boolean) => sample.every(test);
  if (
    all((l) => {
      const t = l.trim();
      if (!(t.startsWith('{') || t.startsWith('['))) return false;
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    })
  )
    return 'json';
  const width = (l: string, f: RowFormat) => splitRow(l, f).length;
  const same = (f: RowFormat) => {
    const w = width(sample[0], f);
    return w > 1 && all((l) => width(l, f) === w);
  };
  if (same('csv')) return 'csv';
  // PRS writes a DataFrame's rows space-separated; a varying width still reads best as columns.
  if (all((l) => /\S\s+\S/.test(l))) return 'space';
  return 'plain';
}

/** One line as its fields. JSON objects give their values in key order (see jsonColumns). */
export function splitRow(line: string, format: RowFormat): string[] {
  switch (format) {
    case 'json': {
      try {
        const v = JSON.parse(line) as unknown;
        if (Array.isArray(v)) return v.map(cellText);
        if (v && typeof v === 'object') return Object.values(v).map(cellText);
        return [cellText(v)];
      } catch {
        return [line];
      }
    }
    case 'csv':
      return splitCsvLine(line);
    case 'space':
      return line.trim() === '' ? [] : line.trim().split(/\s+/);
    default:
      return [line];
  }
}

/** The keys of a JSON object line, for a header. */
export function jsonColumns(line: string): string[] | null {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : null;
  } catch {
    return null;
  }
}

function cellText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}
