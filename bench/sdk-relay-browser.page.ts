// Browser side of bench/sdk-relay-browser.ts. One page holds two relay chains
// of `hops` WebRTC hops each, so every timestamp is on one performance.now()
// clock:
//   raw: plain RTCPeerConnection pairs; a relay hop is `onmessage -> next.send(data)`;
//        a message over 16 KiB goes as 16 KiB pieces, as a relay would have to send it.
//   sdk: a munro source and `hops` viewers joined in sequence with k = k1 = 1,
//        so they form the chain source -> v1 -> v2 -> ... (every hop verifies).
// Both chains carry one message at a time, paced, and record when it arrives
// at every hop; rounds alternate between the chains. The same page also runs
// the join bench (a source writing every 50 ms; viewers join from other pages).
import { createSource, generateKeyPair, joinTree, type MunroSource, type MunroViewer } from '../src/index.js'
import { signMessage, verifySignature } from '../src/crypto/ed25519.js'
import { FrameType } from '../src/wire/frames.js'
import { MAX_FRAME_BYTES, maxChunkPayloadBytes } from '../src/wire/limits.js'

export interface RelayBenchOptions {
  /** Signaling server URL. */
  url: string
  /** Hops per chain (= viewers in the SDK chain). Per-hop samples come from hops 2..N. */
  hops: number
  /** Application message sizes in bytes. MAX_FRAME_BYTES stands for "exactly one full chunk" (see sizeFor). */
  sizes: number[]
  /** Timed messages per size, per chain, per round. */
  messagesPerRound: number
  rounds: number
  /** Untimed messages per size and chain before the first round. */
  warmup: number
  /** A new message starts this long after the previous one started (or when it arrived, if later). */
  intervalMs: number
  munroSpan: number
  /** Messages per size and chain timed with stage instrumentation after the rounds (0: none). */
  profileMessages: number
}

/** What one chain sends for a nominal size. */
export interface SizePlan {
  /** Nominal size in bytes (the label). */
  nominal: number
  /** Bytes one raw message carries; pieces of at most MAX_FRAME_BYTES. */
  rawBytes: number
  rawPieces: number
  /** Bytes of the SDK message (what source.write() gets). */
  sdkBytes: number
  sdkChunks: number
}

/** Arrival times (ms, performance.now()) of one message at hops 1..N, plus when it was sent. */
export interface Trip {
  sentAt: number
  arrivals: number[]
}

export interface RelaySamples {
  plans: SizePlan[]
  /** By nominal size: one Trip per timed message. */
  raw: Record<number, Trip[]>
  sdk: Record<number, Trip[]>
  /** By nominal size: instrumented messages (profileMessages per chain), hops 2..N. */
  profile: Record<number, { raw: RawStages[]; sdk: SdkStages[] }>
  /**
   * By nominal size: the page's main-thread task time (Chromium's TaskDuration,
   * read by the Node side) over the timed rounds of each chain, and the
   * messages it covers. Null when the Node side offers no CPU reading.
   */
  cpu: Record<number, { rawMs: number; sdkMs: number; messages: number }> | null
  crossOriginIsolated: boolean
  userAgent: string
}

/**
 * Stage times of one message at one hop d >= 2, in ms after hop d-1's send()
 * of the message's last frame returned (the moment it was handed on).
 */
export interface RawStages {
  hop: number
  /** onmessage of the last piece begins. */
  received: number
  /** Its send() to the next hop returned (NaN at the tail). */
  forwarded: number
}

/** As RawStages, for the SDK: each stage of viewer d's pipeline. */
export interface SdkStages {
  hop: number
  /** The MUNRO frame, decoded, reaches VerifyPipeline.push (it was sent just before the chunk). */
  munroPushed: number
  /** This hop's send() of the MUNRO frame towards the next hop returned; NaN at the tail. */
  munroSent: number
  /** munroPushed minus the previous hop's munroSent: the MUNRO frame's own transit. */
  munroTransit: number
  munroVerifyStart: number
  munroVerifyEnd: number
  /** The (last) CHUNK frame, decoded, reaches VerifyPipeline.push. */
  chunkPushed: number
  chunkVerifyStart: number
  chunkVerifyEnd: number
  /** The burst of send()s towards the next viewer that carries the (last) chunk begins (MUNRO frame first, if due); NaN at the tail. */
  forwardStart: number
  /** send() of the (last) CHUNK frame begins; NaN at the tail. */
  chunkSendStart: number
  /** send() of the last CHUNK frame towards the next viewer returned; NaN at the tail. */
  forwarded: number
  /** `message` event. */
  delivered: number
}

export interface JoinTiming {
  /** joinTree() resolved: connected to signaling and placed. */
  placedMs: number
  /** parent-connected: the data channel to the parent opened. */
  connectedMs: number
  /** First `message` event. */
  firstMessageMs: number
  /** Index of that message's first chunk, and whether it was a start point. */
  index: number
  startPoint: boolean
}

const now = () => performance.now()
/** The page's main-thread task time so far, ms, if the Node side exposed it (bench/sdk-relay-browser.ts). */
const cpuReading = (globalThis as { munroBenchCpuMs?: () => Promise<number> }).munroBenchCpuMs
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)))
const TRIP_TIMEOUT_MS = 10_000

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

/**
 * A nominal size of MAX_FRAME_BYTES means "one full chunk": the raw chain
 * sends 16384 bytes, the SDK the largest message the signer puts in one chunk
 * (a CHUNK frame of 16384 bytes laid out for span `span`; flushed alone, its
 * munro gets span 1, so the frame travels 32*log2(span) bytes shorter). Other
 * sizes go as they are (raw: split into 16 KiB pieces; SDK: chunked by the signer).
 */
export function sizeFor(nominal: number, span: number): SizePlan {
  const payload = maxChunkPayloadBytes(span)
  const sdkBytes = nominal === MAX_FRAME_BYTES ? payload : nominal
  return {
    nominal,
    rawBytes: nominal,
    rawPieces: Math.max(1, Math.ceil(nominal / MAX_FRAME_BYTES)),
    sdkBytes,
    sdkChunks: Math.max(1, Math.ceil(sdkBytes / payload))
  }
}

interface Chain {
  /** Sends a message of `plan`, resolves with its arrival times at every hop. */
  trip(plan: SizePlan, seq: number): Promise<Trip>
  close(): void
}

// ------------------------------------------------------------------- raw

function channelOpen(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true })
    channel.addEventListener('close', () => reject(new Error('raw channel closed before it opened')), { once: true })
  })
}

function iceComplete(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (pc.iceGatheringState !== 'complete') return
      pc.removeEventListener('icegatheringstatechange', check)
      resolve()
    }
    pc.addEventListener('icegatheringstatechange', check)
    check()
  })
}

/** Two connected peer connections with one ordered, reliable, pre-negotiated channel; candidates go in the SDP. */
async function rawPair(): Promise<{ tx: RTCDataChannel; rx: RTCDataChannel; pcs: RTCPeerConnection[] }> {
  const offerer = new RTCPeerConnection({ iceServers: [] })
  const answerer = new RTCPeerConnection({ iceServers: [] })
  const tx = offerer.createDataChannel('relay', { negotiated: true, id: 1 })
  const rx = answerer.createDataChannel('relay', { negotiated: true, id: 1 })
  tx.binaryType = 'arraybuffer'
  rx.binaryType = 'arraybuffer'
  await offerer.setLocalDescription()
  await iceComplete(offerer)
  await answerer.setRemoteDescription(offerer.localDescription!)
  await answerer.setLocalDescription()
  await iceComplete(answerer)
  await offerer.setRemoteDescription(answerer.localDescription!)
  await Promise.all([channelOpen(tx), channelOpen(rx)])
  return { tx, rx, pcs: [offerer, answerer] }
}

interface RawChain extends Chain {
  /** Records, from now on, when each hop's handler starts and its forward returns. */
  detail(): { take(): RawStages[] }
}

async function rawChain(hops: number): Promise<RawChain> {
  const pairs: Array<Awaited<ReturnType<typeof rawPair>>> = []
  for (let i = 0; i < hops; i++) pairs.push(await rawPair())
  let expected = 0
  let received: number[] = []
  let arrivals: number[] = []
  let done: (() => void) | null = null
  // Detail mode only: handler entry and forward return of the last piece, per hop.
  let entered: number[] | null = null
  let forwarded: number[] | null = null
  pairs.forEach((pair, i) => {
    const next = pairs[i + 1]
    pair.rx.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      const entry = entered === null ? 0 : now()
      // Relay first, like a relay would; then note the time, like the SDK's `message` event after its forward.
      next?.tx.send(event.data)
      received[i] = (received[i] ?? 0) + event.data.byteLength
      if (received[i] === expected) {
        const t = now()
        arrivals[i] = t
        if (entered !== null && forwarded !== null) {
          entered[i] = entry
          if (next) forwarded[i] = t
        }
        if (i === hops - 1) done?.()
      }
    }
  })
  return {
    trip: (plan, seq) =>
      withTimeout(
        new Promise<Trip>((resolve) => {
          expected = plan.rawBytes
          received = new Array<number>(hops).fill(0)
          arrivals = new Array<number>(hops).fill(Number.NaN)
          if (entered !== null) {
            entered = new Array<number>(hops).fill(Number.NaN)
            forwarded = new Array<number>(hops).fill(Number.NaN)
          }
          const message = new Uint8Array(plan.rawBytes)
          crypto.getRandomValues(message.subarray(0, Math.min(message.length, 65536)))
          new DataView(message.buffer).setUint32(0, seq)
          const sentAt = now()
          done = () => {
            done = null
            resolve({ sentAt, arrivals })
          }
          for (let offset = 0; offset < message.length; offset += MAX_FRAME_BYTES) {
            pairs[0]!.tx.send(message.subarray(offset, offset + MAX_FRAME_BYTES))
          }
        }),
        TRIP_TIMEOUT_MS,
        `raw message ${seq} of ${plan.rawBytes} bytes through ${hops} hops`
      ),
    detail() {
      entered = []
      forwarded = []
      return {
        take() {
          const out: RawStages[] = []
          for (let d = 2; d <= hops; d++) {
            const base = forwarded![d - 2]!
            out.push({ hop: d, received: entered![d - 1]! - base, forwarded: forwarded![d - 1]! - base })
          }
          return out
        }
      }
    },
    close: () => pairs.forEach((p) => p.pcs.forEach((pc) => pc.close()))
  }
}

// ------------------------------------------------------------------- SDK

/** The SDK's private parts the stage instrumentation wraps (runtime fields; TypeScript hides them). */
interface ViewerInternals {
  peer: { children: { all: Iterable<{ link: { send(frame: Uint8Array): boolean } }> } }
  verifier: {
    acceptMunro(frame: unknown): Promise<unknown>
    acceptChunk(frame: unknown): Promise<unknown>
  }
  pipeline: { push(frame: { type: number }, bytes: Uint8Array, from: unknown): void }
}

interface SdkChain extends Chain {
  source: MunroSource
  viewers: MunroViewer[]
  /** Wraps SDK internals (for good) to time each stage of every later trip; take() after each trip. */
  instrument(): { take(): SdkStages[] }
}

function readSeq(data: Uint8Array): number {
  return data.byteLength >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0) : -1
}

function blankStages(hop: number): SdkStages {
  return {
    hop,
    munroPushed: NaN,
    munroSent: NaN,
    munroTransit: NaN,
    munroVerifyStart: NaN,
    munroVerifyEnd: NaN,
    chunkPushed: NaN,
    chunkVerifyStart: NaN,
    chunkVerifyEnd: NaN,
    forwardStart: NaN,
    chunkSendStart: NaN,
    forwarded: NaN,
    delivered: NaN
  }
}

async function sdkChain(url: string, hops: number, span: number): Promise<SdkChain> {
  const common = { signal: url, iceServers: [], statsIntervalMs: 0 }
  const source = await createSource({ ...common, k: 1, k1: 1, munroSpan: span, munroDeadlineMs: 50 })
  const viewers: MunroViewer[] = []
  let current: { seq: number; bytes: number; arrivals: number[]; done: () => void } | null = null
  const fail: Error[] = []
  try {
    for (let d = 1; d <= hops; d++) {
      const viewer = await joinTree(source.treeId, common)
      viewers.push(viewer)
      if (viewer.placement?.depth !== d) throw new Error(`viewer ${d} was placed at depth ${viewer.placement?.depth}, not ${d}: not a chain`)
      viewer.on('message', (m) => {
        const t = now()
        if (current === null || readSeq(m.data) !== current.seq) return
        if (m.data.byteLength !== current.bytes) fail.push(new Error(`viewer ${d} got ${m.data.byteLength} bytes, source wrote ${current.bytes}`))
        current.arrivals[d - 1] = t
        if (d === hops) current.done()
      })
      viewer.on('chunk-rejected', (r) => fail.push(new Error(`viewer ${d} rejected a chunk: ${r.code} ${r.message}`)))
      viewer.on('stall', () => fail.push(new Error(`viewer ${d} reported a stalled parent`)))
      await withTimeout(new Promise<void>((resolve) => viewer.once('parent-connected', () => resolve())), 15_000, `viewer ${d} parent-connected`)
    }
  } catch (err) {
    viewers.forEach((v) => v.destroy())
    source.destroy()
    throw err
  }

  // Instrumented mode: stages by depth (0 = source), reset by take().
  let stages: SdkStages[] = []

  return {
    source,
    viewers,
    trip: (plan, seq) =>
      withTimeout(
        new Promise<Trip>((resolve, reject) => {
          if (fail.length > 0) return reject(fail[0])
          const message = new Uint8Array(plan.sdkBytes)
          crypto.getRandomValues(message.subarray(0, Math.min(message.length, 65536)))
          new DataView(message.buffer).setUint32(0, seq)
          const arrivals = new Array<number>(hops).fill(Number.NaN)
          const sentAt = now()
          current = {
            seq,
            bytes: plan.sdkBytes,
            arrivals,
            done: () => {
              current = null
              if (fail.length > 0) reject(fail[0])
              else resolve({ sentAt, arrivals })
            }
          }
          source.write(message)
          source.flush()
        }),
        TRIP_TIMEOUT_MS,
        `SDK message ${seq} of ${plan.sdkBytes} bytes through ${hops} viewers`
      ),
    instrument() {
      const at = (d: number): SdkStages => (stages[d] ??= blankStages(d))
      // Depth d sends towards d+1 through its only child session: note when
      // the first frame of a message goes out and when the last chunk's send returns.
      const wrapSends = (peer: ViewerInternals['peer'], d: number) => {
        for (const child of peer.children.all) {
          const link = child.link
          const send = link.send.bind(link)
          let burstStart = Number.NaN
          link.send = (frame: Uint8Array) => {
            const start = now()
            // Sends within one synchronous pump form a burst; a chunk's forward starts with its burst.
            if (Number.isNaN(burstStart)) {
              burstStart = start
              queueMicrotask(() => (burstStart = Number.NaN))
            }
            const ok = send(frame)
            if (frame[1] === FrameType.MUNRO) at(d).munroSent = now()
            if (frame[1] === FrameType.CHUNK) {
              const r = at(d)
              r.forwardStart = burstStart
              r.chunkSendStart = start
              r.forwarded = now()
            }
            return ok
          }
        }
      }
      wrapSends((source as unknown as ViewerInternals).peer, 0)
      viewers.forEach((viewer, i) => {
        const d = i + 1
        const v = viewer as unknown as ViewerInternals
        wrapSends(v.peer, d)
        const push = v.pipeline.push.bind(v.pipeline)
        v.pipeline.push = (frame, bytes, from) => {
          if (frame.type === FrameType.MUNRO) at(d).munroPushed = now()
          else at(d).chunkPushed = now()
          push(frame, bytes, from)
        }
        const acceptMunro = v.verifier.acceptMunro.bind(v.verifier)
        v.verifier.acceptMunro = (frame) => {
          const r = at(d)
          r.munroVerifyStart = now()
          const p = acceptMunro(frame)
          void p.then(() => (r.munroVerifyEnd = now()))
          return p
        }
        const acceptChunk = v.verifier.acceptChunk.bind(v.verifier)
        v.verifier.acceptChunk = (frame) => {
          const r = at(d)
          r.chunkVerifyStart = now()
          const p = acceptChunk(frame)
          void p.then(() => (r.chunkVerifyEnd = now()))
          return p
        }
        viewer.on('message', () => {
          at(d).delivered = now()
        })
      })
      return {
        take() {
          const out: SdkStages[] = []
          for (let d = 2; d <= hops; d++) {
            const r = stages[d]
            const base = stages[d - 1]?.forwarded ?? NaN
            if (!r || !Number.isFinite(base)) continue
            const rel = (t: number) => t - base
            out.push({
              hop: d,
              munroPushed: rel(r.munroPushed),
              munroSent: rel(r.munroSent),
              munroTransit: r.munroPushed - (stages[d - 1]?.munroSent ?? NaN),
              munroVerifyStart: rel(r.munroVerifyStart),
              munroVerifyEnd: rel(r.munroVerifyEnd),
              chunkPushed: rel(r.chunkPushed),
              chunkVerifyStart: rel(r.chunkVerifyStart),
              chunkVerifyEnd: rel(r.chunkVerifyEnd),
              forwardStart: rel(r.forwardStart),
              chunkSendStart: rel(r.chunkSendStart),
              forwarded: rel(r.forwarded),
              delivered: rel(r.delivered)
            })
          }
          stages = []
          return out
        }
      }
    },
    close: () => {
      viewers.forEach((v) => v.destroy())
      source.destroy()
    }
  }
}

// ----------------------------------------------------------------- runner

async function paced(chain: Chain, plan: SizePlan, count: number, intervalMs: number, seq: { n: number }, into: Trip[] | null): Promise<void> {
  for (let i = 0; i < count; i++) {
    const started = now()
    const trip = await chain.trip(plan, seq.n++)
    into?.push(trip)
    await sleep(started + intervalMs - now())
  }
}

async function runRelayBench(options: RelayBenchOptions): Promise<RelaySamples> {
  const plans = options.sizes.map((size) => sizeFor(size, options.munroSpan))
  const raw = await rawChain(options.hops)
  let sdk: SdkChain | undefined
  try {
    sdk = await sdkChain(options.url, options.hops, options.munroSpan)
    const out: RelaySamples = {
      plans,
      raw: {},
      sdk: {},
      profile: {},
      cpu: cpuReading ? {} : null,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      userAgent: navigator.userAgent
    }
    const seq = { n: 1 }
    for (const plan of plans) {
      out.raw[plan.nominal] = []
      out.sdk[plan.nominal] = []
      await paced(raw, plan, options.warmup, options.intervalMs, seq, null)
      await paced(sdk, plan, options.warmup, options.intervalMs, seq, null)
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const plan of plans) {
        // Alternate which chain goes first, so neither always follows the other's garbage.
        const order: Chain[] = round % 2 === 0 ? [raw, sdk] : [sdk, raw]
        for (const chain of order) {
          const cpuBefore = cpuReading ? await cpuReading() : 0
          await paced(chain, plan, options.messagesPerRound, options.intervalMs, seq, chain === raw ? out.raw[plan.nominal]! : out.sdk[plan.nominal]!)
          if (out.cpu) {
            const spent = (await cpuReading!()) - cpuBefore
            const c = (out.cpu[plan.nominal] ??= { rawMs: 0, sdkMs: 0, messages: 0 })
            if (chain === raw) c.rawMs += spent
            else c.sdkMs += spent
            if (chain === raw) c.messages += options.messagesPerRound
          }
        }
      }
    }
    if (options.profileMessages > 0) {
      // Instrumented trips after the timed rounds, the chains alternating.
      const rawProbe = raw.detail()
      const sdkProbe = sdk.instrument()
      for (const plan of plans) {
        const into = { raw: [] as RawStages[], sdk: [] as SdkStages[] }
        for (let i = 0; i < options.profileMessages; i++) {
          for (const chain of i % 2 === 0 ? [raw, sdk] : [sdk, raw]) {
            const started = now()
            await chain.trip(plan, seq.n++)
            if (chain === raw) into.raw.push(...rawProbe.take())
            else into.sdk.push(...sdkProbe.take())
            await sleep(started + options.intervalMs - now())
          }
        }
        out.profile[plan.nominal] = into
      }
    }
    return out
  } finally {
    raw.close()
    sdk?.close()
  }
}

// ----------------------------------------------------------- crypto probe

export interface CryptoProbe {
  /** crypto.subtle.verify('Ed25519'): ms until the call returns its promise, and until it settles. */
  verifySyncMs: number
  verifyTotalMs: number
  /** The SDK's verifySignature() (policy checks, key cache, then WebCrypto), call to settle. */
  sdkVerifyTotalMs: number
  /** crypto.subtle.digest('SHA-256') of 16 KiB: until it returns, until it settles. */
  digestSyncMs: number
  digestTotalMs: number
}

/** Where WebCrypto does its work in this Chromium: a synchronous part as long as the total means "on the calling thread". */
async function cryptoProbe(rounds: number): Promise<CryptoProbe> {
  const pair = generateKeyPair()
  const message = crypto.getRandomValues(new Uint8Array(120))
  const signature = (await signMessage(pair.secretKey, message)) as Uint8Array<ArrayBuffer>
  const key = await crypto.subtle.importKey('raw', pair.publicKey.slice(), { name: 'Ed25519' }, false, ['verify'])
  const data = crypto.getRandomValues(new Uint8Array(16384))
  const cols: number[][] = [[], [], [], [], []]
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!
  for (let i = 0; i < rounds; i++) {
    let t = now()
    const v = crypto.subtle.verify('Ed25519', key, signature, message)
    cols[0]!.push(now() - t)
    await v
    cols[1]!.push(now() - t)
    t = now()
    await verifySignature(pair.publicKey, message, signature)
    cols[2]!.push(now() - t)
    t = now()
    const h = crypto.subtle.digest('SHA-256', data)
    cols[3]!.push(now() - t)
    await h
    cols[4]!.push(now() - t)
    await sleep(2)
  }
  return { verifySyncMs: med(cols[0]!), verifyTotalMs: med(cols[1]!), sdkVerifyTotalMs: med(cols[2]!), digestSyncMs: med(cols[3]!), digestTotalMs: med(cols[4]!) }
}

// ------------------------------------------------------------------ joins

let joinSource: { source: MunroSource; timer: ReturnType<typeof setInterval> } | null = null

/** A tree whose source writes a 1 KiB message every `everyMs`, a start point every 10th. */
async function startJoinSource(url: string, k1: number, everyMs: number): Promise<string> {
  const source = await createSource({ signal: url, k: 1, k1, iceServers: [], statsIntervalMs: 0 })
  let n = 0
  const message = new Uint8Array(1024)
  const timer = setInterval(() => {
    source.write(message, { startPoint: n % 10 === 0 })
    n++
  }, everyMs)
  joinSource = { source, timer }
  return source.treeId
}

function stopJoinSource(): void {
  if (!joinSource) return
  clearInterval(joinSource.timer)
  joinSource.source.destroy()
  joinSource = null
}

/** Joins `treeId`, waits for the first message, leaves. Times from calling joinTree(). */
async function joinOnce(url: string, treeId: string): Promise<JoinTiming> {
  const t0 = now()
  const viewer = await joinTree(treeId, { signal: url, iceServers: [], statsIntervalMs: 0 })
  const placedMs = now() - t0
  try {
    let connectedMs = Number.NaN
    viewer.once('parent-connected', () => (connectedMs = now() - t0))
    const first = await withTimeout(
      new Promise<{ index: number; startPoint: boolean; at: number }>((resolve) =>
        viewer.once('message', (m) => resolve({ index: m.index, startPoint: m.startPoint, at: now() }))
      ),
      20_000,
      'first message after joinTree'
    )
    return { placedMs, connectedMs, firstMessageMs: first.at - t0, index: first.index, startPoint: first.startPoint }
  } finally {
    viewer.destroy()
  }
}

const api = { runRelayBench, startJoinSource, stopJoinSource, joinOnce, cryptoProbe }
export type SdkRelayPageApi = typeof api
;(globalThis as unknown as { munroSdkBench: SdkRelayPageApi }).munroSdkBench = api
;(globalThis as unknown as { __munroReady: boolean }).__munroReady = true
