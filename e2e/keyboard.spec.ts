// The keyboard (issue 14, section 5) against a real `prs serve` and Chromium: the wizard's steps
// move with the arrow keys; a dialog takes the focus, closes with Escape and gives the focus back;
// the file browser starts in the spec's folder and shows dot-files only when asked.

import { expect, test } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

test('wizard steps move with the arrow keys; the file browser takes the focus, starts in the spec folder, hides dot-files, closes with Escape', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => {
    dir = writeExample(examples, 'kb', {
      'job.yaml': 'name: kb-job\nentry_script: score.mjs\ninputs:\n  - path: ./data\nmini_batch_size: 1\n',
      'score.mjs': 'export async function run(batch) { return batch; }\n',
      'data/a.txt': 'a\n',
      '.hidden-notes': 'not for the list\n',
    });
    mkdirSync(path.join(dir, '.cache'));
    writeFileSync(path.join(dir, '.cache', 'x'), '');
  });
  const specPath = path.join(dir, 'job.yaml');
  await page.goto(`${host.url}#/wizard?specPath=${encodeURIComponent(specPath)}`);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await expect(page.getByTestId('wizard')).toBeVisible();

  // Arrow keys move between the steps, and the focus goes with them.
  const tabs = page.getByRole('tablist');
  const first = tabs.getByRole('tab').first();
  await expect(first).toHaveAttribute('aria-selected', 'true');
  await first.focus();
  await page.keyboard.press('ArrowRight');
  const second = tabs.getByRole('tab').nth(1);
  await expect(second).toHaveAttribute('aria-selected', 'true');
  await expect(second).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(first).toHaveAttribute('aria-selected', 'true');
  await expect(first).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await expect(tabs.getByRole('tab').last()).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(first).toHaveAttribute('aria-selected', 'true');

  // Browse… for the entry script: the dialog has the focus, in the spec's folder, without dot-files.
  const browse = page
    .getByTestId('field-entry_script')
    .locator('xpath=..')
    .getByRole('button', { name: 'Browse…' });
  await browse.click();
  const dialog = page.getByTestId('file-browser');
  await expect(dialog).toBeVisible();
  await expect(dialog.locator(':focus')).toHaveCount(1);
  await expect(dialog.getByLabel('Folder')).toHaveValue(dir);
  const entries = dialog.getByTestId('dir-entry');
  await expect(entries.filter({ hasText: 'score.mjs' })).toHaveCount(1);
  await expect(entries.filter({ hasText: 'data/' })).toHaveCount(1);
  await expect(entries.filter({ hasText: /^\./ })).toHaveCount(0);
  await dialog.getByTestId('show-hidden').check();
  await expect(entries.filter({ hasText: '.hidden-notes' })).toHaveCount(1);
  await expect(entries.filter({ hasText: '.cache/' })).toHaveCount(1);

  // Escape closes it, and the focus is back on the button that opened it.
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(browse).toBeFocused();
});
