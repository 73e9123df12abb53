// Browser side of peer-link.browser.test.ts: PeerLink in Chromium, built by Vite
// with the project's config (so simple-peer comes from its browser bundle).
import { PeerLink, type SignalData } from '../../src/transport/index.js'
import { prng } from '../helpers/prng.js'

const ICE: RTCIceServer[] = []

/** The `count` frames of a seed: random sizes 1..16 KiB (first two at the ends), random bytes. */
function* frames(seed: number, count: number): Generator<Uint8Array> {
  const rand = prng(seed)
  for (let i = 0; i < count; i++) {
    const size = i === 0 ? 1 : i === 1 ? 16 * 1024 : 1 + Math.floor(rand() * 16 * 1024)
    const frame = new Uint8Array(size)
    for (let j = 0; j < size; j++) frame[j] = (rand() * 256) | 0
    yield frame
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

function waitOpen(link: PeerLink, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('open timed out')), timeoutMs)
    link.once('open', () => (clearTimeout(timer), resolve()))
    link.once('close', (err) => (clearTimeout(timer), reject(err ?? new Error('closed before open'))))
  })
}

/** Sends the seed's frames, waiting for `drain` whenever send() says so. */
async function sendAll(link: PeerLink, seed: number, count: number): Promise<{ drains: number; bytes: number }> {
  let drains = 0
  let bytes = 0
  for (const frame of frames(seed, count)) {
    bytes += frame.byteLength
    if (!link.send(frame)) {
      drains++
      await new Promise<void>((resolve, reject) => {
        link.once('drain', resolve)
        link.once('close', (err) => reject(err ?? new Error('closed while waiting for drain')))
      })
    }
  }
  return { drains, bytes }
}

interface ReceiveResult {
  received: number
  bytes: number
  /** First frame that differed from what the seed says, or null. */
  firstMismatch: number | null
  allUint8Array: boolean
}

/** Checks each arriving frame against the seed, in order; resolves after `count`. */
function receiveAll(link: PeerLink, seed: number, count: number, timeoutMs = 30_000): Promise<ReceiveResult> {
  const expected = frames(seed, count)
  const result: ReceiveResult = { received: 0, bytes: 0, firstMismatch: null, allUint8Array: true }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${result.received} of ${count} frames in time`)), timeoutMs)
    link.on('frame', (frame) => {
      const want = expected.next().value
      if (!(frame instanceof Uint8Array) || frame.constructor !== Uint8Array) result.allUint8Array = false
      if (result.firstMismatch === null && (want === undefined || !equal(frame, want))) result.firstMismatch = result.received
      result.received++
      result.bytes += frame.byteLength
      if (result.received === count) {
        clearTimeout(timer)
        resolve(result)
      }
    })
    link.once('close', (err) => {
      if (result.received < count) reject(err ?? new Error(`closed after ${result.received} of ${count} frames`))
    })
  })
}

/** Two links in this page, signaling directly. */
async function exchangeInPage(count: number, seed: number) {
  const a = new PeerLink({ initiator: true, iceServers: ICE })
  const b = new PeerLink({ initiator: false, iceServers: ICE })
  a.on('signal', (data) => b.signal(data))
  b.on('signal', (data) => a.signal(data))
  try {
    await Promise.all([waitOpen(a), waitOpen(b)])
    const received = receiveAll(b, seed, count)
    const sent = await sendAll(a, seed, count)
    const got = await received
    const closed = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000)
      b.once('close', () => (clearTimeout(timer), resolve(true)))
    })
    a.destroy()
    return { ...got, sent, bytesSent: a.bytesSent, bytesReceived: b.bytesReceived, remoteClosed: await closed }
  } finally {
    a.destroy()
    b.destroy()
  }
}

/**
 * A writer far faster than the channel, in a loop that never yields, until
 * send() refuses with ERR_QUEUE_FULL; then waits for `drain` (Chromium's
 * `bufferedamountlow` path) and checks that exactly the accepted frames arrive.
 */
async function backpressureInPage(maxQueuedBytes: number, highWaterMark: number, lowWaterMark: number) {
  const a = new PeerLink({ initiator: true, iceServers: ICE, maxQueuedBytes, highWaterMark, lowWaterMark })
  const b = new PeerLink({ initiator: false, iceServers: ICE })
  a.on('signal', (data) => b.signal(data))
  b.on('signal', (data) => a.signal(data))
  try {
    await Promise.all([waitOpen(a), waitOpen(b)])
    const got: number[] = []
    b.on('frame', (frame) => got.push(new DataView(frame.buffer, frame.byteOffset).getUint32(0)))
    let accepted = 0
    let firstFalse = -1
    let maxQueued = 0
    let overflowCode: string | null = null
    for (let seq = 0; seq < 100_000; seq++) {
      const frame = new Uint8Array(16 * 1024)
      new DataView(frame.buffer).setUint32(0, seq)
      try {
        if (!a.send(frame) && firstFalse < 0) firstFalse = seq
        accepted++
      } catch (err) {
        overflowCode = (err as { code?: string }).code ?? 'no code'
        break
      }
      maxQueued = Math.max(maxQueued, a.queuedBytes)
    }
    const atOverflow = { queuedBytes: a.queuedBytes, bufferedAmount: a.bufferedAmount, state: a.state }
    const drainedAt = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no drain within 10 s')), 10_000)
      a.once('drain', () => (clearTimeout(timer), resolve(a.bufferedAmount)))
    })
    const queuedAfterDrain = a.queuedBytes
    const deadline = performance.now() + 10_000
    while (got.length < accepted && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    const inOrder = got.every((seq, i) => seq === i)
    return { accepted, firstFalse, maxQueued, overflowCode, atOverflow, drainedAt, queuedAfterDrain, received: got.length, inOrder }
  } finally {
    a.destroy()
    b.destroy()
  }
}

// ------------------------------------------------ one link per page, signaled by the test

declare function munroSignalOut(data: SignalData): Promise<void> // page.exposeFunction

let link: PeerLink | null = null

function createLink(initiator: boolean): void {
  link?.destroy()
  link = new PeerLink({ initiator, iceServers: ICE })
  link.on('signal', (data) => void munroSignalOut(data))
}

const api = {
  exchangeInPage,
  backpressureInPage,
  createLink,
  signal: (data: SignalData) => link!.signal(data),
  waitOpen: () => waitOpen(link!),
  sendAll: (seed: number, count: number) => sendAll(link!, seed, count),
  receiveAll: (seed: number, count: number) => receiveAll(link!, seed, count),
  state: () => link?.state ?? 'none',
  destroy: () => link?.destroy()
}
export type PeerLinkPageApi = typeof api

;(globalThis as Record<string, unknown>).munroTest = api
;(globalThis as Record<string, unknown>).__munroReady = true
