import { afterEach, describe, expect, it } from 'vitest'
import type { MunroSource, MunroViewer } from '../../src/index.js'
import { startServer, waitFor, type TestServer } from '../helpers/signaling.js'
import { allConnected, digest, makeMessages, record, sleep, startSource, startViewers } from '../helpers/tree.js'

let server: TestServer
let source: MunroSource | undefined
let viewers: MunroViewer[] = []

afterEach(async () => {
  for (const v of viewers) v.destroy()
  source?.destroy()
  viewers = []
  source = undefined
  await server?.close()
})

const digestOf = (data: Uint8Array | undefined): string | undefined => (data ? digest(data) : undefined)

describe('tree data plane (Node peers over real WebRTC)', () => {
  it('delivers every message bit-exact and in order to 30 viewers (k=2, k1=3)', async () => {
    server = await startServer()
    source = await startSource(server.url, { k: 2, k1: 3 })
    viewers = await startViewers(server.url, source.treeId, 30)
    const logs = viewers.map(record)
    const deepest = viewers.at(-1)!
    const indexes: number[] = []
    // Random access (get(index)) is checked as each of these messages arrives: on a loaded machine the last one can
    // arrive after the first has left the 15 s window, and then get() rightly has nothing.
    const gotBack = new Map<number, string | undefined>()
    deepest.on('message', (m) => {
      indexes.push(m.index)
      const i = indexes.length - 1
      if (i === 0 || i === 5 || i === 119) gotBack.set(i, digestOf(deepest.get(m.index)?.data))
      if (i === 4) gotBack.set(-1, digestOf(deepest.get(m.index + 1)?.data))
    })
    await allConnected(viewers)
    expect(Math.max(...viewers.map((v) => v.stats().depth!))).toBeGreaterThanOrEqual(4)

    const messages = makeMessages(120)
    for (const m of messages) {
      source.write(m)
      await sleep(5)
    }
    const expected = messages.map(digest)
    await waitFor(() => logs.every((l) => l.length >= expected.length), 30_000, 'all messages everywhere')
    for (const log of logs) expect(log).toEqual(expected)
    for (const v of viewers) expect(v.stats().chunksRejected).toBe(0)
    // Random access to what a peer holds: munro's get(index); the chunk after message 4's first is not a message start.
    expect(Object.fromEntries(gotBack)).toEqual({ 0: expected[0], 5: expected[5], 119: expected[119], [-1]: undefined })
  })

  it('stops every viewer quietly when the source ends the tree', async () => {
    server = await startServer()
    source = await startSource(server.url, { k: 2, k1: 2 })
    viewers = await startViewers(server.url, source.treeId, 6)
    await allConnected(viewers)
    const ended = viewers.map((v) => new Promise((resolve) => v.once('tree-ended', resolve)))
    let stalls = 0
    for (const v of viewers) v.on('stall', () => stalls++)
    source.destroy()
    source = undefined
    for (const e of await Promise.all(ended)) expect(e).toMatchObject({ reason: 'source-left' })
    const reconnects = viewers.map((v) => v.stats().reconnects)
    await sleep(2_500) // longer than stallMs: nobody may go on reconnecting or reporting
    expect(viewers.map((v) => v.stats().reconnects)).toEqual(reconnects)
    expect(stalls).toBe(0)
    expect(await (await fetch(`${server.url}/metrics`)).text()).not.toMatch(/munro_reports_total\{/)
  })
})
