// A DataFrame returned by a Python run() travels to the leader as one string of rows (issue 15),
// no longer as a list of lines. The output file must hold the same bytes the list of lines made, and
// the line index must count the lines in them. Real CLI runs, real pandas; the entry script itself
// writes, beside its return value, what the former path made of it (to_csv split into lines, joined
// again), so the comparison is against that path on the very same frames.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINE_INDEX_STRIDE, lineIndexPath } from '../../src/common/lineIndex';
import { DEBIAN_PYTHON, nodeJob, prs, tempDir, writeFiles } from '../helpers';

// Quotes, delimiters, newlines and carriage returns inside fields, empty fields, unicode.
function trickyCsv(rows: number): string {
  const texts = ['plain', 'say "hi"', 'a, b', 'two\nlines', 'cr\r\nlf', '', 'ünïcödé ✓ 日本', ' lead', 'x y'];
  let csv = 'id,text,value\n';
  for (let i = 0; i < rows; i++) {
    const t = texts[i % texts.length]!;
    const value = i % 5 === 0 ? '' : String(i / 7);
    csv += `${i},"${t.replace(/"/g, '""')}",${value}\n`;
  }
  return csv;
}

// Per mini-batch, one of: the frame as read; a computed frame with NaN, unicode and booleans; an
// empty frame; a frame of one column of NaN.
const SCRIPT = `import os
import numpy as np
import pandas as pd

OUT = os.environ["REF_DIR"]

def old_path(frame):
    # What prs_driver.result_lines made of a DataFrame before issue 15: one list element per line.
    text = frame.to_csv(sep=" ", header=False, index=False, lineterminator="\\n")
    lines = text.split("\\n")
    if lines and lines[-1] == "":
        lines.pop()
    return "".join(line + "\\n" for line in lines)

def run(mini_batch, context):
    kind = context.minibatch_index % 4
    if kind == 0:
        frame = mini_batch
    elif kind == 1:
        frame = pd.DataFrame({
            "id": mini_batch["id"],
            "half": np.where(mini_batch["id"] % 3 == 0, np.nan, mini_batch["id"] / 2),
            "label": ["été ✓ " + str(v) for v in mini_batch["text"]],
            "flag": mini_batch["id"] % 2 == 0,
        })
    elif kind == 2:
        frame = mini_batch.iloc[0:0]
    else:
        frame = pd.DataFrame({"empty": [np.nan] * len(mini_batch)})
    with open(os.path.join(OUT, "%06d.txt" % context.minibatch_index), "w", encoding="utf-8", newline="") as f:
        f.write(old_path(frame))
    return frame
`;

function lineStartsOf(output: Buffer): number[] {
  const starts = [0];
  for (let i = 0; i < output.length - 1; i++) if (output[i] === 10) starts.push(i + 1);
  return starts;
}

function indexOffsets(outputFile: string): number[] {
  const raw = readFileSync(lineIndexPath(outputFile));
  return Array.from({ length: raw.length / 8 }, (_, i) => Number(raw.readBigUInt64LE(i * 8)));
}

describe('a DataFrame returned by run()', () => {
  it('writes the same output bytes as the former list of lines, and a line index of its real lines', async () => {
    const dir = tempDir('prs-dfout-');
    const refs = path.join(dir, 'refs');
    writeFiles(dir, { 'src/score.py': SCRIPT, 'data/table.csv': trickyCsv(3000), 'refs/.keep': '' });
    const spec = path.join(dir, 'job.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'df-output',
        entry_script: 'score.py',
        source_directory: './src',
        python: DEBIAN_PYTHON,
        inputs: [{ path: './data/table.csv', type: 'tabular' }],
        mini_batch_size: '4KB',
        // One worker: the mini-batches are committed in order, so the output is their concatenation.
        process_count_per_node: 1,
        environment_variables: { REF_DIR: refs },
      }),
    );
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const batches = r.json!.mini_batches.total;
    expect(batches).toBeGreaterThan(8);

    const expected = Buffer.concat(
      readdirSync(refs)
        .filter((f) => f.endsWith('.txt'))
        .sort()
        .map((f) => readFileSync(path.join(refs, f))),
    );
    const output = readFileSync(r.json!.output_file!);
    expect(output.length).toBeGreaterThan(LINE_INDEX_STRIDE * 40);
    expect(output.equals(expected)).toBe(true);
    // The data really is tricky: quoted newlines, NaN as empty, unicode, a row of one empty cell.
    const text = output.toString('utf8');
    expect(text).toContain('"two\nlines"');
    expect(text).toContain('"cr\r\nlf"');
    expect(text).toContain('ünïcödé ✓ 日本');
    expect(text).toContain('\n""\n'); // a row of one NaN cell

    // The index holds every 1024th line's offset, lines counted in the bytes (a quoted newline too).
    const starts = lineStartsOf(output);
    expect(indexOffsets(r.json!.output_file!)).toEqual(starts.filter((_, i) => i % LINE_INDEX_STRIDE === 0));
  });
});

describe('the line index', () => {
  it('counts the lines an element with a newline became (it counted elements)', async () => {
    const dir = tempDir('prs-dfout-');
    // Every element two lines: 20 files x 100 elements = 4000 lines from 2000 elements.
    const spec = nodeJob(dir, {
      script:
        "export function run(b) { return b.flatMap((f) => Array.from({ length: 100 }, (_, i) => 'first ' + i + '\\nsecond')); }",
      files: 20,
      spec: { mini_batch_size: 3, process_count_per_node: 1 },
    });
    const r = await prs(['run', spec, '--runs-dir', path.join(dir, 'runs'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const starts = lineStartsOf(readFileSync(r.json!.output_file!));
    expect(starts).toHaveLength(4000);
    expect(indexOffsets(r.json!.output_file!)).toEqual(starts.filter((_, i) => i % LINE_INDEX_STRIDE === 0));
  });
});
