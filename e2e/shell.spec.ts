// "Shell here" (issue 14, section 5) against a real `prs serve`, a real Python job, a real pty and
// Chromium: a shell opened while the run is live survives its end (here, a failure); one is offered
// for the failed run reopened from History, in that worker's environment; and `python` there is the
// job's interpreter (Debian has no `python`; the one on this machine's PATH is another).

import { expect, test, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHost, writeExample, type Host } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

const PY = '/usr/bin/python3';

/** One worker; item1 waits for a release file, then fails: the test decides when the run ends. */
function gatedFailingJob(): Record<string, string> {
  return {
    'job.yaml': `name: shell-job
entry_script: score.py
python: ${PY}
inputs:
  - path: ./data
mini_batch_size: 1
process_count_per_node: 1
run_invocation_timeout: 300
run_max_try: 1
allowed_failed_count: 0
`,
    'score.py': `import os, time
HERE = os.path.dirname(os.path.abspath(__file__))
def init():
    pass
def run(mini_batch):
    out = []
    for f in mini_batch:
        name = os.path.basename(f)
        if name == 'item1.txt':
            while not os.path.exists(os.path.join(HERE, 'release')):
                time.sleep(0.05)
            raise RuntimeError('item1 fails on purpose')
        out.append(name + ' ok')
    return out
`,
    'data/item0.txt': '0\n',
    'data/item1.txt': '1\n',
  };
}

/** Types a command into the open shell and waits for the marker it prints. */
async function inShell(page: Page, command: string, expected: RegExp): Promise<void> {
  const term = page.getByTestId('shell-terminal');
  await term.click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
  await expect(term).toContainText(expected, { timeout: 60_000 });
}

test('Shell here survives the end of its run, is offered for a failed run from History, and python is the job interpreter', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => (dir = writeExample(examples, 'shell', gatedFailingJob())));
  await page.goto(host.url);
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await page.getByTestId('example-shell').getByRole('button', { name: 'Start' }).click();
  await expect(page.getByTestId('batches-done')).toHaveText(/^1 \//, { timeout: 60_000 });

  // A shell while the run is live, in process000's environment.
  await page.getByTestId('worker-process000').getByRole('button', { name: 'Shell here' }).click();
  await inShell(page, 'echo "IN=$PRS_PROCESS_NAME"', /IN=process000/);

  // The run fails; the shell is still there and still answers.
  writeFileSync(path.join(dir, 'release'), '');
  await expect(page.locator('[data-run-state="failed"]')).toBeVisible({ timeout: 60_000 });
  await inShell(page, 'echo "AFTER=$((40 + 2))"', /AFTER=42/);
  await expect(page.getByTestId('shell-terminal')).not.toContainText('shell exited');

  // From History, the failed run offers a shell too; `python` in it is the job's interpreter.
  await page.getByRole('link', { name: 'History' }).click();
  await page
    .getByTestId('history-row')
    .filter({ hasText: 'shell-job' })
    .getByRole('button', { name: 'Open' })
    .click();
  await expect(page.locator('[data-run-state="failed"]')).toBeVisible();
  await page.getByTestId('worker-process000').getByRole('button', { name: 'Shell here' }).click();
  await inShell(
    page,
    `python -c 'import sys; print("EXE=" + sys.executable + "!")'`,
    new RegExp(`EXE=${PY}!`),
  );
});
