// Opening a spec runs nothing from it. A spec's `python:` and the .venv in its folder are code from
// wherever the spec came from: walking through every step of the wizard executes neither (each is a
// script that leaves a marker file when run); the "Check this interpreter" button, which names the
// full path, runs exactly the one it names. Against a real `prs serve` in Chromium.

import { expect, test, type Page } from '@playwright/test';
import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

/** An "interpreter" that leaves `mark` behind, then is Debian's Python. */
const markingPython = (mark: string) => `#!/bin/sh\necho ran > '${mark}'\nexec /usr/bin/python3 "$@"\n`;

test('opening a spec and walking the wizard runs neither its python nor its .venv; the check button runs what it names', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => {
    const parent = path.join(examples, '..');
    dir = path.join(parent, 'downloaded');
    writeExample(parent, 'downloaded', {
      'job.yaml':
        'name: downloaded-job\nentry_script: score.py\npython: ./tools/python3\ninputs:\n  - path: ./data\nmini_batch_size: 1\n',
      'score.py': 'def run(mini_batch):\n    return mini_batch\n',
      'data/a.txt': 'a',
      'tools/python3': markingPython(path.join(parent, 'downloaded', 'spec-python-ran')),
      '.venv/bin/python3': markingPython(path.join(parent, 'downloaded', 'venv-python-ran')),
    });
    chmodSync(path.join(dir, 'tools', 'python3'), 0o755);
    chmodSync(path.join(dir, '.venv', 'bin', 'python3'), 0o755);
  });
  const specMark = path.join(dir, 'spec-python-ran');
  const venvMark = path.join(dir, 'venv-python-ran');

  await page.goto(host.url + '#/wizard');
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('wizard-open').click();
  await page.getByTestId('spec-file-path').fill(path.join(dir, 'job.yaml'));
  await page.getByTestId('spec-file-ok').click();
  await expect(page.getByTestId('wizard-notice')).toContainText('Opened');
  await expect(page.getByTestId('field-name')).toHaveValue('downloaded-job');

  for (const step of ['Entry script', 'Inputs', 'Partitioning', 'Execution', 'Environment', 'Output']) {
    await page.getByRole('tab', { name: step }).click();
    if (step !== 'Environment') continue;
    const interpreters = page.getByTestId('interpreters');
    // The well-known ones are checked by the host itself: their versions show. (/usr/bin/python3 is
    // listed once: as "python3 on PATH" where it is first on PATH, else as the system one.)
    await expect(
      interpreters.getByTestId('interpreter').filter({ hasText: '/usr/bin/python3' }).first(),
    ).toContainText('Python 3.');
    // The source folder's .venv is listed by the executable that would run, with a button naming it.
    const venvExe = path.join(dir, '.venv', 'bin', 'python3');
    const venv = interpreters.getByTestId('interpreter').filter({ hasText: '.venv in the source folder' });
    await expect(venv.getByTestId('check-interpreter')).toHaveText(`Check this interpreter: ${venvExe}`);
    // The spec's own interpreter: a button with its full path, no result.
    await expect(interpreters.getByTestId('check-interpreter').last()).toHaveText(
      `Check this interpreter: ${path.join(dir, 'tools', 'python3')}`,
    );
    await expect(page.getByTestId('interpreter-checked')).toHaveCount(0);
  }
  await page.getByRole('tab', { name: 'Review' }).click();
  await expect(page.getByTestId('draft-valid')).toBeVisible();
  // Everything the wizard asks of the host on its own is answered: still nothing ran.
  expect(existsSync(specMark), "the spec's python ran").toBe(false);
  expect(existsSync(venvMark), 'the .venv python ran').toBe(false);

  // Asked for, by name: the spec's interpreter runs, and only it.
  await page.getByRole('tab', { name: 'Environment' }).click();
  await checkButtonFor(page, path.join(dir, 'tools', 'python3')).click();
  await expect(page.getByTestId('interpreter-checked')).toContainText('Python 3.');
  expect(existsSync(specMark)).toBe(true);
  expect(existsSync(venvMark)).toBe(false);
  await checkButtonFor(page, path.join(dir, '.venv', 'bin', 'python3')).click();
  await expect(
    page.getByTestId('interpreter').filter({ hasText: '.venv in the source folder' }),
  ).toContainText('Python 3.');
  expect(existsSync(venvMark)).toBe(true);
});

function checkButtonFor(page: Page, full: string) {
  return page.getByTestId('check-interpreter').filter({ hasText: `Check this interpreter: ${full}` });
}
