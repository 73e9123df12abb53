// Live video through the demo pages in Chromium with the fake camera:
//  - join → first decoded frame (joinTree() called → the player's first frame);
//  - live latency (the source's signed wall time of the frame on screen
//    against now, the player's own figure) at depth 1, 2 and 4 of a chain (k = 1);
//  - CPU of one viewer playing 2.5 Mbit/s, from a browser of its own (every
//    process of that browser, so decoding, relaying and verifying all count).
//    The fake camera's test pattern compresses to well under 1 Mbit/s, so this
//    broadcaster's camera plays a Y4M file of noise that fills 2.5 Mbit/s.
// Targets (issue 9): live latency p50 ≤ 1.0 s at depth 3; first frame ≤ keyframe interval + 500 ms.
//
//   bash scripts/netns.sh node --import tsx bench/video-browser.ts [--json]
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../test/browser/harness.js'
import { startDemoServer } from '../test/e2e/demo-server.js'
import { quantile } from './raw-relay-browser.js'

const MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required']

export interface VideoBenchResult {
  /** joinTree() → first frame on screen, ms, one per join. */
  firstFrameMs: number[]
  /** Live latency samples (ms) by depth. */
  latency: Record<number, { p50: number; p95: number; n: number }>
  cpu: { bitrateBps: number; width: number; height: number; cpuPercentOfOneCore: number; seconds: number }
}

interface Demo {
  __demo: {
    joinStartedAt?: number
    firstFrameAt?: number
    viewer?: { stats(): { depth: number | null } }
    player?: { stats(): { liveLatencyMs: number | null; bitrateBps: number; videoWidth: number; videoHeight: number; framesDecoded: number } }
  }
}

async function broadcaster(browser: Browser, url: string, query: string, k: number): Promise<{ page: Page; watchUrl: string }> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(`${url}?${query}`)
  await page.fill('#k1', String(k))
  await page.fill('#k', String(k))
  await page.click('#camera')
  await page.waitForFunction(() => (document.getElementById('link') as HTMLInputElement).value.includes('tree='))
  return { page, watchUrl: await page.inputValue('#link') }
}

async function viewer(browser: Browser, watchUrl: string): Promise<{ page: Page; firstFrameMs: number }> {
  const page = await (await browser.newContext()).newPage()
  await page.goto(watchUrl)
  await page.waitForFunction(() => (globalThis as unknown as Demo).__demo.firstFrameAt !== undefined, undefined, { timeout: 30_000 })
  const d = await page.evaluate(() => {
    const { joinStartedAt, firstFrameAt } = (globalThis as unknown as Demo).__demo
    return { joinStartedAt: joinStartedAt!, firstFrameAt: firstFrameAt! }
  })
  return { page, firstFrameMs: d.firstFrameAt - d.joinStartedAt }
}

const playerStats = (page: Page) => page.evaluate(() => (globalThis as unknown as Demo).__demo.player!.stats())
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** CPU seconds of every process of `browser`, through the DevTools protocol. */
async function browserCpuSeconds(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession()
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { cpuTime: number }[] }
  await cdp.detach()
  return processInfo.reduce((n, p) => n + p.cpuTime, 0)
}

/**
 * 1280×720 frames of faint noise on grey (YUV 4:2:0, 30 fps, looped by
 * Chromium): detail an encoder cannot drop, faint enough that a keyframe
 * still fits a 2.5 Mbit/s budget.
 */
async function noiseVideo(dir: string): Promise<string> {
  const [w, h, frames] = [1280, 720, 12]
  const chroma = Buffer.alloc(w * h / 2, 128)
  const parts: Buffer[] = [Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\n`)]
  for (let i = 0; i < frames; i++) parts.push(Buffer.from('FRAME\n'), Buffer.from(randomBytes(w * h).map((b) => 112 + (b & 31))), chroma)
  const path = join(dir, 'noise.y4m')
  await writeFile(path, Buffer.concat(parts))
  return path
}

export async function runVideoBench(): Promise<VideoBenchResult> {
  const demo = await startDemoServer()
  const browser = await launchBrowser({ args: MEDIA_ARGS })
  let measured: Browser | undefined
  let noisy: Browser | undefined
  const tmp = await mkdtemp(join(tmpdir(), 'munro-video-bench-'))
  try {
    // --- a chain (k = 1): depth 1..4, then three more joins below it.
    const chain = await broadcaster(browser, demo.url, 'video=320x240', 1)
    const viewers: Page[] = []
    const firstFrameMs: number[] = []
    for (let i = 0; i < 7; i++) {
      await sleep(1500)
      const v = await viewer(browser, chain.watchUrl)
      viewers.push(v.page)
      firstFrameMs.push(v.firstFrameMs)
    }
    const samples: Record<number, number[]> = { 1: [], 2: [], 4: [] }
    for (let t = 0; t < 60; t++) {
      for (const depth of [1, 2, 4]) {
        const s = await playerStats(viewers[depth - 1]!)
        if (s.liveLatencyMs !== null) samples[depth]!.push(s.liveLatencyMs)
      }
      await sleep(250)
    }
    const latency: VideoBenchResult['latency'] = {}
    for (const [depth, xs] of Object.entries(samples)) latency[Number(depth)] = { p50: quantile(xs, 0.5), p95: quantile(xs, 0.95), n: xs.length }
    await Promise.all(viewers.map((p) => p.context().close()))
    await chain.page.context().close()

    // --- one viewer at 2.5 Mbit/s, alone in its browser.
    noisy = await launchBrowser({ args: [...MEDIA_ARGS, `--use-file-for-fake-video-capture=${await noiseVideo(tmp)}`] })
    const hd = await broadcaster(noisy, demo.url, 'video=1280x720&bitrate=2500000', 4)
    measured = await launchBrowser({ args: MEDIA_ARGS })
    const watcher = await viewer(measured, hd.watchUrl)
    await sleep(3000)
    const cpu0 = await browserCpuSeconds(measured)
    const t0 = performance.now()
    await sleep(10_000)
    const cpu1 = await browserCpuSeconds(measured)
    const seconds = (performance.now() - t0) / 1000
    const s = await playerStats(watcher.page)
    return {
      firstFrameMs,
      latency,
      cpu: { bitrateBps: s.bitrateBps, width: s.videoWidth, height: s.videoHeight, cpuPercentOfOneCore: ((cpu1 - cpu0) / seconds) * 100, seconds }
    }
  } finally {
    await measured?.close()
    await noisy?.close()
    await browser.close()
    await demo.close()
    await rm(tmp, { recursive: true, force: true })
  }
}

export function formatVideoBench(r: VideoBenchResult): string {
  const ff = [...r.firstFrameMs].sort((a, b) => a - b)
  return [
    'video (demo pages, Chromium fake camera, VP8 in WebM, keyframe every 1 s, 200 ms timeslice)',
    `  join → first frame          p50 ${quantile(ff, 0.5).toFixed(0)} ms, max ${ff.at(-1)!.toFixed(0)} ms (${ff.length} joins: ${r.firstFrameMs.map((x) => x.toFixed(0)).join(', ')})`,
    ...Object.entries(r.latency).map(([d, l]) => `  live latency, depth ${d}       p50 ${l.p50.toFixed(0)} ms, p95 ${l.p95.toFixed(0)} ms (${l.n} samples)`),
    `  viewer CPU at ${(r.cpu.bitrateBps / 1e6).toFixed(2)} Mbit/s     ${r.cpu.cpuPercentOfOneCore.toFixed(0)}% of one core (${r.cpu.width}×${r.cpu.height}, all processes of its browser, ${r.cpu.seconds.toFixed(0)} s)`
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runVideoBench()
  console.log(process.argv.includes('--json') ? JSON.stringify(r, null, 2) : formatVideoBench(r))
  process.exit(0)
}
