// A source page, six viewer pages and two Node viewers relaying through one tree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MunroViewer } from '../../src/index.js'
import { startServer, waitFor, type TestServer } from '../helpers/signaling.js'
import { allConnected, digest, makeMessages, record, sleep, startViewers } from '../helpers/tree.js'
import { pageApi, startHarness, type Harness, type PageCaller } from './harness.js'
import type { TreePageApi } from './tree.page.js'

let harness: Harness
let server: TestServer
let nodeViewers: MunroViewer[] = []

beforeAll(async () => {
  harness = await startHarness({ tree: 'test/browser/tree.page.ts' })
  server = await startServer()
}, 120_000)

afterAll(async () => {
  for (const v of nodeViewers) v.destroy()
  await harness?.close()
  await server?.close()
})

describe('munro in Chromium', () => {
  it('a source page streams through viewer pages at depth >= 3, and to Node peers below them', async () => {
    const open = async () => pageApi<TreePageApi>((await harness.open('tree')).page, 'munroTree')
    const source = await open()
    const treeId = await source('startSource', server.url, 2, 1)

    const viewers: PageCaller<TreePageApi>[] = []
    const depths: number[] = []
    for (let i = 0; i < 6; i++) {
      const page = await open()
      depths.push((await page('join', server.url, treeId)).depth)
      viewers.push(page)
    }
    expect(depths).toEqual([1, 2, 2, 3, 3, 3])
    // Node viewers join below the browser pages (Chromium <-> node-webrtc links).
    nodeViewers = await startViewers(server.url, treeId, 2)
    const nodeLogs = nodeViewers.map(record)
    for (const v of nodeViewers) expect(v.placement!.depth).toBeGreaterThanOrEqual(3)
    await waitFor(async () => (await Promise.all(viewers.map((v) => v('connected')))).every(Boolean), 20_000, 'pages connected')
    await allConnected(nodeViewers)

    const messages = makeMessages(60)
    for (const m of messages) {
      await source('write', m)
      await sleep(10)
    }
    const want = messages.map(digest)
    await waitFor(async () => (await Promise.all(viewers.map((v) => v('received')))).every((r) => r.length >= want.length), 30_000, 'every page to have every message')
    for (const v of viewers) expect(await v('received')).toEqual(want)
    await waitFor(() => nodeLogs.every((l) => l.length >= want.length), 10_000, 'Node viewers')
    for (const log of nodeLogs) expect(log).toEqual(want)
    for (const v of viewers) expect((await v('stats'))!.chunksRejected).toBe(0)
  }, 120_000)
})
