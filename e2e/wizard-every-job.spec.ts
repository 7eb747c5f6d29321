// Issue 14 §3 against a real `prs serve` in Chromium: the digits example built from scratch in the
// wizard (Browse… giving paths relative to the spec's folder) and run; a field for every key; a
// spec saved over keeps the user's YAML as written; the interpreter check looks up every module the
// entry script imports and Review refuses a job whose interpreter lacks one.

import { expect, test, type Locator, type Page } from '@playwright/test';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { copyBundledExample, ROOT, startHost, writeExample, type Host, screenshotPath } from './host';

let host: Host;
test.afterEach(async () => {
  await host?.stop();
});

async function openWizard(page: Page) {
  await page.goto(host.url + '#/wizard');
  await expect(page.locator('[data-app-state="ready"]')).toBeVisible();
  await expect(page.getByTestId('wizard')).toBeVisible();
}

async function openSpec(page: Page, file: string) {
  await page.getByTestId('wizard-open').click();
  await page.getByTestId('spec-file-path').fill(file);
  await page.getByTestId('spec-file-ok').click();
  await expect(page.getByTestId('wizard-notice')).toContainText(`Opened ${file}`);
}

async function saveAs(page: Page, file: string) {
  await page.getByTestId('wizard-save-as').click();
  await page.getByTestId('spec-file-path').fill(file);
  await page.getByTestId('spec-file-ok').click();
  await expect(page.getByTestId('wizard-notice')).toHaveText(`Saved ${file}.`);
}

/** Picks `names` in turn in the server's file browser opened by the Browse… beside `field`. */
async function browse(page: Page, field: Locator, names: string[], folder = false) {
  await field.locator('xpath=..').getByRole('button', { name: 'Browse…' }).click();
  const browser = page.getByTestId('file-browser');
  for (const name of names)
    await browser
      .getByTestId('dir-entry')
      .getByRole('button', { name: new RegExp(`^${name}`) })
      .click();
  if (folder) await browser.getByRole('button', { name: 'Choose this folder' }).click();
  await expect(browser).toHaveCount(0);
}

/** Saves the open spec: the file bar says the draft differs from the file, then that it does not. */
async function save(page: Page) {
  await expect(page.getByTestId('spec-file')).toContainText('changed, not saved');
  await page.getByTestId('wizard-save').click();
  await expect(page.getByTestId('spec-file')).not.toContainText('changed, not saved');
}

const tab = (page: Page, name: string) => page.getByRole('tab', { name }).click();

test('the digits example built from scratch: Browse… gives relative paths, the saved spec is the example, and it runs', async ({
  page,
}) => {
  test.setTimeout(600_000);
  let dir = '';
  host = await startHost((examples) => {
    copyBundledExample(examples, 'digits');
    dir = path.join(examples, 'digits');
    // Built from scratch: only the example's code and data are there.
    rmSync(path.join(dir, 'job.yaml'));
    const prep = spawnSync('/usr/bin/python3', [path.join(dir, 'prepare.py')], { encoding: 'utf8' });
    if (prep.status !== 0) throw new Error(`prepare.py failed: ${prep.stderr}`);
  });
  const specPath = path.join(dir, 'job.yaml');
  await openWizard(page);
  await page.getByTestId('field-name').fill('digit-identification');
  // Saved first, the job has a folder: what Browse… picks inside it comes back relative.
  await saveAs(page, specPath);

  await browse(page, page.getByTestId('field-source_directory'), ['src/'], true);
  await expect(page.getByTestId('field-source_directory')).toHaveValue('./src');
  // The entry script's browser starts in the source folder, and its path is relative to it.
  await browse(page, page.getByTestId('field-entry_script'), ['digit_identification.py']);
  await expect(page.getByTestId('field-entry_script')).toHaveValue('digit_identification.py');
  await expect(page.getByTestId('script-facts')).toContainText('python');
  await expect(page.getByTestId('script-facts')).toContainText('run() ✓');

  await tab(page, 'Inputs');
  await browse(page, page.getByTestId('field-input-path'), ['data/', 'images/'], true);
  await expect(page.getByTestId('field-input-path')).toHaveValue('./data/images');
  await page.getByTestId('field-input-pattern').fill('**/*.png');
  await expect(page.getByTestId('inputs-count')).toContainText('899 file(s)');
  await page.getByTestId('add-side_input').click();
  await page.getByTestId('field-side_input-name').fill('labels');
  await browse(page, page.getByTestId('field-side_input-path'), ['data/', 'labels.csv']);
  await expect(page.getByTestId('field-side_input-path')).toHaveValue('./data/labels.csv');

  await tab(page, 'Partitioning');
  await page.getByTestId('field-mini_batch_size').fill('25');
  await expect(page.getByTestId('minibatch-count')).toContainText('mini-batch(es)');

  await tab(page, 'Execution');
  await page.getByTestId('field-process_count_per_node').fill('2');
  await page.getByTestId('field-run_invocation_timeout').fill('60');
  await page.getByTestId('field-run_max_try').fill('3');
  await page.getByTestId('field-logging_level').selectOption('INFO');

  await tab(page, 'Environment');
  const system = page.getByTestId('interpreter').filter({ hasText: '/usr/bin/python3' }).first();
  await system.getByRole('radio').check();
  // Every module the script imports, looked up in that interpreter (nothing of them runs).
  const modules = system.getByTestId('interpreter-modules');
  await expect(modules.locator('[data-module="numpy"]')).toContainText('installed');
  await expect(modules.locator('[data-module="PIL"]')).toContainText('installed');
  await expect(modules.locator('[data-module="azureml_user"]')).toContainText('compatibility package');
  await page.getByTestId('field-arguments').fill('--labels\n../data/labels.csv');
  await page.getByTestId('add-model').click();
  await page.getByTestId('field-model-name').fill('digits');
  await browse(page, page.getByTestId('field-model-path'), ['models/', 'digits.pkl']);
  await expect(page.getByTestId('field-model-path')).toHaveValue('./models/digits.pkl');

  await tab(page, 'Output');
  await page.getByTestId('field-append_row_file_name').fill('digit_predictions.txt');

  await tab(page, 'Review');
  await expect(page.getByTestId('draft-valid')).toBeVisible();
  await tab(page, 'Environment');
  await expect(page.getByTestId('wizard-validity')).toHaveAttribute('data-valid', 'true');
  await page.screenshot({
    path: screenshotPath('wizard-environment.png'),
    fullPage: true,
  });
  await save(page);
  // The spec made by clicking is the bundled example's, key for key.
  const example: unknown = parse(readFileSync(path.join(ROOT, 'examples', 'digits', 'job.yaml'), 'utf8'));
  expect(parse(readFileSync(specPath, 'utf8'))).toEqual(example);

  await page.getByTestId('wizard-start').click();
  await expect(page.locator('[data-run-state="completed"]')).toBeVisible({ timeout: 480_000 });
  await expect(page.getByTestId('batches-done')).toHaveText(/^(\d+) \/ \1$/);
});

test('a field for every key: several inputs, runtime, nodes, GPUs, monitor, profiler, variables, reuse', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => {
    dir = writeExample(examples, 'all-keys', {
      'score.mjs': 'export async function run(batch) { return batch; }\n',
      'a/1.txt': '1',
      'b/2.txt': '2',
    });
  });
  await openWizard(page);
  await saveAs(page, path.join(dir, 'job.yaml'));
  await page.getByTestId('field-name').fill('all-keys');
  await page.getByTestId('field-entry_script').fill('score.mjs');
  await page.getByTestId('field-runtime').selectOption('node');
  await tab(page, 'Inputs');
  await page.getByTestId('field-input-path').fill('./a');
  await page.getByTestId('add-input').click();
  await page.getByTestId('field-input-path').nth(1).fill('./b');
  await expect(page.getByTestId('inputs-count')).toContainText('2 file(s)');
  await tab(page, 'Execution');
  await page.getByTestId('field-node_count').fill('2');
  await page.getByTestId('field-gpus').fill('0,1');
  await page.getByTestId('field-resource_monitor_interval').fill('5');
  await page.getByTestId('field-profiling_module').fill('cProfile');
  await tab(page, 'Environment');
  await page.getByTestId('field-environment_variables').fill('TOKENIZERS_PARALLELISM=false\nMODE=fast');
  await page.getByTestId('field-arguments').fill('--model_name\niris');
  await page.getByTestId('add-model').click();
  await page.getByTestId('field-model-name').fill('iris');
  await page.getByTestId('field-model-path').fill('./a/1.txt');
  await tab(page, 'Output');
  await page.getByTestId('field-output_action').selectOption('summary_only');
  await page.getByTestId('field-allow_reuse').selectOption('false');
  await tab(page, 'Review');
  await expect(page.getByTestId('draft-valid')).toBeVisible();
  await save(page);
  expect(parse(readFileSync(path.join(dir, 'job.yaml'), 'utf8'))).toEqual({
    name: 'all-keys',
    entry_script: 'score.mjs',
    runtime: 'node',
    inputs: [
      { path: './a', type: 'files' },
      { path: './b', type: 'files' },
    ],
    node_count: 2,
    gpus: [0, 1],
    resource_monitor_interval: 5,
    profiling_module: 'cProfile',
    environment_variables: { TOKENIZERS_PARALLELISM: 'false', MODE: 'fast' },
    arguments: ['--model_name', 'iris'],
    models: { iris: './a/1.txt' },
    output_action: 'summary_only',
    allow_reuse: false,
  });
});

const WRITTEN = `# Nightly scoring: keep this comment.
name: keep-yaml     # the job's name
entry_script: score.py
source_directory: ./src
python: /usr/bin/python3
inputs:
  - path: ./data    # a folder
mini_batch_size: 2
arguments: [--mode, "fast"]
environment_variables: {MODE: "1"}
`;

test('opening a spec honours source_directory; saving keeps its YAML as written; the v2 export stays relative', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => {
    dir = writeExample(examples, 'keep', {
      'job.yaml': WRITTEN,
      'src/score.py': 'import json\n\ndef run(mini_batch):\n    return mini_batch\n',
      'data/a.txt': 'a',
      'data/b.txt': 'b',
    });
  });
  const specPath = path.join(dir, 'job.yaml');
  const before = statSync(specPath).mtimeMs;
  // As "Edit in wizard" opens it: the spec's path in the page's address.
  await page.goto(`${host.url}#/wizard?specPath=${encodeURIComponent(specPath)}`);
  await expect(page.getByTestId('wizard-notice')).toContainText(`Opened ${specPath}`);
  await expect(page.getByTestId('field-name')).toHaveValue('keep-yaml');
  // entry_script is found in source_directory: no warning that it does not exist.
  await expect(page.getByTestId('script-facts')).toContainText('Runtime: python');
  await expect(page.getByTestId('script-facts')).not.toContainText('does not exist');
  await tab(page, 'Review');
  await expect(page.getByTestId('draft-valid')).toBeVisible();
  await expect(page.getByTestId('draft-problems')).toHaveCount(0);
  // Review shows what Save writes: the file as it is.
  await expect(page.getByTestId('spec-yaml')).toHaveText(WRITTEN);

  // Saving what was opened changes nothing, not even the file's time.
  await page.getByTestId('wizard-save').click();
  await expect(page.getByTestId('wizard-notice')).toHaveText(`Saved ${specPath}.`);
  expect(readFileSync(specPath, 'utf8')).toBe(WRITTEN);
  expect(statSync(specPath).mtimeMs).toBe(before);

  // One value changed: that line, and only it, differs.
  await tab(page, 'Partitioning');
  await page.getByTestId('field-mini_batch_size').fill('1');
  await save(page);
  expect(readFileSync(specPath, 'utf8')).toBe(WRITTEN.replace('mini_batch_size: 2', 'mini_batch_size: 1'));

  // Save as… beside it: the new file is the user's YAML too, comments and all.
  const copy = path.join(dir, 'copy.yaml');
  await saveAs(page, copy);
  expect(readFileSync(copy, 'utf8')).toBe(readFileSync(specPath, 'utf8'));
  await expect(page.getByTestId('spec-file')).toHaveAttribute('data-spec-path', copy);

  // The Azure ML v2 export beside it names the same folders, relative to itself.
  await page.getByTestId('export-v2').click();
  await expect(page.getByTestId('wizard-notice')).toContainText('Exported');
  const v2 = parse(readFileSync(path.join(dir, 'keep-yaml.azureml.yaml'), 'utf8')) as {
    inputs: Record<string, { path: string }>;
    task: { code: string };
  };
  expect(v2.task.code).toBe('./src');
  expect(Object.values(v2.inputs).map((i) => i.path)).toEqual(['./data']);
});

test('the interpreter check looks up every module the script imports; Review refuses a job whose interpreter lacks one', async ({
  page,
}) => {
  let dir = '';
  host = await startHost((examples) => {
    const script =
      'import json\nimport numpy\nimport no_such_module_prs_e2e\n\ndef run(mini_batch):\n    return mini_batch\n';
    dir = writeExample(examples, 'missing', {
      'job.yaml':
        'name: missing-module\nentry_script: score.py\npython: /usr/bin/python3\ninputs:\n  - path: ./data\n',
      'theirs.yaml':
        'name: their-python\nentry_script: score.py\npython: ./tools/python3\ninputs:\n  - path: ./data\n',
      'score.py': script,
      'data/a.txt': 'a',
      'tools/python3': `#!/bin/sh\necho ran > '${path.join(examples, 'missing', 'tools-ran')}'\nexec /usr/bin/python3 "$@"\n`,
    });
    chmodSync(path.join(dir, 'tools', 'python3'), 0o755);
  });
  await openWizard(page);
  await openSpec(page, path.join(dir, 'job.yaml'));
  await tab(page, 'Environment');
  const system = page.getByTestId('interpreter').filter({ hasText: '/usr/bin/python3' }).first();
  await expect(
    system.getByTestId('interpreter-modules').locator('[data-module="no_such_module_prs_e2e"]'),
  ).toContainText('missing');
  await expect(system.getByTestId('interpreter-modules').locator('[data-module="numpy"]')).toContainText(
    'installed',
  );
  await tab(page, 'Review');
  await expect(page.getByTestId('draft-problems')).toContainText(
    "python: /usr/bin/python3 has no module named 'no_such_module_prs_e2e' (score.py imports it",
  );
  await expect(page.getByTestId('draft-valid')).toHaveCount(0);
  await expect(page.getByTestId('wizard-validity')).toHaveAttribute('data-valid', 'false');
  await expect(page.getByTestId('wizard-start')).toBeDisabled();

  // An interpreter the spec brings is not run to find out: Review says so, until the button is pressed.
  const theirs = path.join(dir, 'tools', 'python3');
  await openSpec(page, path.join(dir, 'theirs.yaml'));
  await tab(page, 'Review');
  await expect(page.getByTestId('review-note')).toContainText('./tools/python3 is not checked yet');
  expect(existsSync(path.join(dir, 'tools-ran'))).toBe(false);
  await tab(page, 'Environment');
  await page
    .getByTestId('check-interpreter')
    .filter({ hasText: `Check this interpreter: ${theirs}` })
    .click();
  await expect(
    page.getByTestId('interpreter-checked').locator('[data-module="no_such_module_prs_e2e"]'),
  ).toContainText('missing');
  expect(existsSync(path.join(dir, 'tools-ran'))).toBe(true);
  await tab(page, 'Review');
  await expect(page.getByTestId('draft-problems')).toContainText(
    `python: ${theirs} has no module named 'no_such_module_prs_e2e'`,
  );
  await expect(page.getByTestId('wizard-start')).toBeDisabled();
});
