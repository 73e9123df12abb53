// The transport layer: one PeerLink per WebRTC connection between two peers.
export {
  PeerLink,
  PEER_LINK_DEFAULTS,
  MAX_HIGH_WATER_MARK,
  type PeerLinkOptions,
  type PeerLinkEvents,
  type PeerLinkState,
  type SignalData,
  type WebRtcImplementation
} from './peer-link.js'
export {
  PeerLinkError,
  PeerLinkErrorCode,
  type LinkErrorCode,
  type SimplePeerErrorCode
} from './errors.js'
export { FrameQueue } from './frame-queue.js'
