// munro: one-to-many live streaming over a k-ary tree of WebRTC peers, with
// every chunk signed by the source and Merkle-verified before it is used.
// Every type a public signature mentions is exported too (type-only exports cost
// nothing at run time), so the API reference (`npm run docs`) can show it.

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
export { SignalingClient, SignalingClientError, type SignalingClientOptions, type SignalingClientEvents, type SignalingSocket, type SourceKey, type LinkHintsProvider } from './signaling/signaling-client.js'
export { SignalingErrorCode, SIGNALING_PROTOCOL_VERSION, ReportReason, type Placement, type TreeEnded, type JoinResult, type Ack, type SignalingErrorBody, type ServerToClientEvents, type ClientToServerEvents } from './protocol/signaling.js'
export { StreamSigner, type StreamSignerOptions, type StreamSignerEvents, type SignedMunro, type SignedChunk, type SignedInit, type WriteResult } from './sign/munro-signer.js'
export type { MessageFlags } from './sign/chunker.js'
export { ChunkVerifier, type ChunkVerifierOptions, type VerifyResult, type Rejection, type SignedVerdict } from './verify/verifier.js'
export { MessageReassembler, type ReassembledMessage, type Gap, type VerifiedChunk, type ReassemblyEvent } from './verify/reassembler.js'
export { encodeFrame, decodeFrame, FrameType, ChunkFlag, type Frame, type HandshakeFrame, type MunroFrame, type ChunkFrame, type InitFrame, type KeepaliveFrame, type DecodeResult, type ResumePoint } from './wire/frames.js'
export { PeerLink, type PeerLinkOptions, type PeerLinkEvents, type PeerLinkState, type SignalData, type WebRtcImplementation } from './transport/peer-link.js'
export { PeerLinkError, PeerLinkErrorCode, type LinkErrorCode, type SimplePeerErrorCode } from './transport/errors.js'
