// The home page's examples (issue 14, section 5) against a real `prs serve`, the bundled examples
// and Chromium: each card's text is written for the app (no YAML comments with CLI commands), one
// bundled example runs long enough to watch, and the leader's log says when the job finished.

import { expect, test } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { copyBundledExample, ROOT, startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

const BUNDLED = readdirSync(path.join(ROOT, 'examples'));

test('example cards carry text for the app; the watch-a-run example runs ~20 s and the leader says when it finished', async ({
  page,
}) => {
  test.setTimeout(240_000);
  host = await startHost((dir) => {
    for (const name of BUNDLED) copyBundledExample(dir, name);
    // One of the user's own, with only comments: its prose shows, its command lines do not.
    writeExample(dir, 'mine', {
      'job.yaml':
        '# Scores my files.\n#   npx prs run job.yaml\nname: mine\nentry_script: s.mjs\ninputs:\n  - path: ./d\n',
    });
  });
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();

  for (const name of BUNDLED) {
    const card = page.getByTestId(`example-${name}`);
    const about = readFileSync(path.join(ROOT, 'examples', name, 'about.md'), 'utf8');
    await expect(card).toContainText(about.split('\n')[0]!.trim());
    await expect(card).not.toContainText(/npx |prs run|\/usr\/bin\/python3|#/);
  }
  await expect(page.getByTestId('example-mine')).toContainText('Scores my files.');
  await expect(page.getByTestId('example-mine')).not.toContainText('npx');

  // The example to watch: 40 documents of about a second each on two workers.
  await page.getByTestId('example-watch-a-run').getByRole('button', { name: 'Start' }).click();
  await expect(page.locator('[data-run-state="running"]')).toBeVisible();
  await expect(page.getByTestId('terminal-process000')).toContainText('%');
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('batches-done')).toHaveText('20 / 20');
  await expect(page.getByTestId('terminal-leader')).toContainText(
    /Job completed in \d+\.\d s: 20 of 20 mini-batch\(es\) succeeded, 0 failed; 40 item\(s\) succeeded, 0 failed\./,
  );
  // At least 40 s of work spread over two workers: a lower bound that no load can break.
  const runDir = new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '').get('runDir')!;
  const json = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as {
    summary: { duration_s: number };
  };
  expect(json.summary.duration_s).toBeGreaterThanOrEqual(15);
  expect(readFileSync(path.join(runDir, 'logs', 'sys', 'master_role.txt'), 'utf8')).toMatch(
    /INFO Job completed in [\d.]+ s: 20 of 20 mini-batch\(es\) succeeded/,
  );
});
