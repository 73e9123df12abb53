// One munro-signal process of two killed (SIGKILL) while a tree of real
// WebRTC Node peers (@roamhq/wrtc) streams through a load balancer: the
// peers it held reconnect through the balancer to the other process and
// resume with their ids; no viewer loses a message or its place.
import { afterEach, describe, expect, it } from 'vitest'
import type { MunroSource, MunroViewer } from '../../src/index.js'
import type { SignalingClient } from '../../src/signaling/signaling-client.js'
import { waitFor } from '../helpers/signaling.js'
import { startRedis } from '../helpers/redis-server.js'
import { startBalancer } from '../helpers/tcp-balancer.js'
import { allConnected, makeMessages, record, sleep, startSource, startViewers, digest } from '../helpers/tree.js'
import { killProcess, serveOnRedis } from './cluster-processes.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

describe('munro-signal --redis, a process killed mid-stream', () => {
  it('a source and 12 WebRTC viewers spread over two processes: one dies, nobody loses a message or its place', async () => {
    const redis = await startRedis()
    cleanups.push(() => redis.stop())
    const [a, b] = [await serveOnRedis(redis.url, 2_000, cleanups), await serveOnRedis(redis.url, 2_000, cleanups)]
    const lb = await startBalancer([a.port, b.port])
    cleanups.push(() => lb.close())
    const source: MunroSource = await startSource(lb.url)
    cleanups.push(async () => source.destroy())
    const treeId = source.treeId
    const viewers: MunroViewer[] = await startViewers(lb.url, treeId, 12)
    cleanups.push(async () => viewers.forEach((v) => v.destroy()))
    const got = viewers.map(record)
    const ended: string[] = []
    for (const v of viewers) v.on('tree-ended', (e) => ended.push(e.reason))
    const clients = [source, ...viewers].map((x) => (x as unknown as { signaling: SignalingClient }).signaling)
    const ids = clients.map((c) => c.placementOf(treeId)!.peerId)
    let lost = 0
    let restored = 0
    for (const c of clients) {
      c.on('signaling-lost', () => lost++)
      c.on('signaling-restored', () => restored++)
    }
    await allConnected(viewers)

    const messages = makeMessages(60)
    const writer = (async () => {
      for (const m of messages) {
        await source.write(m)
        await sleep(100)
      }
    })()
    await sleep(1_500)
    lb.backends = [a.port]
    await killProcess(b)
    await writer
    // Roughly half the peers were on the killed process.
    expect(lost).toBeGreaterThan(0)
    await waitFor(() => restored === lost, 30_000, 'every peer that lost its process to be restored')
    await waitFor(() => got.every((g) => g.length === messages.length), 20_000, 'every viewer to have every message')
    const want = messages.map(digest)
    for (const g of got) expect(g).toEqual(want)
    expect(ended).toEqual([])
    expect(clients.map((c) => c.placementOf(treeId)!.peerId)).toEqual(ids)
    const shape = (await (await fetch(`${a.url}/trees/${treeId}`)).json()) as { size: number }
    expect(shape.size).toBe(13)
    console.log(`process killed mid-stream: ${lost} of 13 peers lost their process; messages per viewer ${got.map((g) => g.length).join(',')} of ${messages.length}`)
  }, 120_000)
})
