// play() in Chromium on the recorded fixtures: it starts at a start point,
// waits for one after a gap, trims its back buffer, recovers from corrupt
// data and says so with stable codes.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ContainerMessage } from '../../src/media/container.js'
import { Mp4Splitter } from '../../src/media/mp4-splitter.js'
import { WebmSplitter } from '../../src/media/webm-splitter.js'
import { waitFor } from '../helpers/signaling.js'
import { pageApi, startHarness, type Harness, type PageCaller } from './harness.js'
import type { PlayerPageApi } from './player.page.js'

let harness: Harness

beforeAll(async () => {
  harness = await startHarness({ player: 'test/browser/player.page.ts' }, { browserArgs: ['--autoplay-policy=no-user-gesture-required'] })
}, 120_000)

afterAll(async () => {
  await harness?.close()
})

const recording = (file: string): ContainerMessage[] => {
  const s = file.endsWith('.mp4') ? new Mp4Splitter() : new WebmSplitter()
  return [...s.push(new Uint8Array(readFileSync(new URL(`../media/fixtures/${file}`, import.meta.url)))), ...s.end()]
}
const wire = (m: ContainerMessage, extra: { gap?: boolean } = {}) => ({ data: m.data, init: m.init, startPoint: m.startPoint, ...extra })

async function player(): Promise<PageCaller<PlayerPageApi>> {
  return pageApi<PlayerPageApi>((await harness.open('player')).page, 'munroPlayer')
}

async function until(call: PageCaller<PlayerPageApi>, what: string, predicate: (s: Awaited<ReturnType<PlayerPageApi['stats']>>) => boolean, timeoutMs = 10_000) {
  let last: Awaited<ReturnType<PlayerPageApi['stats']>> | undefined
  await waitFor(async () => predicate((last = await call('stats'))), timeoutMs, what).catch((err: Error) => {
    throw new Error(`${err.message}; last stats ${JSON.stringify(last)}`)
  })
  return last!
}

describe('play() in Chromium', () => {
  it.each(['vp8.webm', 'vp9.webm', 'avc1.mp4'])('plays the %s recording: codec from the init message, frames decoded at the source size', async (file) => {
    const call = await player()
    const messages = recording(file)
    await call('start')
    await call('feed', messages.map((m) => wire(m)))
    const s = await until(call, 'playing', (s) => s.framesDecoded > 0 && s.videoWidth > 0 && s.events.includes('playing'))
    expect(s.videoWidth).toBe(320)
    expect(s.videoHeight).toBe(240)
    expect(s.mimeType).toMatch(file.endsWith('.mp4') ? /^video\/mp4/ : /^video\/webm/)
    expect(s.events.filter((e) => e.startsWith('error'))).toEqual([])
  })

  it('a late joiner skips to the first start point and seeks to where it begins', async () => {
    const call = await player()
    const [init, ...media] = recording('vp8.webm')
    const firstStart = media.findIndex((m, i) => i > 0 && m.startPoint)
    await call('start')
    await call('feed', [init!, ...media.slice(1)].map((m) => wire(m)))
    const s = await until(call, 'playing', (s) => s.framesDecoded > 0)
    expect(s.messagesSkipped).toBe(firstStart - 1)
    expect(s.bufferedStart! * 1000).toBeGreaterThanOrEqual(media[firstStart]!.startMs! - 100)
    expect(s.currentTime).toBeGreaterThanOrEqual(s.bufferedStart!)
  })

  it('after a gap it waits for the next start point, then plays across the hole', async () => {
    const call = await player()
    const [init, ...media] = recording('vp8.webm')
    const starts = media.flatMap((m, i) => (m.startPoint ? [i] : []))
    const resume = starts[2]!
    await call('start', { maxBehindSec: 30 })
    await call('feed', [wire(init!), ...media.slice(0, 2).map((m) => wire(m))])
    await until(call, 'playing', (s) => s.framesDecoded > 0)
    // The data plane skipped from message 2 to resume - 2: those are no start points.
    await call('feed', [wire(media[resume - 2]!, { gap: true }), wire(media[resume - 1]!), ...media.slice(resume).map((m) => wire(m))])
    const s = await until(call, 'past the hole', (s) => s.currentTime * 1000 > media[resume]!.startMs! + 200)
    expect(s.gaps).toBe(1)
    expect(s.events).toContain('waiting:gap')
    expect(s.messagesSkipped).toBe(2)
    expect(s.events.filter((e) => e.startsWith('error'))).toEqual([])
  })

  it('trims the back buffer: media older than backBufferSec is removed as it plays', async () => {
    const call = await player()
    const messages = recording('vp9.webm')
    await call('start', { backBufferSec: 0.5 })
    // Real time: each message when the recorder would have produced it.
    const t0 = Date.now()
    for (const m of messages) {
      const due = (m.endMs ?? 0) - (Date.now() - t0)
      if (due > 0) await new Promise((r) => setTimeout(r, due))
      await call('feed', [wire(m)])
    }
    const s = await until(call, 'trimmed', (s) => (s.bufferedStart ?? 0) > 0.4)
    expect(s.bufferedStart!).toBeLessThanOrEqual(s.currentTime)
  })

  it('an init message with a codec this browser lacks: ERR_UNSUPPORTED_CODEC, state failed', async () => {
    const call = await player()
    const [init] = recording('vp8.webm')
    const bytes = init!.data.slice()
    const at = Buffer.from(bytes).indexOf('V_VP8')
    bytes.set(new TextEncoder().encode('V_XYZ'), at)
    await call('start')
    await call('feed', [{ data: bytes, init: true }])
    const s = await until(call, 'failed', (s) => s.state === 'failed')
    expect(s.events).toContain('error:ERR_UNSUPPORTED_CODEC')
  })

  it('corrupt media: ERR_DECODE, then it rebuilds and plays again from the next start point; nothing after destroy()', async () => {
    const call = await player()
    const [init, ...media] = recording('vp8.webm')
    const starts = media.flatMap((m, i) => (m.startPoint ? [i] : []))
    await call('start', { maxBehindSec: 30 })
    const broken = media[1]!.data.slice()
    broken.fill(0, 0, 16)
    await call('feed', [wire(init!), wire(media[0]!), { data: broken }])
    await until(call, 'decode error', (s) => s.events.includes('error:ERR_DECODE'), 10_000)
    await call('feed', media.slice(starts[1]!).map((m) => wire(m)))
    const s = await until(call, 'playing again', (s) => s.recoveries === 1 && s.state === 'playing' && s.framesDecoded > 0)
    expect(s.events).toContain('waiting:recovery')
    // Compared with the moment of destroy(), not with the snapshot above: the playing player may emit meanwhile.
    const atDestroy = await call('destroy')
    await call('feed', [wire(init!), ...media.map((m) => wire(m))])
    await new Promise((r) => setTimeout(r, 500))
    const after = await call('stats')
    expect(after.state).toBe('destroyed')
    expect(after.events).toEqual(atDestroy.events)
    expect(after.messagesAppended).toBe(atDestroy.messagesAppended)
  })
})
