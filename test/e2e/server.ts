// Playwright's web server: builds the demo (with the <script> build) and serves
// it from a real signaling server on the port playwright.config.ts gives.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { createSignalingServer } from '../../signaling-server/index.js'

const port = Number(process.env.MUNRO_E2E_PORT ?? 8791)
const outDir = await mkdtemp(join(tmpdir(), 'munro-e2e-'))
await build({ configFile: 'demo/vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } })
const server = createSignalingServer({ staticDir: outDir })
await server.listen(port, '127.0.0.1')
console.log(`munro e2e server on http://127.0.0.1:${port}/`)
const stop = async () => {
  await server.close()
  await rm(outDir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
