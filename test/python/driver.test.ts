// Pieces of resources/python/prs_driver.py checked inside Debian's python3 itself.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers';
import { SYSTEM_PYTHON } from './helpers';

function python(code: string): string {
  return execFileSync(SYSTEM_PYTHON, ['-c', code], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.join(ROOT, 'resources', 'python') },
  }).trim();
}

describe('prs_driver', () => {
  test('run(mini_batch, mini_batch_context) is told apart from run(mini_batch) for every kind of callable', () => {
    const out = python(`
import functools, json
from prs_driver import _takes_two
def one(x): pass
def two(x, y): pass
def defaulted(x, y=1): pass
def star(*args): pass
def posonly(x, y, /): pass
class K:
    def m1(self, x): pass
    def m2(self, x, y): pass
    def __call__(self, x, y): pass
def deco(f):
    @functools.wraps(f)
    def w(*a, **k): return f(*a, **k)
    return w
cases = [one, two, defaulted, star, posonly, K().m1, K().m2, K(), deco(one), deco(two), lambda x: x, functools.partial(two, 1)]
print(json.dumps([_takes_two(f) for f in cases]))
`);
    expect(JSON.parse(out)).toEqual([
      false,
      true,
      true,
      true,
      true,
      false,
      true,
      true,
      false,
      true,
      false,
      false,
    ]);
  });

  test("a DataFrame's rows are exactly to_csv's text, on the fast path for numbers and off it for the rest", () => {
    const out = python(`
import json
import numpy as np, pandas as pd
from prs_driver import _number_rows, result_lines
rng = np.random.default_rng(3)
frames = {
    "ints": pd.DataFrame({"id": np.arange(50) + 10**12, "p": rng.integers(0, 2, 50)}),
    "floats, bools, uint8": pd.DataFrame({"f": np.concatenate([rng.normal(size=40), [0.0, -0.0, 1e16, 5e-324, 1/3, np.inf, -np.inf, 1e-9, 1e22, 0.1]]), "b": rng.integers(0, 2, 50).astype(bool), "u": np.arange(50, dtype=np.uint8)}),
    "one column": pd.DataFrame({"x": np.arange(3)}),
    "same name twice": pd.DataFrame([[1, 2]], columns=["a", "a"]),
    "NaN": pd.DataFrame({"f": [1.0, np.nan]}),
    "float32": pd.DataFrame({"f": np.array([0.1], dtype=np.float32)}),
    "strings": pd.DataFrame({"s": ["a b", 'say "x"']}),
    "nullable ints": pd.DataFrame({"n": pd.array([1, None], dtype="Int64")}),
    "empty": pd.DataFrame({"x": []}),
}
report = {}
for name, frame in frames.items():
    text = frame.to_csv(sep=" ", header=False, index=False, lineterminator="\\n")
    report[name] = [result_lines(frame, False) == ([text[:-1]] if text else []), len(frame) > 0 and _number_rows(frame) is not None]
print(json.dumps(report))
`);
    expect(JSON.parse(out)).toEqual({
      ints: [true, true],
      'floats, bools, uint8': [true, true],
      'one column': [true, true],
      'same name twice': [true, true],
      NaN: [true, false],
      float32: [true, false],
      strings: [true, false],
      'nullable ints': [true, false],
      empty: [true, false],
    });
  });
});
