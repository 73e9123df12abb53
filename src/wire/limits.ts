// Sizes and bounds of the data-channel wire format, version 2. Every bound a
// decoder enforces is here, so a reviewer can check them in one place.

/** The wire version this build speaks (first byte of every frame). */
export const WIRE_VERSION = 2

/**
 * Largest frame, header and proof included. 16 KiB is the message size every
 * WebRTC data channel implementation delivers without fragmentation issues.
 */
export const MAX_FRAME_BYTES = 16384

/** Largest munro span (chunks under one signature); a proof then has 10 hashes. */
export const MAX_SPAN = 1024

/** Bytes of one node hash (SHA-256). */
export const HASH_BYTES = 32
/** Bytes of an ed25519 public key (the tree key). */
export const PUBLIC_KEY_BYTES = 32
/** Bytes of an ed25519 signature. */
export const SIGNATURE_BYTES = 64

/** Frame header: u8 version, u8 type. */
export const HEADER_BYTES = 2
/** HANDSHAKE: header, tree key, u8 resume kind, u64 epoch, u64 resume index. */
export const HANDSHAKE_BYTES = HEADER_BYTES + PUBLIC_KEY_BYTES + 1 + 8 + 8
/** MUNRO: header, u64 epoch, u64 start, u32 count, u32 span, u64 timestamp, root, signature. */
export const MUNRO_BYTES = HEADER_BYTES + 8 + 8 + 4 + 4 + 8 + HASH_BYTES + SIGNATURE_BYTES
/** CHUNK before its proof: header, u64 index, u64 munro start, u32 span, u8 flags. */
export const CHUNK_PREFIX_BYTES = HEADER_BYTES + 8 + 8 + 4 + 1
/** CHUNK payload length prefix (u32). */
export const CHUNK_LENGTH_BYTES = 4
/** INIT before its payload: header, u64 epoch, u32 seq, u64 atIndex, u64 timestamp, signature, u32 payload length. */
export const INIT_PREFIX_BYTES = HEADER_BYTES + 8 + 4 + 8 + 8 + SIGNATURE_BYTES + 4
/** Largest init message: it travels in one INIT frame. */
export const MAX_INIT_BYTES = MAX_FRAME_BYTES - INIT_PREFIX_BYTES
/** KEEPALIVE: header, u64 timestamp. */
export const KEEPALIVE_BYTES = HEADER_BYTES + 8

/** True when `span` is a power of two in 1..MAX_SPAN. */
export function isWireSpan(span: number): boolean {
  return Number.isInteger(span) && span >= 1 && span <= MAX_SPAN && (span & (span - 1)) === 0
}

/** Bytes of a CHUNK frame around its payload, for a munro of `span` (a power of two). */
export function chunkOverheadBytes(span: number): number {
  return CHUNK_PREFIX_BYTES + (31 - Math.clz32(span)) * HASH_BYTES + CHUNK_LENGTH_BYTES
}

/** Largest payload a CHUNK frame of a munro of `span` can carry within MAX_FRAME_BYTES. */
export function maxChunkPayloadBytes(span: number): number {
  return MAX_FRAME_BYTES - chunkOverheadBytes(span)
}
