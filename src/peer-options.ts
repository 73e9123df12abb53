// Options every munro peer (source or viewer) shares, and their defaults.
import type { SignalingSocket } from './signaling/signaling-client.js'
import type { WebRtcImplementation } from './transport/peer-link.js'

export interface PeerOptions {
  /** Signaling server URL (e.g. "https://signal.example"), or an already connected socket.io-client socket. */
  signal: string | SignalingSocket
  /** A WebRTC implementation where the runtime has none (Node: `@roamhq/wrtc`). */
  wrtc?: WebRtcImplementation
  /** STUN/TURN servers, passed to RTCPeerConnection. Default: simple-peer's public STUN servers. */
  iceServers?: RTCIceServer[]
  /** How much of the stream every peer keeps for repair, in ms. Default 15 000. */
  windowMs?: number
  /** Upper bound of that buffer in bytes. Default 64 MiB. */
  maxBufferBytes?: number
  /** A parent sends a keepalive after this much silence. Default 500 ms. */
  keepaliveMs?: number
  /** A parent silent this long is reported and replaced. Default 2 000 ms. */
  stallMs?: number
  /** A WebRTC link must open within this. Default 10 000 ms. */
  connectTimeoutMs?: number
  /** Largest application message. Default 4 MiB. */
  maxMessageBytes?: number
  /** Emit a `stats` event this often; 0 turns it off. Default 1 000 ms. */
  statsIntervalMs?: number
}

export type ResolvedPeerOptions = Required<Omit<PeerOptions, 'wrtc' | 'iceServers' | 'signal'>> & Pick<PeerOptions, 'wrtc' | 'iceServers'>

export function resolvePeerOptions(options: PeerOptions): ResolvedPeerOptions {
  return {
    wrtc: options.wrtc,
    iceServers: options.iceServers,
    windowMs: options.windowMs ?? 15_000,
    maxBufferBytes: options.maxBufferBytes ?? 64 * 1024 * 1024,
    keepaliveMs: options.keepaliveMs ?? 500,
    stallMs: options.stallMs ?? 2_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    maxMessageBytes: options.maxMessageBytes ?? 4 * 1024 * 1024,
    statsIntervalMs: options.statsIntervalMs ?? 1_000
  }
}

/** The part of the resolved options a TreePeer takes. */
export function treePeerSettings(o: ResolvedPeerOptions) {
  const { wrtc, iceServers, windowMs, maxBufferBytes, keepaliveMs, stallMs, connectTimeoutMs } = o
  return { wrtc, iceServers, windowMs, maxBufferBytes, keepaliveMs, stallMs, connectTimeoutMs }
}

/** Where a peer stands, on request (`stats()`) and as the periodic `stats` event. */
export interface PeerStats {
  role: 'source' | 'viewer'
  treeId: string
  peerId: string | null
  depth: number | null
  parent: string | null
  children: string[]
  bytesIn: number
  bytesOut: number
  chunksVerified: number
  chunksRejected: number
  /** Messages delivered to the application (viewers) or written (source). */
  messages: number
  buffer: { chunks: number; bytes: number; ms: number; firstIndex: number; endIndex: number }
  /** Mean delay from the source's signature timestamp to verification here, over the last interval; null if none. */
  latencyMs: number | null
  /** Times the link to the parent was lost and replaced. */
  reconnects: number
  /** Times a child fell out of the buffer window and skipped ahead. */
  laggedChildren: number
}
