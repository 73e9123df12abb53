// End-to-end latency of the data plane in Node (real WebRTC via @roamhq/wrtc,
// real signaling server), against a raw relay that forwards the same bytes
// over the same transport (PeerLink) without signing or verifying anything:
//  - write() → 'message' at depth 1, 2, 3 (a chain: k1 = k = 1), p50 and p90;
//  - nine viewers joining at once (k = 4 defaults) → first message, with where
//    the time goes (placement, link open, first message);
//  - the source's CPU per message when every write is signed on its own.
//
//   bash scripts/netns.sh node --import tsx bench/latency.ts
import { pathToFileURL } from 'node:url'
import { generateKeyPair } from '../src/crypto/keys.js'
import { joinTree, type MunroSource, type MunroViewer } from '../src/index.js'
import { StreamSigner } from '../src/sign/munro-signer.js'
import { PeerLink } from '../src/transport/peer-link.js'
import { startServer } from '../test/helpers/signaling.js'
import { DEFAULTS, allConnected, sleep, startSource } from '../test/helpers/tree.js'
import { wrtc } from '../test/helpers/wrtc.js'
import { quantile } from './raw-relay-browser.js'

const MESSAGES = 200
const EVERY_MS = 20
const SIZE = 1024

interface DepthFigures {
  depth: number
  p50: number
  p90: number
}

/** Writes MESSAGES messages of SIZE bytes, one every EVERY_MS, each stamped with its index; returns the send times. */
async function drive(write: (data: Uint8Array) => void): Promise<number[]> {
  const sentAt: number[] = []
  for (let i = 0; i < MESSAGES; i++) {
    const data = new Uint8Array(SIZE)
    new DataView(data.buffer).setUint32(0, i)
    sentAt.push(performance.now())
    write(data)
    await sleep(EVERY_MS)
  }
  await sleep(500)
  return sentAt
}

function latencies(sentAt: number[], got: Map<number, number>): { p50: number; p90: number } {
  const xs = [...got].map(([seq, at]) => at - sentAt[seq]!)
  return { p50: quantile(xs, 0.5), p90: quantile(xs, 0.9) }
}

function stamp(into: Map<number, number>) {
  return (data: Uint8Array) => into.set(new DataView(data.buffer, data.byteOffset).getUint32(0), performance.now())
}

/** SDK: source → v1 → v2 → v3. */
async function sdkChain(): Promise<DepthFigures[]> {
  const server = await startServer()
  const source: MunroSource = await startSource(server.url, { ...DEFAULTS, k: 1, k1: 1 })
  const viewers: MunroViewer[] = []
  for (let i = 0; i < 3; i++) viewers.push(await joinTree(source.treeId, { signal: server.url, ...DEFAULTS }))
  await allConnected(viewers)
  await sleep(1_000)
  const got = viewers.map(() => new Map<number, number>())
  viewers.forEach((v, i) => {
    const at = stamp(got[i]!)
    v.on('message', (m) => at(m.data))
  })
  const sentAt = await drive((d) => source.write(d))
  const out = viewers.map((v, i) => ({ depth: v.stats().depth ?? i + 1, ...latencies(sentAt, got[i]!) }))
  for (const v of viewers) v.destroy()
  source.destroy()
  await server.close()
  return out.sort((a, b) => a.depth - b.depth)
}

/** Raw relay: the same chain of PeerLinks, each hop forwarding what it receives, nothing verified. */
async function rawChain(): Promise<DepthFigures[]> {
  const hops: PeerLink[][] = [] // [parentSide, childSide] per edge
  for (let i = 0; i < 3; i++) {
    const parent = new PeerLink({ initiator: false, wrtc, iceServers: [] })
    const child = new PeerLink({ initiator: true, wrtc, iceServers: [] })
    parent.on('signal', (s) => child.signal(s))
    child.on('signal', (s) => parent.signal(s))
    hops.push([parent, child])
  }
  await Promise.all(hops.flat().map((l) => new Promise<void>((r) => l.once('open', () => r()))))
  const got = hops.map(() => new Map<number, number>())
  hops.forEach(([, child], i) => {
    const at = stamp(got[i]!)
    child!.on('frame', (f) => {
      at(f)
      hops[i + 1]?.[0]!.send(f)
    })
  })
  const sentAt = await drive((d) => hops[0]![0]!.send(d))
  for (const l of hops.flat()) l.destroy()
  return got.map((g, i) => ({ depth: i + 1, ...latencies(sentAt, g) }))
}

interface JoinFigures {
  placedMs: number
  linkOpenMs: number
  firstMessageMs: number
}

/** Nine viewers call joinTree() at the same moment; each one's times from that moment. */
async function nineJoin(): Promise<JoinFigures[]> {
  const server = await startServer()
  const source = await startSource(server.url, { ...DEFAULTS })
  let seq = 0
  const ticker = setInterval(() => source.write(new Uint8Array(SIZE), { startPoint: seq++ % 10 === 0 }), 50)
  await sleep(600)
  const t0 = performance.now()
  const figures = await Promise.all(
    Array.from({ length: 9 }, async () => {
      const viewer = await joinTree(source.treeId, { signal: server.url, ...DEFAULTS })
      const placedMs = performance.now() - t0
      const linkOpen = new Promise<number>((r) => viewer.once('parent-connected', () => r(performance.now() - t0)))
      const first = new Promise<number>((r) => viewer.once('message', () => r(performance.now() - t0)))
      const f = { placedMs, linkOpenMs: await linkOpen, firstMessageMs: await first }
      return { viewer, f }
    })
  )
  clearInterval(ticker)
  for (const { viewer } of figures) viewer.destroy()
  source.destroy()
  await server.close()
  return figures.map((x) => x.f)
}

/** CPU of the source side per message, when each write is signed at its write boundary. */
async function signingCpu(): Promise<{ microsPerMessage: number }> {
  const signer = new StreamSigner({ ...generateKeyPair() })
  const n = 2_000
  const before = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    signer.write(new Uint8Array(SIZE))
    await Promise.resolve() // each write in its own task: one munro (one signature) per message
  }
  await signer.settled()
  const used = process.cpuUsage(before)
  signer.destroy()
  return { microsPerMessage: (used.user + used.system) / n }
}

export async function runLatencyBench() {
  const sdk = await sdkChain()
  const raw = await rawChain()
  const joins = await nineJoin()
  const cpu = await signingCpu()
  return { sdk, raw, joins, cpu }
}

export function formatLatencyBench(r: Awaited<ReturnType<typeof runLatencyBench>>): string {
  const p50 = (xs: number[]) => quantile(xs, 0.5).toFixed(0)
  return [
    `| e2e latency, ${SIZE} B every ${EVERY_MS} ms, Node peers in a chain | munro p50 (p90) | raw relay p50 (p90) | ratio p50 |`,
    '|---|---|---|---|',
    ...r.sdk.map((s, i) => {
      const raw = r.raw[i]!
      return `| depth ${s.depth} | ${s.p50.toFixed(1)} ms (${s.p90.toFixed(1)}) | ${raw.p50.toFixed(1)} ms (${raw.p90.toFixed(1)}) | ${(s.p50 / raw.p50).toFixed(2)}× |`
    }),
    `| nine viewers join at once (k = 4): placed / link open / first message, p50 | ${p50(r.joins.map((j) => j.placedMs))} / ${p50(r.joins.map((j) => j.linkOpenMs))} / ${p50(r.joins.map((j) => j.firstMessageMs))} ms | | |`,
    `| source CPU per ${SIZE} B message, each write signed on its own | ${r.cpu.microsPerMessage.toFixed(0)} µs | | |`
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(formatLatencyBench(await runLatencyBench()))
  process.exit(0)
}
