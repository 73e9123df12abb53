// What the relay needs from a connection to a neighbour, and nothing more.
// PeerLink (WebRTC) is the one implementation in the SDK; tests swap in a fake
// (test/helpers/fake-link.ts) so that stall, blame, retry and resume policies
// run deterministically under fake timers, as mediasoup-client's
// HandlerInterface lets its FakeHandler stand in for a browser.
import type { EventEmitter } from 'eventemitter3'
import { PeerLink, type PeerLinkEvents, type PeerLinkState, type SignalData, type WebRtcImplementation } from '../transport/peer-link.js'

export interface Link extends Pick<EventEmitter<PeerLinkEvents>, 'on' | 'once' | 'off'> {
  readonly state: PeerLinkState
  /** Bytes handed to the channel but not yet sent, plus bytes queued before it: what a close may lose. */
  readonly bufferedAmount: number
  readonly queuedBytes: number
  readonly bytesSent: number
  readonly bytesReceived: number
  signal(data: SignalData | Record<string, unknown>): void
  /** False when the channel pushes back (wait for `drain`); throws when destroyed or the queue is full. */
  send(frame: Uint8Array): boolean
  destroy(): void
}

/** Makes the link to `remoteId`; the child side is the initiator (it makes the offer). */
export type LinkFactory = (initiator: boolean, remoteId: string) => Link

export function webRtcLinks(options: { wrtc?: WebRtcImplementation; iceServers?: RTCIceServer[]; connectTimeoutMs: number }): LinkFactory {
  return (initiator) => new PeerLink({ initiator, wrtc: options.wrtc, iceServers: options.iceServers, connectTimeoutMs: options.connectTimeoutMs })
}
