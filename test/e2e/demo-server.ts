// The demo as `npm start` serves it (pages + <script> build) from a real
// signaling server on loopback, for the Playwright suite and the video bench.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'vite'
import { createSignalingServer } from '../../signaling-server/index.js'

export interface DemoServer {
  /** e.g. http://127.0.0.1:8791/ */
  url: string
  close(): Promise<void>
}

/** Builds the demo into a temporary folder and serves it on `port` (0: any free port). */
export async function startDemoServer(port = 0): Promise<DemoServer> {
  const outDir = await mkdtemp(join(tmpdir(), 'munro-demo-'))
  try {
    await build({ configFile: 'demo/vite.config.ts', logLevel: 'error', build: { outDir, emptyOutDir: true } })
    const server = createSignalingServer({ staticDir: outDir })
    const address = await server.listen(port, '127.0.0.1')
    return {
      url: `http://127.0.0.1:${address.port}/`,
      close: async () => {
        await server.close()
        await rm(outDir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await rm(outDir, { recursive: true, force: true })
    throw err
  }
}
