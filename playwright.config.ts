// Playwright drives Debian's Chromium against `prs serve` (issue 5). One worker: CI has two cores
// and every test starts real job processes. Each test starts its own host on its own port with its
// own data folder; Playwright gives every browser a fresh profile.
import { defineConfig } from '@playwright/test';

export const CHROMIUM = process.env.PRS_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    viewport: { width: 1400, height: 1000 },
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'retain-on-failure',
  },
});
