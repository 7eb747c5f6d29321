// A search cannot block the host: a runaway regular expression runs in a thread of its own, is
// stopped when a chunk of the file takes longer than the budget, and the host answers other
// requests meanwhile. Needs `npm run build` (the search thread's bundle, like the job workers').

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppEvent } from '../../src/common/contract';
import { AppHost, type HostConnection } from '../../src/host/appHost';

type SearchEvent = Extract<AppEvent, { type: 'search-progress' }>;

let root: string;
let runDir: string;
let host: AppHost;
let conn: HostConnection;
/** What reached the client, in order: replies and the searches' final events. */
let order: string[];
let searchDone: Map<string, (e: SearchEvent) => void>;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'prs-search-'));
  runDir = path.join(root, 'runs', 'job', 'r1');
  mkdirSync(path.join(runDir, 'outputs'), { recursive: true });
  writeFileSync(path.join(runDir, 'run.json'), JSON.stringify({ spec: { name: 'job' } }));
  // 30 a's and a character that is not one: (a+)+$ tries every way of splitting them (2^30),
  // a minute or more of one thread's time.
  writeFileSync(
    path.join(runDir, 'outputs', 'parallel_run_step.txt'),
    `first line\n${'a'.repeat(30)}!\nlast line\n`,
  );
  // The budget is generous for a 40-byte file and far short of what the expression needs.
  host = new AppHost({ examplesDir: path.join(root, 'none'), searchBudgetMs: 2000 });
  order = [];
  searchDone = new Map();
  conn = host.connect((e) => {
    if (e.type === 'search-progress' && e.done) {
      order.push('search done');
      searchDone.get(e.searchId)?.(e);
    }
  });
});
afterEach(async () => {
  conn.close();
  await host.close();
  rmSync(root, { recursive: true, force: true });
});

function search(query: string, regex: boolean): Promise<SearchEvent> {
  return conn
    .call('searchOutput', { runDir, query, regex })
    .then(({ searchId }) => new Promise<SearchEvent>((resolve) => searchDone.set(searchId, resolve)));
}

describe('search with a catastrophic regular expression', () => {
  it('ends with an error saying to simplify it, and the host answers other requests meanwhile', async () => {
    const done = search('(a+)+$', true);
    // Requests one after another while the search runs: each reply is in before the search ends.
    for (let i = 0; i < 10; i++) {
      const page = await conn.call('readOutputPage', { runDir });
      expect(page.lines[0]).toBe('first line');
      order.push(`page ${i}`);
    }
    const result = await done;
    expect(result.error).toMatch(/\/\(a\+\)\+\$\/: the search took too long .* simplify the expression/);
    expect(order).toEqual([...Array.from({ length: 10 }, (_, i) => `page ${i}`), 'search done']);
    // The host still searches after that.
    const plain = await search('last', false);
    expect(plain.error).toBeUndefined();
    expect(plain.totalMatches).toBe(1);
  }, 180_000);

  it("answers a pattern that does not compile, or an empty query, as the request's error", async () => {
    await expect(conn.call('searchOutput', { runDir, query: '(a+', regex: true })).rejects.toThrow(
      /\/\(a\+\/: .*expected a JavaScript regular expression/,
    );
    await expect(conn.call('searchOutput', { runDir, query: '' })).rejects.toThrow(/query is empty/);
  });
});
