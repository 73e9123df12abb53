// The demo page as a person uses it: one window broadcasts, another opens the viewer link.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startServer, type TestServer } from '../helpers/signaling.js'
import { launchBrowser } from '../browser/harness.js'

let server: TestServer
let browser: Browser
let outDir: string

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'munro-demo-'))
  await build({ configFile: 'demo/vite.config.ts', logLevel: 'warn', build: { outDir, emptyOutDir: true } })
  server = await startServer({ staticDir: outDir })
  browser = await launchBrowser()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  await rm(outDir, { recursive: true, force: true })
})

describe('demo page', () => {
  it('broadcasts from one window to another and shows the live tree', async () => {
    const sourcePage = await (await browser.newContext()).newPage()
    await sourcePage.goto(server.url + '/')
    await expect.poll(() => sourcePage.textContent('#server')).toContain('ok')
    await sourcePage.click('#broadcast')
    const link = await sourcePage.waitForSelector('#link:not(:empty)').then((a) => a.getAttribute('href'))
    expect(link).toMatch(/\?tree=[A-Za-z0-9_-]{43}$/)

    const viewerPage = await (await browser.newContext()).newPage()
    await viewerPage.goto(link!)
    await expect.poll(() => viewerPage.textContent('#feed'), { timeout: 20_000 }).toMatch(/tick \d+/)
    await sourcePage.fill('#text', 'hello viewers')
    await sourcePage.click('#send')
    await expect.poll(() => viewerPage.textContent('#feed'), { timeout: 10_000 }).toContain('source: hello viewers')
    await expect.poll(() => sourcePage.textContent('#tree'), { timeout: 10_000 }).toContain('2 peer(s)')
    await expect.poll(() => viewerPage.textContent('#stats'), { timeout: 10_000 }).toMatch(/depth1/)
    if (process.env.MUNRO_SCREENSHOTS) await viewerPage.screenshot({ path: join(process.env.MUNRO_SCREENSHOTS, 'demo-viewer.png'), fullPage: true })
  }, 90_000)
})
