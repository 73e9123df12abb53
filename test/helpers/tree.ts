import { createHash, randomBytes } from 'node:crypto'
import { createSource, joinTree, type MunroSource, type MunroViewer, type SourceOptions, type ViewerOptions } from '../../src/index.js'
import { wrtc } from './wrtc.js'
import { waitFor } from './signaling.js'

/** Fast timings for tests on loopback; everything else is the SDK's default. */
export const FAST = { iceServers: [] as RTCIceServer[], wrtc, statsIntervalMs: 0, keepaliveMs: 200, stallMs: 1_000, connectTimeoutMs: 5_000 }

/** The SDK's defaults (k = 4, default stall and keepalive times), with only what a test on loopback needs. */
export const DEFAULTS = { iceServers: [] as RTCIceServer[], wrtc, statsIntervalMs: 0 }

export async function startSource(url: string, options: Partial<SourceOptions> = {}): Promise<MunroSource> {
  return createSource({ signal: url, ...FAST, ...options })
}

export async function startViewers(url: string, treeId: string, n: number, options: Partial<ViewerOptions> = {}): Promise<MunroViewer[]> {
  const viewers: MunroViewer[] = []
  // Joins in sequence so placement (BFS) order is the join order.
  for (let i = 0; i < n; i++) viewers.push(await joinTree(treeId, { signal: url, ...FAST, ...options }))
  return viewers
}

/** Collects every message a viewer delivers, as hex digests, in order. */
export function record(viewer: MunroViewer): string[] {
  const got: string[] = []
  viewer.on('message', (m) => got.push(digest(m.data)))
  return got
}

export function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Messages of mixed sizes: tiny, one chunk, and several chunks. */
export function makeMessages(n: number, seed = 1): Uint8Array[] {
  const sizes = [4, 100, 1_000, 16_000, 40_000, 120_000]
  return Array.from({ length: n }, (_, i) => {
    const data = randomBytes(sizes[(i * 7 + seed) % sizes.length]!)
    data.writeUInt32BE(i, 0)
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  })
}

export async function allConnected(viewers: MunroViewer[], timeoutMs = 20_000): Promise<void> {
  await waitFor(() => viewers.every((v) => (v.stats().parent !== null) && connectedToParent(v)), timeoutMs, 'every viewer connected to its parent')
}

function connectedToParent(v: MunroViewer): boolean {
  return (v as unknown as { peer: { parentConnected: boolean } }).peer.parentConnected
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Writes `messages` one every `gapMs`; returns their digests, in order. */
export async function writePaced(source: MunroSource, messages: Uint8Array[], gapMs: number): Promise<string[]> {
  for (const m of messages) {
    source.write(m)
    await sleep(gapMs)
  }
  return messages.map(digest)
}
