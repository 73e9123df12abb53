// The <script> build: a page with no bundler uses the global `Munro`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../helpers/signaling.js'
import { launchBrowser } from './harness.js'

let dir: string
let server: TestServer
let browser: Browser

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'munro-script-'))
  // The library build exactly as `npm run build:lib` makes it, into a temp folder.
  await build({ configFile: 'vite.config.ts', logLevel: 'warn', build: { outDir: dir, emptyOutDir: true } })
  await writeFile(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script src="munro.iife.js"></script>')
  server = await startServer({ staticDir: dir })
  browser = await launchBrowser()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('script build', () => {
  it('exposes Munro globally; a source page and a viewer page talk through it', async () => {
    const open = async () => {
      const page = await (await browser.newContext()).newPage()
      await page.goto(server.url + '/')
      return page
    }
    const sourcePage = await open()
    const exported = await sourcePage.evaluate(() => Object.keys((globalThis as unknown as { Munro: object }).Munro).sort())
    expect(exported).toEqual(expect.arrayContaining(['createSource', 'joinTree', 'generateKeyPair', 'ErrorCode', 'MunroError', 'broadcast', 'play']))
    const treeId = await sourcePage.evaluate(async (url) => {
      const M = (globalThis as any).Munro
      const source = await M.createSource({ signal: url, iceServers: [] })
      ;(globalThis as any).source = source
      return source.treeId as string
    }, server.url)
    const viewerPage = await open()
    const received = viewerPage.evaluate(
      async ([url, id]) => {
        const M = (globalThis as any).Munro
        const viewer = await M.joinTree(id, { signal: url, iceServers: [] })
        viewer.once('parent-connected', () => ((globalThis as any).ready = true))
        for await (const m of viewer.messages()) return new TextDecoder().decode(m.data)
      },
      [server.url, treeId] as const
    )
    await viewerPage.waitForFunction(() => (globalThis as any).ready === true)
    await sourcePage.waitForFunction(() => (globalThis as any).source.children.length === 1)
    await sourcePage.evaluate(() => (globalThis as any).source.write('hello from a script tag'))
    expect(await received).toBe('hello from a script tag')
  }, 60_000)
})
