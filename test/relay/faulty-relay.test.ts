// One hostile or broken relay per attack, at the defaults users get (k = 4,
// default stall and keepalive times), over real WebRTC. Its four children must
// miss nothing, report it with the right reason, and nobody else may be reported.
import { describe, expect, it } from 'vitest'
import { createSource, joinTree } from '../../src/index.js'
import type { ReportReason } from '../../src/protocol/signaling.js'
import { expectEveryMessage, useTreeFixture } from '../helpers/fixture.js'
import { startHostilePeer, type Attack } from '../helpers/hostile-peer.js'
import { recordReports } from '../helpers/reports.js'
import { startServer, waitFor } from '../helpers/signaling.js'
import { allConnected, DEFAULTS, makeMessages, record, writePaced } from '../helpers/tree.js'

const f = useTreeFixture()

const cases: Array<[Attack, ReportReason]> = [
  ['poison', 'invalid-data'],
  ['replay-withhold', 'unresponsive'],
  ['flap', 'unresponsive'],
  ['keepalive-flood', 'unresponsive'],
  ['giant-frames', 'unresponsive']
]

describe('faulty relay (k = 4, default timings)', () => {
  it.each(cases)('a relay that attacks with %s is reported (%s) by its children, who miss nothing; nobody else is reported', async (attack, reason) => {
    const { reportPolicy, reports } = recordReports()
    const server = (f.server = await startServer({ reportPolicy }))
    const source = (f.source = await createSource({ signal: server.url, ...DEFAULTS, k1: 2 }))
    const treeId = source.treeId
    // BFS: v0 and the hostile relay under the source; the next four joins go under v0, the four after under the relay.
    f.viewers.push(await joinTree(treeId, { signal: server.url, ...DEFAULTS }))
    // One victim's offer to a relay that is honest for a link's first second is lost: it connects a connect timeout
    // late, may get the stream's end from the relay itself, and must still catch the withholding that follows.
    const hostile = await startHostilePeer(server.url, treeId, attack, { loseFirstOffer: attack === 'replay-withhold' })
    f.cleanups.push(() => hostile.destroy())
    for (let i = 0; i < 8; i++) f.viewers.push(await joinTree(treeId, { signal: server.url, ...DEFAULTS }))
    const victims = f.viewers.filter((v) => v.placement!.parent === hostile.peerId)
    expect(victims).toHaveLength(4)
    const logs = f.viewers.map(record)
    await allConnected(f.viewers.filter((v) => !victims.includes(v)))

    const messages = makeMessages(300)
    const want = await writePaced(source, messages, 30)
    await expectEveryMessage(logs, want, 'every honest viewer to have every message', () => {
      const state = f.viewers.map((v, i) => `${victims.includes(v) ? 'victim' : 'viewer'} ${logs[i]!.length}/${want.length}`)
      return `${state.join('; ')}; reports ${JSON.stringify(reports.map((r) => [r.accused === hostile.peerId ? 'relay' : r.accused, r.reason]))}`
    })

    // Every victim leaves the relay, though not necessarily before it has every message (see loseFirstOffer).
    await waitFor(() => victims.every((v) => v.placement!.parent !== hostile.peerId), 30_000, 'every victim to leave the relay').catch((err: Error) => {
      throw new Error(`${err.message}: ${victims.filter((v) => v.placement!.parent === hostile.peerId).length} still under it`)
    })
    const against = reports.filter((r) => r.accused === hostile.peerId)
    // Each child reports it; after three invalid-data reports (the server's default) the server evicts it, moving the rest.
    expect(new Set(against.map((r) => r.reporter)).size).toBeGreaterThanOrEqual(reason === 'invalid-data' ? 3 : victims.length)
    expect(new Set(against.map((r) => r.reason))).toEqual(new Set([reason]))
    const role = (id: string) => {
      const i = f.viewers.findIndex((v) => v.placement?.peerId === id)
      if (i < 0) return id === source.stats().peerId ? 'the source' : 'unknown'
      return `${victims.includes(f.viewers[i]!) ? 'victim' : 'viewer'} ${i} (now depth ${f.viewers[i]!.placement!.depth})`
    }
    expect(reports.filter((r) => r.accused !== hostile.peerId).map((r) => `${role(r.reporter)} reported ${role(r.accused)}`)).toEqual([])
    console.log(`[faulty-relay] ${attack}: ${f.viewers.length} honest viewers lost 0 of ${messages.length} messages; ` +
      `${against.length} reports against the relay (${reason}), 0 against anyone else`)
  }, 90_000)
})
