// A viewer whose wall clock is a minute off (ahead or behind the source's),
// in its own process, relaying to four children at the defaults users get: it
// plays everything, its children miss nothing, and nobody is reported.
import { describe, expect, it } from 'vitest'
import { createSource, joinTree } from '../../src/index.js'
import { expectEveryMessage, useTreeFixture } from '../helpers/fixture.js'
import { spawnViewer } from '../helpers/processes.js'
import { recordReports } from '../helpers/reports.js'
import { startServer, waitFor } from '../helpers/signaling.js'
import { allConnected, DEFAULTS, makeMessages, record, writePaced } from '../helpers/tree.js'

const f = useTreeFixture()

describe('clock skew', () => {
  it.each([60_000, -60_000])('a relay whose clock is off by %i ms plays and forwards everything; nobody is reported', async (offset) => {
    const { reportPolicy, reports } = recordReports()
    const server = (f.server = await startServer({ reportPolicy }))
    const source = (f.source = await createSource({ signal: server.url, ...DEFAULTS, k1: 1 }))
    const skewed = await spawnViewer(server.url, source.treeId, 'defaults', offset)
    f.cleanups.push(() => skewed.kill('SIGKILL'))
    for (let i = 0; i < 6; i++) f.viewers.push(await joinTree(source.treeId, { signal: server.url, ...DEFAULTS }))
    expect(f.viewers.filter((v) => v.placement!.parent === skewed.placement.peerId)).toHaveLength(4)
    const logs = f.viewers.map(record)
    await allConnected(f.viewers)

    const messages = makeMessages(200)
    const want = await writePaced(source, messages, 30)
    await expectEveryMessage(logs, want, 'every viewer below the skewed one to have every message')
    const ids = () => skewed.events.filter((e) => e.event === 'message').map((e) => e.id)
    await waitFor(() => ids().length >= messages.length, 10_000, 'the skewed viewer to have every message')
    expect(ids()).toEqual(messages.map((_, i) => i))
    expect(reports).toEqual([])
    console.log(`[clock-skew] clock ${offset > 0 ? '+' : ''}${offset / 1000} s: skewed relay and its 6 descendants lost 0 of ${messages.length} messages, 0 reports`)
  }, 90_000)
})
