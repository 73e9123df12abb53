import { defineConfig } from '@playwright/test'
import { assertIsolatedNetwork, CHROMIUM_ARGS, chromiumPath } from './test/browser/harness.js'

// Browser suites that drive the demo pages with real video: Debian's Chromium
// (CHROMIUM_PATH to override; never a downloaded browser) with a fake camera,
// inside scripts/netns.sh like every WebRTC test (`npm test` runs both vitest
// and this). One worker: each test runs many pages on a small machine.
// Refuses to run outside scripts/netns.sh, like every WebRTC test.
assertIsolatedNetwork()
const port = Number(process.env.MUNRO_E2E_PORT ?? 8791)

export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '*.spec.ts',
  timeout: 120_000,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: !!process.env.CI,
  outputDir: 'test-results/e2e',
  reporter: process.env.CI ? [['list'], ['json', { outputFile: '.playwright-report.json' }]] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}/`,
    launchOptions: {
      executablePath: chromiumPath(),
      args: [
        ...CHROMIUM_ARGS,
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--autoplay-policy=no-user-gesture-required'
      ]
    },
    viewport: { width: 1100, height: 800 },
    trace: 'off',
    screenshot: 'only-on-failure'
  },
  webServer: {
    command: 'npx tsx test/e2e/server.ts',
    url: `http://127.0.0.1:${port}/healthz`,
    env: { MUNRO_E2E_PORT: String(port) },
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe'
  }
})
