// Playwright's web server (see playwright.config.ts): the demo on MUNRO_E2E_PORT until SIGTERM.
import { startDemoServer } from './demo-server.js'

const demo = await startDemoServer(Number(process.env.MUNRO_E2E_PORT ?? 8791))
console.log(`munro e2e server on ${demo.url}`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => void demo.close().then(() => process.exit(0)))
}
