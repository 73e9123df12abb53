// Browser side of bench/raw-relay-browser.ts. Builds, inside one page, two
// relay chains of `hops` WebRTC data-channel hops each:
//   raw:      plain RTCPeerConnection pairs; a relay does `next.send(event.data)`
//   peerlink: PeerLink pairs;                a relay does `next.send(frame)`
// and measures per-hop latency: one message in flight at a time, injected at
// the head, timed on arrival at the tail, divided by the hop count.
import { PeerLink } from '../src/transport/index.js'

export interface ChainBenchOptions {
  hops: number
  sizes: number[]
  /** Messages per size, per chain, per round (timed). */
  messagesPerRound: number
  /** Rounds; raw and PeerLink alternate within each, so drift hits both alike. */
  rounds: number
  /** Untimed messages per size and chain before the first round. */
  warmup: number
}

export interface ChainSamples {
  /** Per-hop latency samples in ms, by message size in bytes. */
  raw: Record<number, number[]>
  peerlink: Record<number, number[]>
  crossOriginIsolated: boolean
  userAgent: string
}

interface Chain {
  /** Sends `message` into the head; resolves with the per-hop latency in ms on arrival at the tail. */
  ping(message: Uint8Array): Promise<number>
  close(): void
}

// ------------------------------------------------------------------- raw

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve()
  return new Promise((resolve, reject) => {
    channel.addEventListener('open', () => resolve(), { once: true })
    channel.addEventListener('close', () => reject(new Error('channel closed before open')), { once: true })
  })
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve()
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve()
    })
  })
}

/** One hop of plain WebRTC: a connected pair of peer connections with one ordered, reliable channel. */
async function rawHop(): Promise<{ tx: RTCDataChannel; rx: RTCDataChannel; close(): void }> {
  const a = new RTCPeerConnection({ iceServers: [] })
  const b = new RTCPeerConnection({ iceServers: [] })
  const tx = a.createDataChannel('bench', { negotiated: true, id: 0 })
  const rx = b.createDataChannel('bench', { negotiated: true, id: 0 })
  tx.binaryType = rx.binaryType = 'arraybuffer'
  // Non-trickle (host candidates only, so gathering is instant): no candidate races.
  await a.setLocalDescription()
  await gathered(a)
  await b.setRemoteDescription(a.localDescription!)
  await b.setLocalDescription()
  await gathered(b)
  await a.setRemoteDescription(b.localDescription!)
  await Promise.all([opened(tx), opened(rx)])
  return {
    tx,
    rx,
    close: () => {
      a.close()
      b.close()
    }
  }
}

async function rawChain(hops: number): Promise<Chain> {
  const links: Array<Awaited<ReturnType<typeof rawHop>>> = []
  for (let i = 0; i < hops; i++) links.push(await rawHop())
  let arrive: ((size: number) => void) | null = null
  links.forEach((link, i) => {
    const next = links[i + 1]
    link.rx.onmessage = next
      ? (event: MessageEvent<ArrayBuffer>) => next.tx.send(event.data)
      : (event: MessageEvent<ArrayBuffer>) => arrive?.(event.data.byteLength)
  })
  return {
    ping: (message) =>
      new Promise((resolve, reject) => {
        const start = performance.now()
        arrive = (size) => {
          arrive = null
          if (size !== message.byteLength) reject(new Error(`raw chain delivered ${size} bytes, sent ${message.byteLength}`))
          else resolve((performance.now() - start) / hops)
        }
        links[0]!.tx.send(message as Uint8Array<ArrayBuffer>)
      }),
    close: () => links.forEach((link) => link.close())
  }
}

// -------------------------------------------------------------- PeerLink

async function peerLinkHop(maxFrameBytes: number): Promise<{ tx: PeerLink; rx: PeerLink }> {
  const tx = new PeerLink({ initiator: true, iceServers: [], maxFrameBytes, maxQueuedBytes: 4 * maxFrameBytes })
  const rx = new PeerLink({ initiator: false, iceServers: [], maxFrameBytes, maxQueuedBytes: 4 * maxFrameBytes })
  tx.on('signal', (data) => rx.signal(data))
  rx.on('signal', (data) => tx.signal(data))
  const open = (link: PeerLink) =>
    new Promise<void>((resolve, reject) => {
      link.once('open', resolve)
      link.once('close', (err) => reject(err ?? new Error('closed before open')))
    })
  await Promise.all([open(tx), open(rx)])
  return { tx, rx }
}

async function peerLinkChain(hops: number, maxFrameBytes: number): Promise<Chain> {
  const links: Array<Awaited<ReturnType<typeof peerLinkHop>>> = []
  for (let i = 0; i < hops; i++) links.push(await peerLinkHop(maxFrameBytes))
  let arrive: ((size: number) => void) | null = null
  links.forEach((link, i) => {
    const next = links[i + 1]
    if (next) link.rx.on('frame', (frame) => next.tx.send(frame))
    else link.rx.on('frame', (frame) => arrive?.(frame.byteLength))
  })
  return {
    ping: (message) =>
      new Promise((resolve, reject) => {
        const start = performance.now()
        arrive = (size) => {
          arrive = null
          if (size !== message.byteLength) reject(new Error(`PeerLink chain delivered ${size} bytes, sent ${message.byteLength}`))
          else resolve((performance.now() - start) / hops)
        }
        links[0]!.tx.send(message)
      }),
    close: () => links.forEach((link) => (link.tx.destroy(), link.rx.destroy()))
  }
}

// ----------------------------------------------------------------- runner

async function pings(chain: Chain, message: Uint8Array, count: number, into: number[] | null): Promise<void> {
  for (let i = 0; i < count; i++) {
    const ms = await chain.ping(message)
    into?.push(ms)
  }
}

async function runChainBench(options: ChainBenchOptions): Promise<ChainSamples> {
  const maxSize = Math.max(...options.sizes)
  const raw = await rawChain(options.hops)
  const peerlink = await peerLinkChain(options.hops, maxSize)
  const messages = new Map(options.sizes.map((size) => [size, crypto.getRandomValues(new Uint8Array(size))] as const))
  const out: ChainSamples = {
    raw: {},
    peerlink: {},
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    userAgent: navigator.userAgent
  }
  try {
    for (const [size, message] of messages) {
      out.raw[size] = []
      out.peerlink[size] = []
      await pings(raw, message, options.warmup, null)
      await pings(peerlink, message, options.warmup, null)
    }
    for (let round = 0; round < options.rounds; round++) {
      for (const [size, message] of messages) {
        // Alternate which chain goes first, so neither always runs on a warmer cache.
        const order = round % 2 === 0 ? ([raw, peerlink] as const) : ([peerlink, raw] as const)
        for (const chain of order) {
          await pings(chain, message, options.messagesPerRound, chain === raw ? out.raw[size]! : out.peerlink[size]!)
        }
      }
    }
  } finally {
    raw.close()
    peerlink.close()
  }
  return out
}

const api = { runChainBench }
export type RawRelayPageApi = typeof api
;(globalThis as Record<string, unknown>).munroBench = api
;(globalThis as Record<string, unknown>).__munroReady = true
