// Live video end to end, as people use the demo: one page broadcasts the fake
// camera at k1 = k = 2, viewer pages open the shared link and play it.
import { mkdir } from 'node:fs/promises'
import { expect, test, type Browser, type Page } from '@playwright/test'

const SCREENSHOTS = 'test-results/screenshots'
const KEYFRAME_INTERVAL_MS = 1000

interface VideoSample {
  time: number
  frames: number
  width: number
  height: number
}

const sample = (page: Page, id = 'video'): Promise<VideoSample> =>
  page.evaluate((id) => {
    const v = document.getElementById(id) as HTMLVideoElement
    return { time: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames, width: v.videoWidth, height: v.videoHeight }
  }, id)

/** Viewer stats of a demo page, through the objects the page exposes. */
const peer = (page: Page) =>
  page.evaluate(() => {
    const d = (globalThis as unknown as { __demo: { viewer?: { stats(): { peerId: string | null; parent: string | null; depth: number | null; children: string[] } } } }).__demo
    const s = d.viewer?.stats()
    return s ? { peerId: s.peerId, parent: s.parent, depth: s.depth, children: s.children } : null
  })

async function newPage(browser: Browser, url: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(url)
  return page
}

/** Waits until the page decodes frames of the source's size and its playhead moves by at least a second. */
async function expectPlays(page: Page, width: number, timeout = 20_000): Promise<void> {
  await expect.poll(async () => (await sample(page)).frames, { timeout, message: `frames decoded on ${page.url()}` }).toBeGreaterThan(0)
  const first = await sample(page)
  expect(first.width).toBe(width)
  await expect.poll(async () => (await sample(page)).time - first.time, { timeout: 10_000, message: 'playhead advances' }).toBeGreaterThan(1)
}

test.describe.serial('live video through the tree', () => {
  let broadcaster: Page
  let watchUrl: string
  let sourceWidth: number
  let broadcastStartedAt: number
  const viewers: Page[] = []

  test.beforeAll(async ({ browser }) => {
    await mkdir(SCREENSHOTS, { recursive: true })
    broadcaster = await newPage(browser, '/?video=320x240')
    await expect(broadcaster.locator('#server')).toContainText('ok')
    await broadcaster.fill('#k1', '2')
    await broadcaster.fill('#k', '2')
    await broadcaster.click('#camera')
    await expect(broadcaster.locator('#link')).toHaveValue(/watch\.html\?tree=[A-Za-z0-9_-]{43}$/)
    broadcastStartedAt = Date.now()
    watchUrl = await broadcaster.inputValue('#link')
    await expect.poll(async () => (await sample(broadcaster, 'preview')).width).toBeGreaterThan(0)
    sourceWidth = (await sample(broadcaster, 'preview')).width
  })

  test('six viewers at k = 2 all play the camera: frames decoded, playhead moving, the source\'s size', async ({ browser }) => {
    for (let i = 0; i < 6; i++) viewers.push(await newPage(browser, watchUrl))
    for (const page of viewers) await expectPlays(page, sourceWidth)
    const depths = await Promise.all(viewers.map(async (p) => (await peer(p))!.depth))
    expect(depths.filter((d) => d === 1)).toHaveLength(2)
    expect(Math.max(...(depths as number[]))).toBeGreaterThanOrEqual(2)
    // The page shows the tree as a graph and live latency as a number.
    await expect(viewers[5]!.locator('#tree circle')).toHaveCount(7)
    await expect(viewers[5]!.locator('#tree circle.me')).toHaveCount(1)
    await expect(viewers[5]!.locator('dd[data-stat="live latency"]')).toHaveText(/^\d+ ms$/)
    // Every viewer, at every depth, is live: its picture is within 2 s of the source.
    for (const page of viewers) {
      const latency = await page.evaluate(() => (globalThis as unknown as { __demo: { player: { stats(): { liveLatencyMs: number | null } } } }).__demo.player.stats().liveLatencyMs)
      expect(latency).toBeGreaterThan(0)
      expect(latency).toBeLessThan(2000)
    }
    await expect(broadcaster.locator('dd[data-stat="viewers"]')).toHaveText('6')
    await broadcaster.screenshot({ path: `${SCREENSHOTS}/broadcast.png`, fullPage: true })
    await viewers[5]!.screenshot({ path: `${SCREENSHOTS}/watch.png`, fullPage: true })
    await viewers[5]!.setViewportSize({ width: 390, height: 844 })
    await viewers[5]!.screenshot({ path: `${SCREENSHOTS}/watch-phone.png`, fullPage: true })
    const overflow = await viewers[5]!.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow, 'no horizontal scrolling at phone width').toBeLessThanOrEqual(0)
  })

  test('a viewer joining 10 s late plays within the keyframe interval + 1 s', async ({ browser }) => {
    const wait = broadcastStartedAt + 10_000 - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const late = await newPage(browser, watchUrl)
    viewers.push(late)
    await expectPlays(late, sourceWidth)
    const { joinStartedAt, firstFrameAt } = await late.evaluate(() => (globalThis as unknown as { __demo: { joinStartedAt: number; firstFrameAt: number } }).__demo)
    expect(joinStartedAt - broadcastStartedAt).toBeGreaterThanOrEqual(10_000)
    console.log(`late joiner: first frame ${firstFrameAt - joinStartedAt} ms after joinTree()`)
    expect(firstFrameAt - joinStartedAt).toBeLessThanOrEqual(KEYFRAME_INTERVAL_MS + 1000)
  })

  test('the <script>-tag page (global Munro only) plays', async ({ browser }) => {
    const page = await newPage(browser, watchUrl.replace('watch.html', 'script-tag.html'))
    viewers.push(page)
    expect(await page.evaluate(() => typeof (globalThis as unknown as { Munro: { play: unknown; broadcast: unknown } }).Munro.play)).toBe('function')
    expect(await page.evaluate(() => typeof (globalThis as unknown as { Munro: { broadcast: unknown } }).Munro.broadcast)).toBe('function')
    await expectPlays(page, sourceWidth)
    await expect(page.locator('#state')).toHaveText('live')
  })

  test('closing an interior viewer\'s page: its descendants play on within 2 s, without a reload', async () => {
    const stats = await Promise.all(viewers.map(peer))
    const interior = stats.findIndex((s) => s?.depth === 1 && s.children.length > 0)
    expect(interior).toBeGreaterThanOrEqual(0)
    const descendants = new Set<string>(stats[interior]!.children)
    for (let grew = true; grew; ) {
      grew = false
      for (const s of stats) if (s?.peerId && s.parent && descendants.has(s.parent) && !descendants.has(s.peerId)) grew = descendants.add(s.peerId) && true
    }
    const pages = viewers.filter((_, i) => stats[i]?.peerId && descendants.has(stats[i]!.peerId!))
    expect(pages.length).toBeGreaterThanOrEqual(1)
    // Each descendant records the longest time its picture stood still from now on, and what its viewer and player
    // went through (to tell, if it froze too long, which recovery path it took).
    for (const page of pages) {
      await page.evaluate(() => {
        const v = document.getElementById('video') as HTMLVideoElement
        const w = globalThis as unknown as {
          __freeze: { longest: number; last: number; lastTime: number; events: string[]; t0: number }
          __demo: { viewer: { on(event: string, fn: (arg: unknown) => void): void }; player: { on(event: string, fn: (arg: unknown) => void): void } }
        }
        w.__freeze = { longest: 0, last: performance.now(), lastTime: v.currentTime, events: [], t0: performance.now() }
        const note = (what: string) => (arg: unknown) => w.__freeze.events.push(`${Math.round(performance.now() - w.__freeze.t0)} ${what}${typeof arg === 'string' ? ` ${arg.slice(0, 6)}` : (arg as { code?: string } | undefined)?.code ? ` ${(arg as { code: string }).code}` : ''}`)
        for (const event of ['parent-changed', 'parent-connected', 'stall', 'gap', 'signaling-lost', 'signaling-restored']) w.__demo.viewer.on(event, note(event))
        for (const event of ['waiting', 'playing', 'error']) w.__demo.player.on(event, note(`player ${event}`))
        setInterval(() => {
          const now = performance.now()
          if (v.currentTime !== w.__freeze.lastTime) Object.assign(w.__freeze, { last: now, lastTime: v.currentTime })
          w.__freeze.longest = Math.max(w.__freeze.longest, now - w.__freeze.last)
        }, 50)
      })
    }
    const urls = await Promise.all(pages.map((p) => p.evaluate(() => location.href)))
    await Promise.all(pages.map((p) => p.evaluate(() => ((globalThis as unknown as { __freeze: { t0: number } }).__freeze.t0 = performance.now()))))
    await viewers[interior]!.context().close()
    await new Promise((r) => setTimeout(r, 8000))
    for (const [i, page] of pages.entries()) {
      const { longest, events } = await page.evaluate(() => (globalThis as unknown as { __freeze: { longest: number; events: string[] } }).__freeze)
      console.log(`descendant ${i}: longest freeze ${Math.round(longest)} ms (events, ms after the tab closed: ${events.join(', ') || 'none'})`)
      expect(longest).toBeLessThanOrEqual(2000)
      expect(await page.evaluate(() => location.href)).toBe(urls[i])
      const after = await peer(page)
      expect(after!.parent).not.toBe(stats[interior]!.peerId)
    }
  })

  test('every error is on the page: bad tree id, unreachable server, tree ended', async ({ browser }) => {
    const bad = await newPage(browser, '/watch.html?tree=not-a-tree')
    await expect(bad.locator('#error')).toHaveAttribute('data-code', 'ERR_BAD_TREE_ID')
    await expect(bad.locator('#error')).toBeVisible()
    const treeId = new URL(watchUrl).searchParams.get('tree')!
    const unreachable = await newPage(browser, `/watch.html?tree=${treeId}&signal=http://127.0.0.1:9`)
    await expect(unreachable.locator('#error')).toBeVisible({ timeout: 30_000 })
    await broadcaster.click('#stop')
    const watching = viewers.filter((p) => !p.isClosed() && p.url().includes('watch.html'))
    for (const page of watching) await expect(page.locator('#error')).toHaveAttribute('data-code', 'TREE_ENDED', { timeout: 15_000 })
    await watching[0]!.screenshot({ path: `${SCREENSHOTS}/watch-ended.png` })
  })
})
