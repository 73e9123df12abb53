// Over 100,000 random and half-valid events from many connections at a real
// munro-signal process, while honest peers stay in the same tree. Nothing may
// come back as ERR_INTERNAL, every bad event is counted by code in /metrics,
// the server's RSS stays bounded, and every honest peer keeps its place.
import { afterAll, describe, expect, it } from 'vitest'
import { io as connect, type Socket } from 'socket.io-client'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { base64urlEncode } from '../../src/crypto/bytes.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import { SIGNALING_PROTOCOL_VERSION as V, type Ack, type TreeEnded } from '../../src/protocol/signaling.js'
import { prng } from '../helpers/prng.js'
import { nextEvent } from '../helpers/signaling.js'
import { startServerProcess, type ServerProcess } from './server-process.js'

const SEED = Number(process.env.FUZZ_SEED ?? 8)
const EVENTS = 100_000
const CONNECTIONS = 100
const cleanups: (() => void | Promise<void>)[] = []

afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text()
}

function sumOf(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const m of text.matchAll(new RegExp(`^${name}\\{code="([A-Z_]+)"\\} (\\d+)$`, 'gm'))) out.set(m[1]!, Number(m[2]))
  return out
}

const rssOf = (text: string) => Number(/^process_resident_memory_bytes (\d+)$/m.exec(text)?.[1])

describe('fuzz', () => {
  it(`answers ${EVENTS} hostile events without one ERR_INTERNAL, counted by code, RSS bounded, honest peers in place (seed ${SEED})`, async () => {
    const proc: ServerProcess = await startServerProcess(['--port', '0', '--host', '127.0.0.1'])
    cleanups.push(async () => {
      proc.child.kill('SIGKILL')
      await proc.exited
    })
    const rand = prng(SEED)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
    const id = (bytes: number) => base64urlEncode(Uint8Array.from({ length: bytes }, () => Math.floor(rand() * 256)))

    // The honest tree: a source and 20 viewers that must all stay placed.
    const honest: { client: SignalingClient; ended: TreeEnded[] }[] = []
    const add = (c: SignalingClient) => {
      const h = { client: c, ended: [] as TreeEnded[] }
      c.on('tree-ended', (e) => h.ended.push(e))
      honest.push(h)
      cleanups.push(() => c.destroy())
      return c
    }
    const source = add(new SignalingClient(proc.url))
    await nextEvent(source, 'connect')
    const created = await source.createTree(generateKeyPair(), { k: 4, k1: 4 })
    const treeId = created.placement.treeId
    const honestIds = [created.placement.peerId]
    for (let i = 0; i < 20; i++) {
      const c = add(new SignalingClient(proc.url))
      await nextEvent(c, 'connect')
      honestIds.push((await c.joinTree(treeId)).placement.peerId)
    }
    const rss0 = rssOf(await scrape(proc.url))

    // ------------------------------------------------ the generator
    const treeIds = () => pick([treeId, treeId, id(32), 'A'.repeat(43), '', 42, null])
    const peerIds = () => pick([...honestIds.slice(0, 4), id(16), 'A'.repeat(22), '!', 0])
    const junk = (depth = 0): unknown => {
      switch (Math.floor(rand() * (depth > 2 ? 6 : 10))) {
        case 0: return null
        case 1: return Math.floor(rand() * 2 ** 40) - 2 ** 39
        case 2: return 'x'.repeat(Math.floor(rand() * 200))
        case 3: return rand() < 0.5
        case 4: return { toString: 1, valueOf: 'x' }
        case 5: return { ['__proto__']: { polluted: true }, constructor: { prototype: 1 } }
        case 6: return Array.from({ length: Math.floor(rand() * 5) }, () => junk(depth + 1))
        case 7: return { version: junk(depth + 1), treeId: junk(depth + 1) }
        case 8: return Object.fromEntries(Array.from({ length: Math.floor(rand() * 6) }, (_, i) => [`k${i}`, junk(depth + 1)]))
        default: return 'é\u0000\ud800'.repeat(Math.floor(rand() * 50))
      }
    }
    const payloadFor = (event: string): unknown => {
      if (rand() < 0.25) return junk()
      switch (event) {
        case 'tree:join':
          return { version: pick([V, V, 2, '1', { toString: 1 }]), treeId: treeIds(), ...(rand() < 0.4 && { resume: { peerId: peerIds(), token: pick([id(32), 'A'.repeat(43)]) } }), ...(rand() < 0.2 && { link: { parent: peerIds(), children: [peerIds()] } }) }
        case 'tree:create':
          return { version: V, treeId: treeIds(), challenge: id(32), signature: id(64), ...(rand() < 0.3 && { k: pick([0, 1, 4, 65, 1.5]) }) }
        case 'tree:leave':
          return { treeId: treeIds() }
        case 'peer:report':
          return { treeId: treeIds(), parentId: peerIds(), reason: pick(['unresponsive', 'invalid-data', 'bored']) }
        case 'signal':
          return { treeId: treeIds(), to: peerIds(), data: pick([{ candidate: 'x' }, ['a'], 'sdp', { sdp: 'y'.repeat(500) }, null]) }
        default:
          return {}
      }
    }
    const EVENT_NAMES = ['tree:challenge', 'tree:create', 'tree:join', 'tree:join', 'tree:leave', 'peer:report', 'peer:report', 'signal', 'signal', 'nope', 'toString', '__proto__']

    // ------------------------------------------------ the attack
    const codes = new Map<string, number>()
    let sent = 0
    let acked = 0
    const open = async (): Promise<Socket> => {
      const s = connect(proc.url, { transports: ['websocket'], reconnection: false, forceNew: true })
      await new Promise<void>((resolve) => {
        s.once('connect', () => resolve())
        s.once('connect_error', () => resolve())
      })
      return s
    }
    const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, open))
    cleanups.push(() => sockets.forEach((s) => s.disconnect()))
    const onAck = (res: Ack<object>) => {
      acked++
      if (res && typeof res === 'object' && res.ok === false) codes.set(res.error.code, (codes.get(res.error.code) ?? 0) + 1)
    }
    while (sent < EVENTS) {
      for (let i = 0; i < sockets.length; i++) {
        // A connection the server dropped for abuse comes back as a new one.
        if (!sockets[i]!.connected) {
          sockets[i]!.disconnect()
          sockets[i] = await open()
        }
        const s = sockets[i]!
        for (let j = 0; j < 4; j++) {
          const event = pick(EVENT_NAMES)
          const r = rand()
          if (r < 0.05) s.emit(event, onAck) // no payload
          else if (r < 0.1) s.emit(event, payloadFor(event), 'extra', onAck)
          else if (r < 0.13) s.emit(event, payloadFor(event)) // no ack
          else s.emit(event, payloadFor(event), onAck)
          sent++
        }
      }
      // About 45 events per connection per second: inside the rate limit, so most events reach the handlers.
      await new Promise((r) => setTimeout(r, 90))
    }
    await new Promise((r) => setTimeout(r, 1_000))

    // ------------------------------------------------ the verdict
    const text = await scrape(proc.url)
    const rejected = sumOf(text, 'munro_rejected_messages_total')
    console.log(`fuzz: ${sent} events, ${acked} acked; error acks ${JSON.stringify(Object.fromEntries(codes))}; /metrics rejected ${JSON.stringify(Object.fromEntries(rejected))}; RSS ${(rssOf(text) / 2 ** 20).toFixed(0)} MB (from ${(rss0 / 2 ** 20).toFixed(0)} MB)`)
    expect(sent).toBeGreaterThanOrEqual(EVENTS)
    expect(codes.has('ERR_INTERNAL')).toBe(false)
    expect(rejected.has('ERR_INTERNAL')).toBe(false)
    // Every error ack was counted under its code (the counters also hold what was dropped without an ack).
    for (const [code, n] of codes) expect(rejected.get(code) ?? 0, code).toBeGreaterThanOrEqual(n)
    expect(rejected.get('ERR_UNKNOWN_EVENT') ?? 0).toBeGreaterThan(0)
    expect(rssOf(text) - rss0).toBeLessThan(150 * 2 ** 20)
    const shape = (await (await fetch(`${proc.url}/trees/${treeId}`)).json()) as { nodes: { peerId: string }[] }
    const present = new Set(shape.nodes.map((n) => n.peerId))
    for (const peerId of honestIds) expect(present.has(peerId), peerId).toBe(true)
    for (const h of honest) expect(h.ended).toEqual([])
  }, 180_000)
})
