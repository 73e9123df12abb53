// PeerLink in a real browser: a Vite-built page in Chromium, driven from Node.
// Run inside the network namespace: bash scripts/netns.sh npx vitest run test/browser
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SignalData } from '../../src/transport/index.js'
import { pageApi, startHarness, type Harness, type OpenedPage } from './harness.js'
import type { PeerLinkPageApi } from './peer-link.page.js'

let harness: Harness
beforeAll(async () => {
  harness = await startHarness({ link: 'test/browser/peer-link.page.ts' })
}, 120_000)
afterAll(async () => {
  await harness?.close()
})

describe('PeerLink in Chromium', () => {
  it('two links in one page exchange 500 frames bit-exact and in order', async () => {
    const { page, errors } = await harness.open('link')
    const result = await pageApi<PeerLinkPageApi>(page, 'munroTest')('exchangeInPage', 500, 0xc0ffee)
    expect(result.received).toBe(500)
    expect(result.firstMismatch).toBeNull()
    expect(result.allUint8Array).toBe(true)
    expect(result.bytes).toBe(result.sent.bytes)
    expect(result.bytesSent).toBe(result.sent.bytes)
    expect(result.bytesReceived).toBe(result.sent.bytes)
    expect(result.remoteClosed).toBe(true)
    expect(result.sent.drains).toBeGreaterThan(0) // ~4 MB through a 1 MiB high-water mark
    expect(errors).toEqual([])
  }, 60_000)

  it('backpressure in Chromium: bounded queue, ERR_QUEUE_FULL, drain via bufferedamountlow, nothing lost', async () => {
    const { page, errors } = await harness.open('link')
    const kib = 1024
    const r = await pageApi<PeerLinkPageApi>(page, 'munroTest')('backpressureInPage', 256 * kib, 512 * kib, 128 * kib)
    expect(r.overflowCode).toBe('ERR_QUEUE_FULL')
    expect(r.firstFalse).toBeGreaterThanOrEqual(0)
    expect(r.firstFalse).toBeLessThan(r.accepted)
    expect(r.maxQueued).toBeLessThanOrEqual(256 * kib)
    expect(r.atOverflow.queuedBytes).toBe(256 * kib)
    expect(r.atOverflow.bufferedAmount).toBeGreaterThanOrEqual(512 * kib)
    expect(r.atOverflow.state).toBe('open')
    expect(r.drainedAt).toBeLessThanOrEqual(128 * kib)
    expect(r.queuedAfterDrain).toBe(0)
    expect(r.received).toBe(r.accepted)
    expect(r.inOrder).toBe(true)
    expect(errors).toEqual([])
  }, 60_000)

  it('links in two pages, signaling through the test, exchange 500 frames bit-exact and in order', async () => {
    // Each page hands its link's signals to Node, which passes them to the other page.
    const pages: { a?: OpenedPage; b?: OpenedPage } = {}
    const relayTo = (to: 'a' | 'b') => async (data: SignalData) => {
      const target = pages[to]
      if (target) await pageApi<PeerLinkPageApi>(target.page, 'munroTest')('signal', data)
    }
    pages.a = await harness.open('link', { beforeLoad: (page) => page.exposeFunction('munroSignalOut', relayTo('b')) })
    pages.b = await harness.open('link', { beforeLoad: (page) => page.exposeFunction('munroSignalOut', relayTo('a')) })
    const a = pageApi<PeerLinkPageApi>(pages.a.page, 'munroTest')
    const b = pageApi<PeerLinkPageApi>(pages.b.page, 'munroTest')

    await b('createLink', false)
    await a('createLink', true)
    await Promise.all([a('waitOpen'), b('waitOpen')])

    const received = b('receiveAll', 7, 500)
    const sent = await a('sendAll', 7, 500)
    const got = await received
    expect(got.received).toBe(500)
    expect(got.firstMismatch).toBeNull()
    expect(got.allUint8Array).toBe(true)
    expect(got.bytes).toBe(sent.bytes)

    // Destroying one page's link closes the other's.
    await a('destroy')
    await expect.poll(() => b('state'), { timeout: 10_000 }).toBe('closed')
    expect(pages.a.errors).toEqual([])
    expect(pages.b.errors).toEqual([])
  }, 60_000)
})
