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
});
