import { afterEach, describe, expect, it } from 'vitest'
import { joinTree, type MunroSource, type MunroViewer, type RejectedChunk } from '../../src/index.js'
import { startServer, waitFor, type TestServer } from '../helpers/signaling.js'
import { startHostilePeer, type Attack, type HostilePeer } from '../helpers/hostile-peer.js'
import { allConnected, digest, FAST, makeMessages, record, sleep, startSource } from '../helpers/tree.js'

let server: TestServer
let source: MunroSource | undefined
let hostile: HostilePeer | undefined
let viewers: MunroViewer[] = []

afterEach(async () => {
  for (const v of viewers) v.destroy()
  hostile?.destroy()
  source?.destroy()
  viewers = []
  hostile = undefined
  source = undefined
  await server?.close()
})

const cases: [Attack, string][] = [
  ['flip-bits', 'ERR_BAD_PROOF'],
  ['replay-munro', 'ERR_BAD_SIGNATURE'],
  ['foreign-key', 'ERR_BAD_SIGNATURE'],
  ['withhold', 'stall']
]

describe('hostile relay', () => {
  it.each(cases)('children of a peer that attacks with %s detect it (%s), report it, move, and miss nothing', async (attack, expected) => {
    server = await startServer()
    source = await startSource(server.url, { k: 2, k1: 2 })
    const treeId = source.treeId
    // BFS: v0 and the hostile peer under the source; the hostile peer's children are the 4th and 5th viewers.
    // The source's heartbeats flow before the first write, so a tampering relay can be caught (and its child moved,
    // its slot given to a later join) while the others still join: watch every viewer from its join, and count as
    // victims all that were placed under it.
    const rejections: RejectedChunk[] = []
    const stalls: string[] = []
    const victims: MunroViewer[] = []
    const join = async () => {
      const v = await joinTree(treeId, { signal: server.url, ...FAST })
      v.on('chunk-rejected', (r) => rejections.push(r))
      v.on('stall', (id) => stalls.push(id))
      if (hostile && v.placement!.parent === hostile.peerId) victims.push(v)
      viewers.push(v)
    }
    await join()
    hostile = await startHostilePeer(server.url, treeId, attack)
    for (let i = 0; i < 10; i++) await join()
    const logs = viewers.map(record)
    await allConnected(viewers)
    expect(victims.length).toBeGreaterThanOrEqual(2)

    const messages = makeMessages(100)
    for (const m of messages) {
      source.write(m)
      await sleep(15)
    }
    const want = messages.map(digest)
    await waitFor(() => logs.every((l) => l.length >= want.length), 30_000, 'every honest viewer to have every message')
    for (const log of logs) expect(log).toEqual(want)

    if (expected === 'stall') {
      expect(stalls.filter((id) => id === hostile!.peerId).length).toBeGreaterThanOrEqual(victims.length)
    } else {
      expect(rejections.length).toBeGreaterThanOrEqual(victims.length)
      for (const r of rejections) expect(r).toMatchObject({ code: expected, parentId: hostile.peerId, reported: true })
    }
    // Reported to the server, moved away, and nothing forged was ever delivered.
    for (const v of victims) expect(v.placement!.parent).not.toBe(hostile.peerId)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    const reason = expected === 'stall' ? 'unresponsive' : 'invalid-data'
    expect(Number(metrics.match(new RegExp(`munro_reports_total\\{reason="${reason}"\\} (\\d+)`))?.[1] ?? 0)).toBeGreaterThanOrEqual(victims.length)
  })
})
