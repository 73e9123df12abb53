// munro: one-to-many live streaming over a k-ary tree of WebRTC peers, with
// every chunk signed by the source and Merkle-verified before it is used.

// ------------------------------------------------------------ facades
export { createSource, MunroSource, type SourceOptions, type SourceEvents, type WriteFlags } from './source.js'
export { joinTree, MunroViewer, type ViewerOptions, type ViewerEvents, type MunroMessage, type RejectedChunk } from './viewer.js'
export type { PeerOptions, PeerStats } from './peer-options.js'

// ------------------------------------------------------------ live video
export * from './media/index.js'

// ------------------------------------------------------------ keys and errors
export { generateKeyPair, exportKeyPair, importKeyPair, treeIdFromPublicKey, publicKeyFromTreeId, type KeyPair, type ExportedKeyPair } from './crypto/keys.js'
export { ErrorCode, MunroError, isMunroError } from './errors.js'

// ------------------------------------------------------------ lower layers, for custom transports and tools
export { SignalingClient, SignalingClientError, type SignalingClientOptions, type SignalingSocket } from './signaling/signaling-client.js'
export { SignalingErrorCode, SIGNALING_PROTOCOL_VERSION, type Placement, type TreeEnded } from './protocol/signaling.js'
export { StreamSigner, type StreamSignerOptions, type SignedMunro, type SignedInit } from './sign/munro-signer.js'
export { ChunkVerifier, type ChunkVerifierOptions, type VerifyResult } from './verify/verifier.js'
export { MessageReassembler, type ReassembledMessage, type Gap } from './verify/reassembler.js'
export { encodeFrame, decodeFrame, FrameType, ChunkFlag, type Frame } from './wire/frames.js'
export { PeerLink, type PeerLinkOptions, type WebRtcImplementation } from './transport/peer-link.js'
