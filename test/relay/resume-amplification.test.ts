// A child that drops its connection 300 ms after each open and reconnects at
// once, each time asking for the whole window, at the defaults users get: its
// parent takes one connection per second from it and serves each from where
// the last one stopped, so the attacker gets about one copy of the stream
// (unprotected: a window per reconnect), and its siblings miss nothing.
import { describe, expect, it } from 'vitest'
import { createSource, joinTree } from '../../src/index.js'
import { expectEveryMessage, useTreeFixture } from '../helpers/fixture.js'
import { startReconnectingChild } from '../helpers/reconnecting-child.js'
import { recordReports } from '../helpers/reports.js'
import { startServer } from '../helpers/signaling.js'
import { allConnected, DEFAULTS, makeMessages, record, writePaced } from '../helpers/tree.js'

const f = useTreeFixture()

describe('resume amplification', () => {
  it('a child reconnecting 300 ms after each open, from index 0, gets about one copy of the stream; its siblings miss nothing', async () => {
    const { reportPolicy, reports } = recordReports()
    const server = (f.server = await startServer({ reportPolicy }))
    const source = (f.source = await createSource({ signal: server.url, ...DEFAULTS, k1: 1 }))
    const treeId = source.treeId
    // BFS: P under the source; the attacker and three honest siblings under P.
    const parent = await joinTree(treeId, { signal: server.url, ...DEFAULTS })
    f.viewers.push(parent)
    const attacker = await startReconnectingChild(server.url, treeId, 300)
    f.cleanups.push(() => attacker.destroy())
    for (let i = 0; i < 3; i++) f.viewers.push(await joinTree(treeId, { signal: server.url, ...DEFAULTS }))
    expect(f.viewers.slice(1).every((v) => v.placement!.parent === parent.placement!.peerId)).toBe(true)
    const logs = f.viewers.map(record)
    await allConnected(f.viewers)

    // 12 s of stream at ~1.2 MB/s: an unprotected parent would re-send up to its 15 s window per reconnect.
    const messages = makeMessages(400)
    const streamBytes = messages.reduce((n, m) => n + m.byteLength, 0)
    const before = attacker.bytesIn()
    const want = await writePaced(source, messages, 30)
    await expectEveryMessage(logs, want, 'every honest viewer to have every message')

    const received = attacker.bytesIn() - before
    const dropped = (parent as unknown as { peer: { counters: { droppedOffers: number } } }).peer.counters.droppedOffers
    console.log(`[resume-amplification] attacker reconnected ${attacker.reconnects()} times: it received ${(received / streamBytes).toFixed(2)}x the stream ` +
      `(${(received / 1e6).toFixed(1)} MB of ${(streamBytes / 1e6).toFixed(1)} MB); parent dropped ${dropped} offers; siblings lost 0 of ${messages.length}`)
    // Framing adds a little; each reconnect may repeat what was still in flight. Unprotected, it is many copies.
    expect(received).toBeLessThan(2 * streamBytes)
    expect(attacker.reconnects()).toBeGreaterThan(10)
    expect(reports).toEqual([])
  }, 90_000)
})
