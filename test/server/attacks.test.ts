// The attacks of issue 8, run as an outsider would: socket.io clients against
// a real server with its default limits. Each test states what was measured
// before the fix (in the issue) and asserts the attack now fails.
import { afterEach, describe, expect, it } from 'vitest'
import { io as connect, type Socket } from 'socket.io-client'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import { SIGNALING_PROTOCOL_VERSION as V, type Ack, type JoinResult, type Placement, type TreeEnded } from '../../src/protocol/signaling.js'
import type { SignalingServerOptions } from '../../signaling-server/index.js'
import { nextEvent, startServer, waitFor, type TestServer } from '../helpers/signaling.js'
import { probeHealthz, startServerProcess, type ServerProcess } from './server-process.js'

/** The server under attack: in this process, or in its own (so the attackers' CPU does not count as its latency). */
let server: { url: string }
const cleanups: (() => void | Promise<void>)[] = []

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function boot(options: SignalingServerOptions = {}): Promise<TestServer> {
  const started = await startServer(options)
  server = started
  cleanups.push(() => started.close())
  return started
}

async function bootProcess(args: string[] = []): Promise<ServerProcess> {
  const proc = await startServerProcess(['--port', '0', '--host', '127.0.0.1', ...args])
  server = proc
  cleanups.push(async () => {
    proc.child.kill('SIGKILL')
    await proc.exited
  })
  return proc
}

/** A raw socket.io client bound to one loopback address (127.0.0.x), so tests control which address the server sees. */
async function raw(localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = connect(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, localAddress } as never)
  cleanups.push(() => void socket.disconnect())
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('connect_error', reject)
  })
  return socket
}

function ask<T = object>(socket: Socket, event: string, payload: unknown): Promise<Ack<T>> {
  return socket.timeout(5_000).emitWithAck(event, payload) as Promise<Ack<T>>
}

async function client(): Promise<SignalingClient> {
  const c = new SignalingClient(server.url, { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 200 })
  cleanups.push(() => c.destroy())
  if (!c.connected) await nextEvent(c, 'connect')
  return c
}

interface Honest {
  client: SignalingClient
  peerId: string
  ended: TreeEnded[]
}

/** A source and `n` honest viewers (SignalingClients); records every tree-ended they hear. */
async function honestTree(n: number, fanout: { k?: number; k1?: number } = {}) {
  const source = await client()
  const created = await source.createTree(generateKeyPair(), fanout)
  const treeId = created.placement.treeId
  const watch = (c: SignalingClient, peerId: string): Honest => {
    const h: Honest = { client: c, peerId, ended: [] }
    c.on('tree-ended', (e) => h.ended.push(e))
    return h
  }
  const peers = [watch(source, created.placement.peerId)]
  for (let i = 0; i < n; i++) {
    const c = await client()
    peers.push(watch(c, (await c.joinTree(treeId)).placement.peerId))
  }
  return { treeId, source: peers[0]!, viewers: peers.slice(1), peers }
}

async function treeShape(treeId: string): Promise<Map<string, { parent: string | null }>> {
  const res = (await (await fetch(`${server.url}/trees/${treeId}`)).json()) as { nodes: { peerId: string; parent: string | null }[] }
  return new Map(res.nodes.map((n) => [n.peerId, n]))
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const escaped = `${name}${labels}`.replace(/[{}"]/g, (c) => `\\${c}`)
  return Number(new RegExp(`^${escaped} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('eviction cannot be driven by an outsider', () => {
  it('a single connection that joins, reports, leaves and rejoins for 12 s evicts nobody from a 100-viewer tree (was: 56 in 10 s)', async () => {
    await boot()
    const { treeId, peers } = await honestTree(100)
    // 30 idle attacker connections hold slots, then report their parents once they have tenure.
    const idle: { socket: Socket; parent: string }[] = []
    for (let i = 0; i < 30; i++) {
      const socket = await raw()
      const res = (await ask<JoinResult>(socket, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
      idle.push({ socket, parent: res.placement.parent! })
    }
    const attacker = await raw()
    const started = Date.now()
    let rounds = 0
    let reported = 0
    while (Date.now() - started < 12_000) {
      const joined = await ask<JoinResult>(attacker, 'tree:join', { version: V, treeId })
      if (!joined.ok) throw new Error(`attacker join refused: ${joined.error.code}`)
      const parent = joined.placement.parent!
      const report = await ask(attacker, 'peer:report', { treeId, parentId: parent, reason: rounds % 2 ? 'unresponsive' : 'invalid-data' })
      if (report.ok) reported++
      await ask(attacker, 'tree:leave', { treeId })
      rounds++
      // Under the per-connection limit (50/s), as measured: three messages a round.
      await sleep(70)
      if (rounds === 100) {
        // The idle connections now have tenure: each reports its parent once.
        for (const { socket, parent } of idle) await ask(socket, 'peer:report', { treeId, parentId: parent, reason: 'invalid-data' })
      }
    }
    console.log(`sweep: ${rounds} join/report/leave rounds in 12 s (${reported} reports accepted) + 30 idle connections reporting with tenure; evictions ${await metric('munro_evictions_total')}`)
    expect(rounds).toBeGreaterThan(100)
    expect(reported).toBeGreaterThan(100)
    expect(await metric('munro_evictions_total')).toBe(0)
    const shape = await treeShape(treeId)
    for (const p of peers) {
      expect(p.ended).toEqual([])
      expect(shape.has(p.peerId)).toBe(true)
    }
  }, 60_000)

  it('three Sybil children with tenure cannot evict a relay that serves others; children without tenure cannot either', async () => {
    await boot()
    // k1 = 2: the source feeds the relay R and another relay O; each has k = 4 slots.
    const { treeId, viewers } = await honestTree(2, { k: 4, k1: 2 })
    const relay = viewers[0]!
    const honestChild = await client()
    expect((await honestChild.joinTree(treeId)).placement.parent).toBe(relay.peerId)
    // Three Sybils from one address fill R's other slots.
    const sybils: Socket[] = []
    for (let i = 0; i < 3; i++) {
      const s = await raw('127.0.0.1')
      const res = (await ask<JoinResult>(s, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
      expect(res.placement.parent).toBe(relay.peerId)
      sybils.push(s)
    }
    await sleep(5_200) // default reportTenureMs is 5 s
    for (const s of sybils) expect(await ask(s, 'peer:report', { treeId, parentId: relay.peerId, reason: 'invalid-data' })).toMatchObject({ ok: true })
    // Fresh connections from distinct addresses that land under R report it at once: no tenure, no weight.
    let fresh = 0
    for (let i = 0; fresh < 3 && i < 12; i++) {
      const s = await raw(`127.0.0.${11 + i}`)
      const res = (await ask<JoinResult>(s, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
      if (res.placement.parent !== relay.peerId) continue
      expect(await ask(s, 'peer:report', { treeId, parentId: relay.peerId, reason: 'invalid-data' })).toMatchObject({ ok: true })
      fresh++
    }
    expect(fresh).toBe(3)
    await sleep(200)
    expect(relay.ended).toEqual([])
    expect(await metric('munro_evictions_total')).toBe(0)
    expect((await treeShape(treeId)).get(honestChild.placementOf(treeId)!.peerId)?.parent).toBe(relay.peerId)
  }, 30_000)

  it('a relay that really sends bad data is still evicted by children with tenure on distinct addresses', async () => {
    await boot()
    const { treeId, viewers } = await honestTree(1, { k: 4, k1: 1 })
    const bad = viewers[0]!
    const children: Socket[] = []
    for (const address of ['127.0.0.21', '127.0.0.22', '127.0.0.23']) {
      const s = await raw(address)
      const res = (await ask<JoinResult>(s, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
      expect(res.placement.parent).toBe(bad.peerId)
      children.push(s)
    }
    await sleep(5_200)
    const evicted = nextEvent<TreeEnded>(bad.client, 'tree-ended')
    for (const s of children) await ask(s, 'peer:report', { treeId, parentId: bad.peerId, reason: 'invalid-data' })
    expect(await evicted).toEqual({ treeId, reason: 'evicted' })
    expect(await metric('munro_evictions_total')).toBe(1)
    expect((await treeShape(treeId)).has(bad.peerId)).toBe(false)
  }, 30_000)

  it('a frozen relay reported unresponsive by 4 children with tenure on 4 distinct addresses is moved away from, never evicted', async () => {
    await boot()
    // k1 = 2: the source feeds the relay R (the one its children think frozen) and another relay O with room for them.
    const { treeId, source, viewers } = await honestTree(2, { k: 4, k1: 2 })
    const [frozen, other] = viewers as [Honest, Honest]
    const children: Socket[] = []
    for (const address of ['127.0.0.31', '127.0.0.32', '127.0.0.33', '127.0.0.34']) {
      const s = await raw(address)
      const res = (await ask<JoinResult>(s, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
      expect(res.placement.parent).toBe(frozen.peerId)
      children.push(s)
    }
    await sleep(5_200) // default reportTenureMs is 5 s: these reports would count if their reason did
    for (const s of children) expect(await ask(s, 'peer:report', { treeId, parentId: frozen.peerId, reason: 'unresponsive' })).toMatchObject({ ok: true })
    await sleep(200)
    expect(frozen.ended).toEqual([])
    expect(await metric('munro_evictions_total')).toBe(0)
    expect(await metric('munro_reports_total', '{reason="unresponsive"}')).toBe(4)
    const shape = await treeShape(treeId)
    expect(shape.get(frozen.peerId)?.parent).toBe(source.peerId)
    // Every reporter was moved away from it (under O, which had the room).
    const moved = [...shape.values()].filter((n) => n.parent === other.peerId)
    expect(moved).toHaveLength(4)
    expect([...shape.values()].filter((n) => n.parent === frozen.peerId)).toHaveLength(0)
  }, 30_000)

  it('keeps nothing for reports against the source (was: +15 MB heap after 247k reports)', async () => {
    await boot({ messagesPerSecond: 100_000, messageBurst: 100_000 })
    const { treeId, source } = await honestTree(0, { k1: 64 })
    const sockets = await Promise.all(Array.from({ length: 20 }, () => raw()))
    for (const s of sockets) await ask(s, 'tree:join', { version: V, treeId })
    for (let round = 0; round < 50; round++) {
      await Promise.all(sockets.map((s) => ask(s, 'peer:report', { treeId, parentId: source.peerId, reason: 'invalid-data' })))
    }
    expect(source.ended).toEqual([])
    expect(await metric('munro_reports_total', '{reason="invalid-data"}')).toBe(1000)
    expect(await metric('munro_evictions_total')).toBe(0)
  }, 30_000)
})

describe('resume tickets and grace periods', () => {
  it("refuses the source's ticket from a second connection, and the source keeps working (was: ERR_INTERNAL, tree broken)", async () => {
    await boot({ sourceGraceMs: 300 })
    const source = await client()
    const created = await source.createTree(generateKeyPair(), { k1: 2 })
    const treeId = created.placement.treeId
    const viewer = await client()
    const joined = await viewer.joinTree(treeId)
    const thief = await raw()
    expect(await ask(thief, 'tree:join', { version: V, treeId, resume: created.resume })).toMatchObject({ ok: false, error: { code: 'ERR_BAD_RESUME' } })
    // The source still signals, and its departure still starts the grace period that ends the tree.
    const got = nextEvent<{ from: string }>(viewer, 'signal')
    await source.sendSignal(treeId, joined.placement.peerId, { candidate: 'x' })
    expect((await got).from).toBe(created.placement.peerId)
    const ended = nextEvent<TreeEnded>(viewer, 'tree-ended')
    source.destroy()
    expect(await ended).toEqual({ treeId, reason: 'source-gone' })
    expect(await metric('munro_rejected_messages_total', '{code="ERR_INTERNAL"}')).toBe(0)
  })

  it('rotates tickets on every resume: an old one is refused, a stolen current one displaces its owner, who is told', async () => {
    await boot()
    const { treeId } = await honestTree(0)
    const owner = await raw()
    const first = (await ask<JoinResult>(owner, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
    owner.disconnect()
    const back = await raw()
    const second = (await ask<JoinResult>(back, 'tree:join', { version: V, treeId, resume: first.resume })) as JoinResult & { ok: true }
    expect(second.ok).toBe(true)
    expect(second.placement.peerId).toBe(first.placement.peerId)
    expect(second.resume.token).not.toBe(first.resume.token)
    // The ticket it used is spent.
    const replay = await raw()
    expect(await ask(replay, 'tree:join', { version: V, treeId, resume: first.resume })).toMatchObject({ ok: false, error: { code: 'ERR_BAD_RESUME' } })
    // A thief with the current ticket takes the place; the owner hears it at once.
    const told = nextEvent<TreeEnded>(back, 'tree:ended')
    const thief = await raw()
    expect(await ask(thief, 'tree:join', { version: V, treeId, resume: second.resume })).toMatchObject({ ok: true })
    expect(await told).toEqual({ treeId, reason: 'displaced' })
    expect(await ask(back, 'tree:leave', { treeId })).toMatchObject({ ok: false, error: { code: 'ERR_NOT_IN_TREE' } })
  })

  it('fails signals to an absent source with ERR_SOURCE_ABSENT and places no newcomer under it (was: acked ok, delivered to no one)', async () => {
    await boot({ sourceGraceMs: 5_000 })
    const source = await client()
    const created = await source.createTree(generateKeyPair(), { k: 2, k1: 3 })
    const treeId = created.placement.treeId
    const child = await client()
    const joined = await child.joinTree(treeId)
    source.socket.disconnect()
    await waitFor(async () => (await treeShape(treeId)).size === 2 && !source.connected, 2_000, 'source away')
    await sleep(100)
    await expect(child.sendSignal(treeId, created.placement.peerId, { type: 'offer' })).rejects.toMatchObject({ code: 'ERR_SOURCE_ABSENT' })
    const late = await client()
    const placed = await late.joinTree(treeId)
    expect(placed.placement.parent).toBe(joined.placement.peerId)
    expect(placed.placement.depth).toBe(2)
  })

  it('keeps a briefly disconnected interior peer in place with its children (was: detached at once, subtree reshuffled)', async () => {
    await boot()
    const { treeId, viewers } = await honestTree(6, { k: 2, k1: 1 })
    const interior = viewers[0]!
    const before = await treeShape(treeId)
    const changed: Placement[] = []
    for (const v of viewers.slice(1)) v.client.on('placement', (p) => changed.push(p))
    const resumed = nextEvent(interior.client, 'resumed')
    interior.client.socket.io.engine.close()
    await resumed
    const after = await treeShape(treeId)
    for (const [id, node] of before) expect(after.get(id)?.parent).toBe(node.parent)
    // Its children only heard that it is back (same parent), nothing moved.
    for (const p of changed) expect(p.parent).toBe(before.get(p.peerId)!.parent)
  })
})

describe('bounded per-connection cost', () => {
  it('disconnects a client that never reads, and RSS stays bounded (was: 66 MB to 1 GB in 21 s)', async () => {
    await boot()
    const rss0 = process.memoryUsage().rss
    // source -> reader -> 4 children that send it signals.
    const { treeId } = await honestTree(0, { k: 4, k1: 1 })
    const reader = await raw()
    const joined = (await ask<JoinResult>(reader, 'tree:join', { version: V, treeId })) as JoinResult & { ok: true }
    const children = await Promise.all(Array.from({ length: 4 }, () => raw()))
    for (const c of children) expect(await ask(c, 'tree:join', { version: V, treeId })).toMatchObject({ ok: true, placement: { parent: joined.placement.peerId } })
    // The reader stops reading its socket but keeps answering pings blindly, as the measured attacker did.
    const engine = reader.io.engine as unknown as { transport: { ws: { _socket: { pause(): void }; send(data: string): void } | null } }
    engine.transport.ws!._socket.pause()
    const pong = setInterval(() => engine.transport.ws?.send('3'), 2_000)
    cleanups.push(() => clearInterval(pong))
    // 4 x 40 signals of 12 KB a second, all queued towards the reader.
    const data = { sdp: 'x'.repeat(12_000) }
    const started = Date.now()
    while ((await metric('munro_connections_dropped_total', '{code="ERR_SLOW_READER"}')) === 0) {
      if (Date.now() - started > 40_000) throw new Error('the slow reader was never dropped')
      for (const c of children) for (let i = 0; i < 8; i++) c.emit('signal', { treeId, to: joined.placement.peerId, data }, () => {})
      await sleep(200)
    }
    const elapsed = Date.now() - started
    const grown = process.memoryUsage().rss - rss0
    console.log(`slow reader: dropped after ${elapsed} ms; RSS of the test process (server and attackers) grew ${(grown / 2 ** 20).toFixed(0)} MB`)
    expect(grown).toBeLessThan(200 * 1024 * 1024)
    // It is detached after the detach grace; its children are placed again.
    await waitFor(async () => !(await treeShape(treeId)).has(joined.placement.peerId), 10_000, 'slow reader detached')
  }, 60_000)

  it('refuses binary attachments at the door: a flood of 10 x 60 KB attachments leaves /healthz fast (was: 103% CPU, p50 127 ms)', async () => {
    await bootProcess()
    const { treeId, peers } = await honestTree(4)
    const attachments = Array.from({ length: 10 }, () => Buffer.alloc(60_000, 7))
    const baseline = await probeHealthz(server.url, 2_000)
    const probe = probeHealthz(server.url, 4_000)
    const started = Date.now()
    let sent = 0
    // 50 events a second, each from a new connection (each is closed at its first binary packet).
    while (Date.now() - started < 4_000) {
      const batch = await Promise.all(Array.from({ length: 5 }, () => raw().catch(() => null)))
      for (const s of batch) {
        if (!s) continue
        s.emit('tree:join', { version: V, treeId, blob: attachments }, () => {})
        sent++
      }
      await sleep(100)
    }
    const latency = await probe
    console.log(`binary flood: ${sent} events of 600 KB; /healthz p50 ${latency.p50.toFixed(1)} ms (idle ${baseline.p50.toFixed(1)} ms), p99 ${latency.p99.toFixed(1)} ms`)
    expect(sent).toBeGreaterThan(40)
    // This machine is shared: judge against the same server idle a moment before.
    expect(latency.p50).toBeLessThan(2 * baseline.p50 + 10)
    await waitFor(async () => (await metric('munro_connections_dropped_total', '{code="ERR_BAD_PAYLOAD"}')) >= sent * 0.9, 5_000, 'every binary sender dropped')
    for (const p of peers) expect(p.ended).toEqual([])
  }, 30_000)
})
