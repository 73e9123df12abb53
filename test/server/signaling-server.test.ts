import { afterEach, describe, expect, it } from 'vitest'
import type { Socket } from 'socket.io-client'
import { generateKeyPair, treeIdFromPublicKey } from '../../src/crypto/keys.js'
import { signMessage } from '../../src/crypto/ed25519.js'
import { base64urlEncode } from '../../src/crypto/bytes.js'
import { SignalingClient, SignalingClientError } from '../../src/signaling/signaling-client.js'
import {
  SIGNALING_PROTOCOL_VERSION as V,
  sourceProofMessage,
  type JoinResult,
  type Placement,
  type RelayedSignal,
  type TreeEnded
} from '../../src/protocol/signaling.js'
import type { SignalingServerOptions } from '../../signaling-server/index.js'
import { nextEvent, rawSocket, request, startServer, waitFor, type TestServer } from '../helpers/signaling.js'

let server: TestServer
const cleanups: (() => void | Promise<void>)[] = []

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function boot(options: SignalingServerOptions = {}): Promise<TestServer> {
  server = await startServer(options)
  cleanups.push(() => server.close())
  return server
}

function client(): SignalingClient {
  const c = new SignalingClient(server.url, { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 200 })
  cleanups.push(() => c.destroy())
  return c
}

async function connected(c: SignalingClient): Promise<SignalingClient> {
  if (!c.connected) await nextEvent(c, 'connect')
  return c
}

async function rawClient(): Promise<Socket> {
  const s = await rawSocket(server.url)
  cleanups.push(() => void s.disconnect())
  return s
}

/** Latest placement each client has been told about (from the ack, then from events). */
function track(c: SignalingClient, initial: JoinResult): { current: Placement } {
  const box = { current: initial.placement }
  c.on('placement', (p) => {
    if (p.treeId === initial.placement.treeId) box.current = p
  })
  c.on('resumed', (_id, r) => {
    box.current = r.placement
  })
  return box
}

async function sourceWithTree(fanout: { k?: number; k1?: number } = { k: 2, k1: 3 }) {
  const key = generateKeyPair()
  const c = await connected(client())
  const result = await c.createTree(key, fanout)
  return { key, client: c, result, treeId: result.placement.treeId, view: track(c, result) }
}

async function viewers(treeId: string, n: number) {
  const out: { client: SignalingClient; result: JoinResult; view: { current: Placement } }[] = []
  for (let i = 0; i < n; i++) {
    const c = await connected(client())
    const result = await c.joinTree(treeId)
    out.push({ client: c, result, view: track(c, result) })
  }
  return out
}

async function healthz(): Promise<{ trees: number; peers: number }> {
  return (await fetch(`${server.url}/healthz`)).json() as Promise<{ trees: number; peers: number }>
}

describe('trees and source authentication', () => {
  it('creates a tree whose id is the source public key, with the source at depth 0', async () => {
    await boot()
    const { key, result, treeId } = await sourceWithTree()
    expect(treeId).toBe(treeIdFromPublicKey(key.publicKey))
    expect(result.placement).toMatchObject({ parent: null, depth: 0, children: [] })
    expect(result.tree).toEqual({ k: 2, k1: 3 })
    expect(await healthz()).toMatchObject({ status: 'ok', trees: 1, peers: 1 })
  })

  it('clamps k and k1 to the server maximums', async () => {
    await boot({ maxK: 3, maxK1: 5 })
    const { result } = await sourceWithTree({ k: 16, k1: 64 })
    expect(result.tree).toEqual({ k: 3, k1: 5 })
  })

  it('refuses a create signed by another key, without a challenge, or with a reused challenge', async () => {
    await boot()
    const victim = generateKeyPair()
    const attacker = generateKeyPair()
    const treeId = treeIdFromPublicKey(victim.publicKey)
    const s = await rawClient()
    const { challenge } = (await request<{ challenge: string }>(s, 'tree:challenge', {})) as { challenge: string }
    const forged = base64urlEncode(await signMessage(attacker.secretKey, sourceProofMessage(treeId, challenge)))
    const bad = await request(s, 'tree:create', { version: V, treeId, challenge, signature: forged })
    expect(bad).toMatchObject({ ok: false, error: { code: 'ERR_BAD_SIGNATURE' } })

    // The failed attempt consumed the challenge: a correct signature over it no longer works.
    const real = base64urlEncode(await signMessage(victim.secretKey, sourceProofMessage(treeId, challenge)))
    const replay = await request(s, 'tree:create', { version: V, treeId, challenge, signature: real })
    expect(replay).toMatchObject({ ok: false, error: { code: 'ERR_NO_CHALLENGE' } })

    const invented = base64urlEncode(new Uint8Array(32).fill(7))
    const noChallenge = await request(s, 'tree:create', {
      version: V,
      treeId,
      challenge: invented,
      signature: base64urlEncode(await signMessage(victim.secretKey, sourceProofMessage(treeId, invented)))
    })
    expect(noChallenge).toMatchObject({ ok: false, error: { code: 'ERR_NO_CHALLENGE' } })
    expect(await healthz()).toMatchObject({ trees: 0, peers: 0 })
  })

  it('lets only the key holder take the source role back, keeping the tree', async () => {
    await boot({ sourceGraceMs: 5_000 })
    const { key, client: first, treeId, result } = await sourceWithTree()
    const [viewer] = await viewers(treeId, 1)
    first.destroy()
    await waitFor(async () => (await healthz()).peers === 2, 5_000, 'server to keep the offline source')
    const second = await connected(client())
    const placementAfter = nextEvent<Placement>(viewer!.client, 'placement')
    const again = await second.createTree(key, { k: 2, k1: 3 })
    expect(again.placement.peerId).toBe(result.placement.peerId)
    expect(again.placement.children).toEqual([viewer!.result.placement.peerId])
    // The viewer hears that its parent is back, so it can reconnect its data channel.
    expect((await placementAfter).parent).toBe(result.placement.peerId)
  })

  it('ends the tree for every viewer when the source stays away past its grace period', async () => {
    await boot({ sourceGraceMs: 300 })
    const { client: source, treeId } = await sourceWithTree()
    const vs = await viewers(treeId, 4)
    const ended = vs.map((v) => nextEvent<TreeEnded>(v.client, 'tree-ended', 5_000))
    source.destroy()
    for (const e of await Promise.all(ended)) expect(e).toEqual({ treeId, reason: 'source-gone' })
    expect(await healthz()).toMatchObject({ trees: 0, peers: 0 })
    const late = await connected(client())
    await expect(late.joinTree(treeId)).rejects.toMatchObject({ code: 'ERR_TREE_NOT_FOUND' })
  })

  it('leaves no tree behind when the source disconnects while its create is being verified', async () => {
    await boot({ sourceGraceMs: 200 })
    for (let i = 0; i < 30; i++) {
      const key = generateKeyPair()
      const treeId = treeIdFromPublicKey(key.publicKey)
      const s = await rawClient()
      const { challenge } = (await request<{ challenge: string }>(s, 'tree:challenge', {})) as { challenge: string }
      const signature = base64urlEncode(await signMessage(key.secretKey, sourceProofMessage(treeId, challenge)))
      s.emit('tree:create', { version: V, treeId, challenge, signature }, () => {})
      if (i % 2) await new Promise((r) => setTimeout(r, i % 5))
      s.disconnect()
    }
    await waitFor(async () => (await healthz()).trees === 0, 5_000, 'every half-created tree to end')
    expect(await healthz()).toMatchObject({ trees: 0, peers: 0 })
  })

  it('tells a viewer that comes back after its tree ended', async () => {
    await boot()
    const { client: source, treeId } = await sourceWithTree()
    const late = new SignalingClient(server.url, { reconnectionDelayMs: 400, reconnectionDelayMaxMs: 400 })
    cleanups.push(() => late.destroy())
    await connected(late)
    await late.joinTree(treeId)
    const ended = nextEvent<TreeEnded>(late, 'tree-ended', 10_000)
    late.socket.io.engine.close()
    await source.leaveTree(treeId)
    expect(await ended).toEqual({ treeId, reason: 'source-gone' })
    expect(late.placementOf(treeId)).toBeUndefined()
  })

  it('after a server restart, keeps retrying a tree the source has not re-created, for a bounded time, then ends', async () => {
    await boot()
    const { treeId, client: source } = await sourceWithTree()
    const port = Number(new URL(server.url).port)
    const viewer = new SignalingClient(server.url, { reconnectionDelayMs: 50, reconnectionDelayMaxMs: 100, rejoinRetryMs: 1_500 })
    cleanups.push(() => viewer.destroy())
    await connected(viewer)
    await viewer.joinTree(treeId)
    const lost = nextEvent(viewer, 'signaling-lost')
    // The source dies with the server; a graceful close sends 'io server disconnect', after which the client reconnects by itself.
    source.destroy()
    const t0 = Date.now()
    await server.close()
    await lost
    // A new process on the same address that knows nothing of the tree (its source never comes back).
    const { createSignalingServer } = await import('../../signaling-server/index.js')
    const restarted = createSignalingServer()
    await restarted.listen(port, '127.0.0.1')
    cleanups.push(() => restarted.close())
    const ended = await nextEvent<TreeEnded>(viewer, 'tree-ended', 10_000)
    expect(ended).toEqual({ treeId, reason: 'source-gone' })
    // It retried for rejoinRetryMs (1.5 s) rather than ending at the first ERR_TREE_NOT_FOUND, and no longer.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500)
    expect(Date.now() - t0).toBeLessThan(5_000)
  })

  it('ends the tree at once when the source leaves on purpose', async () => {
    await boot()
    const { client: source, treeId } = await sourceWithTree()
    const [v1] = await viewers(treeId, 1)
    const ended = nextEvent<TreeEnded>(v1!.client, 'tree-ended')
    await source.leaveTree(treeId)
    expect(await ended).toEqual({ treeId, reason: 'source-left' })
  })
})

describe('placement and churn', () => {
  it('places viewers breadth-first: k1 under the source, then k under each viewer', async () => {
    await boot()
    const { treeId, result, view: sourceView } = await sourceWithTree({ k: 2, k1: 3 })
    const vs = await viewers(treeId, 7)
    const ids = vs.map((v) => v.result.placement.peerId)
    const parents = vs.map((v) => v.result.placement.parent)
    const src = result.placement.peerId
    expect(parents).toEqual([src, src, src, ids[0], ids[0], ids[1], ids[1]])
    expect(vs.map((v) => v.result.placement.depth)).toEqual([1, 1, 1, 2, 2, 2, 2])
    await waitFor(() => sourceView.current.children.length === 3, 2_000, 'source placement')
    expect(sourceView.current.children).toEqual(ids.slice(0, 3))
    await waitFor(() => vs[0]!.view.current.children.length === 2, 2_000, 'viewer placement')
    expect(vs[0]!.view.current.children).toEqual([ids[3], ids[4]])
  })

  it('never loses a placement pushed before the join was acknowledged', async () => {
    await boot()
    for (let round = 0; round < 5; round++) {
      const { treeId } = await sourceWithTree({ k: 1, k1: 1 })
      const b = await connected(client())
      const c = await connected(client())
      const [rb, rc] = await Promise.all([b.joinTree(treeId), c.joinTree(treeId)])
      const [parent, child] = rb.placement.depth < rc.placement.depth ? [b, rc] : [c, rb]
      await waitFor(() => parent.placementOf(treeId)?.children.includes(child.placement.peerId) ?? false, 2_000, 'parent to know its child')
    }
  })

  it('re-attaches the children of a departed viewer with their subtrees, and tells them', async () => {
    await boot()
    const { treeId } = await sourceWithTree({ k: 2, k1: 2 })
    const vs = await viewers(treeId, 10)
    const departed = vs[0]!
    const orphans = vs.filter((v) => v.view.current.parent === departed.result.placement.peerId)
    expect(orphans.length).toBe(2)
    const grandchildren = vs.filter((v) => orphans.some((o) => o.result.placement.peerId === v.view.current.parent))
    expect(grandchildren.length).toBeGreaterThan(0)
    const before = new Map(grandchildren.map((g) => [g.result.placement.peerId, g.view.current.parent]))

    const departedParent = departed.view.current.parent
    departed.client.socket.disconnect() // abrupt: no goodbye
    await waitFor(() => orphans.every((o) => o.view.current.parent !== departed.result.placement.peerId), 5_000, 'orphans moved')
    // The vacated slot is filled by one promoted leaf that adopts the orphans, so their subtrees stay intact.
    const promoted = vs.find((v) => v !== departed && v.view.current.parent === departedParent && orphans.every((o) => o.view.current.parent === v.result.placement.peerId))
    expect(promoted).toBeDefined()
    for (const o of orphans) expect(o.view.current.depth).toBe(departed.result.placement.depth + 1)
    for (const g of grandchildren) {
      if (g !== promoted) expect(g.view.current.parent).toBe(before.get(g.result.placement.peerId))
    }
    const live = vs.slice(1)
    const byId = new Map(live.map((v) => [v.result.placement.peerId, v]))
    for (const v of live) {
      const p = v.view.current
      if (p.parent && byId.has(p.parent)) expect(byId.get(p.parent)!.view.current.children).toContain(p.peerId)
      expect(p.children.length).toBeLessThanOrEqual(2)
    }
    expect(await healthz()).toMatchObject({ peers: 10 })
  })

  it('moves a reporter away from its parent, and never evicts on unresponsive reports', async () => {
    await boot()
    // Source -> (accused, other); accused -> 3 kids; other -> 1 kid, 2 free slots.
    const { treeId } = await sourceWithTree({ k: 3, k1: 2 })
    const [accused, other, ...rest] = await viewers(treeId, 6)
    const kids = rest.filter((v) => v.view.current.parent === accused!.result.placement.peerId)
    expect(kids.length).toBe(3)
    let ended = false
    accused!.client.on('tree-ended', () => (ended = true))

    await kids[0]!.client.reportParent(treeId, accused!.result.placement.peerId, 'unresponsive')
    await waitFor(() => kids[0]!.view.current.parent === other!.result.placement.peerId, 2_000, 'reporter moved')

    // Reporting someone who is not your parent is refused.
    await expect(kids[0]!.client.reportParent(treeId, accused!.result.placement.peerId, 'unresponsive')).rejects.toMatchObject({
      code: 'ERR_NOT_YOUR_PARENT'
    })
    await kids[1]!.client.reportParent(treeId, accused!.result.placement.peerId, 'unresponsive')
    await kids[2]!.client.reportParent(treeId, accused!.result.placement.peerId, 'unresponsive')
    await waitFor(() => kids.every((k) => k.view.current.parent !== accused!.result.placement.peerId), 2_000, 'every reporter moved')
    expect(ended).toBe(false)
    expect(await healthz()).toMatchObject({ peers: 7 })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/munro_reports_total\{reason="unresponsive"\} 3/)
    expect(metrics).toMatch(/^munro_evictions_total 0$/m)
  })

  it('resumes a viewer as the same peer after its connection drops', async () => {
    await boot()
    const { treeId } = await sourceWithTree({ k: 2, k1: 2 })
    const [a] = await viewers(treeId, 1)
    const resumed = nextEvent<[string, JoinResult]>({ once: (e, fn) => a!.client.once('resumed', (id, r) => fn([id, r] as never)) }, 'resumed', 10_000)
    a!.client.socket.io.engine.close() // transport dies; socket.io-client reconnects with backoff
    const [id, result] = await resumed
    expect(id).toBe(treeId)
    expect(result.placement.peerId).toBe(a!.result.placement.peerId)
    expect(result.placement.parent).toBe(a!.result.placement.parent)
    expect(await healthz()).toMatchObject({ peers: 2 })
  })
})

describe('signal relay', () => {
  it('relays signals between parent and child only', async () => {
    await boot()
    const { client: source, treeId, result } = await sourceWithTree({ k: 1, k1: 1 })
    const [child, grandchild] = await viewers(treeId, 2)
    const got = nextEvent<RelayedSignal>(source, 'signal')
    await child!.client.sendSignal(treeId, result.placement.peerId, { type: 'offer', sdp: 'v=0' })
    expect(await got).toEqual({ treeId, from: child!.result.placement.peerId, data: { type: 'offer', sdp: 'v=0' } })

    const down = nextEvent<RelayedSignal>(grandchild!.client, 'signal')
    await child!.client.sendSignal(treeId, grandchild!.result.placement.peerId, { candidate: 'x' })
    expect((await down).from).toBe(child!.result.placement.peerId)

    await expect(grandchild!.client.sendSignal(treeId, result.placement.peerId, { type: 'offer' })).rejects.toMatchObject({
      code: 'ERR_NOT_A_NEIGHBOUR'
    })
  })
})

describe('untrusted input', () => {
  it('answers every kind of bad payload with a stable code and keeps serving', async () => {
    await boot()
    const { treeId, result } = await sourceWithTree()
    const s = await rawClient()
    const good = { version: V, treeId }
    const cases: [string, unknown, string][] = [
      ['tree:join', 'not an object', 'ERR_BAD_PAYLOAD'],
      ['tree:join', null, 'ERR_BAD_PAYLOAD'],
      ['tree:join', [1, 2], 'ERR_BAD_PAYLOAD'],
      ['tree:join', { ...good, extra: true }, 'ERR_BAD_PAYLOAD'],
      ['tree:join', { version: V, treeId: 42 }, 'ERR_BAD_PAYLOAD'],
      ['tree:join', { version: V, treeId: 'short' }, 'ERR_BAD_PAYLOAD'],
      ['tree:join', { version: V, treeId: '!'.repeat(43) }, 'ERR_BAD_PAYLOAD'],
      ['tree:join', { version: 99, treeId }, 'ERR_UNSUPPORTED_VERSION'],
      // Was ERR_INTERNAL with a stack trace in the log: the version was turned into text with its own toString.
      ['tree:join', { version: { toString: 1 }, treeId }, 'ERR_UNSUPPORTED_VERSION'],
      ['tree:join', { version: { toString: () => { throw new Error('x') } }, treeId }, 'ERR_UNSUPPORTED_VERSION'],
      ['tree:join', { version: V, treeId: 'A'.repeat(43) }, 'ERR_TREE_NOT_FOUND'],
      ['tree:join', { ...good, resume: { peerId: 'A'.repeat(22), token: 'A'.repeat(43) } }, 'ERR_BAD_RESUME'],
      ['tree:join', { ...good, resume: { peerId: 'A'.repeat(22), token: 'B'.repeat(43) } }, 'ERR_BAD_PAYLOAD'],
      ['tree:join', { ...good, link: { parent: null, children: Array(65).fill('A'.repeat(22)) } }, 'ERR_BAD_PAYLOAD'],
      ['tree:challenge', { extra: 1 }, 'ERR_BAD_PAYLOAD'],
      ['tree:create', { version: V, treeId, challenge: 'c', signature: 's' }, 'ERR_BAD_PAYLOAD'],
      ['tree:create', { version: V, treeId, challenge: 'A'.repeat(43), signature: 'A'.repeat(86), k: 0 }, 'ERR_BAD_PAYLOAD'],
      ['tree:create', { version: V, treeId, challenge: 'A'.repeat(43), signature: 'A'.repeat(86), k: 1000 }, 'ERR_BAD_PAYLOAD'],
      ['tree:leave', { treeId }, 'ERR_NOT_IN_TREE'],
      ['peer:report', { treeId, parentId: result.placement.peerId, reason: 'bored' }, 'ERR_BAD_PAYLOAD'],
      ['peer:report', { treeId, parentId: result.placement.peerId, reason: 'unresponsive' }, 'ERR_NOT_IN_TREE'],
      ['signal', { treeId, to: result.placement.peerId, data: 'sdp' }, 'ERR_BAD_PAYLOAD'],
      // Arrays were relayed as {"0":…} objects.
      ['signal', { treeId, to: result.placement.peerId, data: ['a', 'b'] }, 'ERR_BAD_PAYLOAD'],
      ['signal', { treeId, to: result.placement.peerId, data: { sdp: 'x' } }, 'ERR_NOT_IN_TREE']
    ]
    for (const [event, payload, code] of cases) {
      const res = await request(s, event, payload)
      expect(res, `${event} ${JSON.stringify(payload)?.slice(0, 80)}`).toMatchObject({ ok: false, error: { code } })
      if (!res.ok) expect(res.error.message.length).toBeGreaterThan(0)
    }
    // Requests with no payload or extra arguments get an error ack (they used to get none).
    expect(await s.timeout(2_000).emitWithAck('tree:join')).toMatchObject({ ok: false, error: { code: 'ERR_BAD_PAYLOAD' } })
    expect(await s.timeout(2_000).emitWithAck('tree:challenge', {}, 'extra')).toMatchObject({ ok: false, error: { code: 'ERR_BAD_PAYLOAD' } })
    // Nothing changed for anyone else, and the server still works.
    expect(await healthz()).toMatchObject({ trees: 1, peers: 1 })
    const joined = await request<JoinResult>(s, 'tree:join', good)
    expect(joined).toMatchObject({ ok: true, placement: { parent: result.placement.peerId, depth: 1 } })
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/munro_rejected_messages_total\{code="ERR_BAD_PAYLOAD"\} \d+/)
    expect(metrics).not.toMatch(/ERR_INTERNAL/)
  })

  it('closes the connection on a binary or oversize packet, before parsing it', async () => {
    await boot()
    const cases: unknown[] = [Buffer.from([1, 2, 3]), { version: V, treeId: 'A'.repeat(43), data: new Uint8Array(10) }, { pad: 'x'.repeat(40_000) }]
    for (const payload of cases) {
      const s = await rawClient()
      const closed = nextEvent<string>(s, 'disconnect')
      s.emit('tree:join', payload, () => {})
      await closed
    }
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/munro_connections_dropped_total\{code="ERR_BAD_PAYLOAD"\} 2/)
    expect(metrics).toMatch(/munro_connections_dropped_total\{code="ERR_PAYLOAD_TOO_LARGE"\} 1/)
    expect((await request<{ challenge: string }>(await rawClient(), 'tree:challenge', {})).ok).toBe(true)
  })

  it('survives events without an ack callback, counting them', async () => {
    await boot()
    const s = await rawClient()
    s.emit('tree:join', { version: V })
    s.emit('signal')
    s.emit('tree:challenge', {}, 'not a function')
    const res = await request<{ challenge: string }>(s, 'tree:challenge', {})
    expect(res.ok).toBe(true)
    const metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/munro_rejected_messages_total\{code="ERR_BAD_PAYLOAD"\} 3/)
  })

  it('limits every event per connection: no ack beyond a counter, and a connection that keeps on is dropped', async () => {
    await boot({ messagesPerSecond: 5, messageBurst: 10 })
    const s = await rawClient()
    const answers: unknown[] = []
    for (let i = 0; i < 40; i++) s.emit('tree:challenge', {}, (res: unknown) => answers.push(res))
    for (let i = 0; i < 5; i++) s.emit('no-such-event', {}, (res: unknown) => answers.push(res))
    await new Promise((r) => setTimeout(r, 500))
    expect(answers.length).toBeGreaterThanOrEqual(10)
    expect(answers.length).toBeLessThanOrEqual(14)
    expect(answers.every((a) => (a as { ok: boolean }).ok)).toBe(true)
    let metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(Number(/munro_rejected_messages_total\{code="ERR_RATE_LIMITED"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(26)

    // Unknown events cost a strike each; a connection past its abuse budget is closed.
    const t = await rawClient()
    const closed = nextEvent<string>(t, 'disconnect')
    for (let i = 0; i < 60; i++) t.emit('no-such-event', {})
    await closed
    metrics = await (await fetch(`${server.url}/metrics`)).text()
    expect(metrics).toMatch(/munro_connections_dropped_total\{code="ERR_ABUSE"\} 1/)
  })

  it('limits trees per connection and refuses joining the same tree twice', async () => {
    await boot({ maxTreesPerConnection: 2 })
    const trees = await Promise.all([sourceWithTree(), sourceWithTree(), sourceWithTree()])
    const c = await connected(client())
    await c.joinTree(trees[0].treeId)
    await expect(c.joinTree(trees[0].treeId)).rejects.toMatchObject({ code: 'ERR_ALREADY_IN_TREE' })
    await c.joinTree(trees[1].treeId)
    const err = await c.joinTree(trees[2].treeId).catch((e: SignalingClientError) => e)
    expect(err).toBeInstanceOf(SignalingClientError)
    expect((err as SignalingClientError).code).toBe('ERR_TREE_LIMIT')
  })
})

describe('http', () => {
  it('serves /healthz and Prometheus /metrics', async () => {
    await boot()
    const { treeId } = await sourceWithTree()
    await viewers(treeId, 2)
    const res = await fetch(`${server.url}/metrics`)
    expect(res.headers.get('content-type')).toMatch(/text\/plain/)
    const text = await res.text()
    expect(text).toMatch(/^munro_peers 3$/m)
    expect(text).toMatch(/^munro_trees 1$/m)
    expect(text).toMatch(/^munro_joins_total 3$/m)
    expect((await fetch(`${server.url}/nope`)).status).toBe(404)
    const shape = (await (await fetch(`${server.url}/trees/${treeId}`)).json()) as { size: number; nodes: { depth: number }[] }
    expect(shape.size).toBe(3)
    expect(shape.nodes.map((n) => n.depth)).toEqual([0, 1, 1])
    expect((await fetch(`${server.url}/trees/${'A'.repeat(43)}`)).status).toBe(404)
  })
})
