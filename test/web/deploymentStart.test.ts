// Starting a batch deployment through the host's API, as the home page's card does: the example
// folder's example.json gives the card its input, and startRun refuses an input that is not there
// or a file that is no deployment, naming the path, before anything runs.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { AppHost, type HostConnection } from '../../src/host/appHost';

let root: string;
let host: AppHost;
let conn: HostConnection;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'prs-deploy-start-'));
  const example = path.join(root, 'examples', 'scorer');
  mkdirSync(path.join(example, 'data'), { recursive: true });
  writeFileSync(path.join(example, 'deployment.yml'), 'type: model\nname: scorer\nmodel: ./model\n');
  writeFileSync(path.join(example, 'example.json'), '{"spec": "deployment.yml", "input": "data"}\n');
  writeFileSync(path.join(example, 'about.md'), 'Scores my data.\n');
  const job = path.join(root, 'examples', 'job');
  mkdirSync(job);
  writeFileSync(path.join(job, 'job.yaml'), 'name: job\nentry_script: s.mjs\ninputs:\n  - path: ./d\n');
  host = new AppHost({ examplesDir: path.join(root, 'examples'), runsDir: path.join(root, 'runs') });
  conn = host.connect(() => {});
});
afterEach(async () => {
  conn.close();
  await host.close();
  rmSync(root, { recursive: true, force: true });
});

it("lists a deployment example with the input its example.json names, and a job's without one", async () => {
  const examples = await conn.call('listExamples', {});
  expect(examples).toEqual([
    { name: 'job', specPath: path.join(root, 'examples', 'job', 'job.yaml'), description: '' },
    {
      name: 'scorer',
      specPath: path.join(root, 'examples', 'scorer', 'deployment.yml'),
      description: 'Scores my data.',
      input: path.join(root, 'examples', 'scorer', 'data'),
    },
  ]);
});

it('refuses an input that does not exist, and an input given with a file that is no deployment, naming them', async () => {
  const spec = path.join(root, 'examples', 'scorer', 'deployment.yml');
  const missing = path.join(root, 'examples', 'scorer', 'no-data');
  await expect(conn.call('startRun', { specPath: spec, input: missing })).rejects.toThrow(
    `input: ${missing} does not exist (expected the file or folder ${spec} scores)`,
  );
  const job = path.join(root, 'examples', 'job', 'job.yaml');
  await expect(
    conn.call('startRun', { specPath: job, input: path.join(root, 'examples', 'scorer', 'data') }),
  ).rejects.toThrow(
    `${job}: input goes with a batch deployment (expected a file with type: model, or no input)`,
  );
  // Without an input the deployment says what it needs, as prs run does.
  await expect(conn.call('startRun', { specPath: spec })).rejects.toThrow(
    /expected prs run deployment\.yml --input PATH/,
  );
});
