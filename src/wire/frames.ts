// The data-channel wire format: one frame per data-channel message.
//
//   frame = u8 version || u8 type || body        (all integers big-endian)
//
//   type          body                                                    size
//   1 HANDSHAKE   treeKey[32] u8 resumeKind(0 index, 1 latest)            51
//                 u64 epoch u64 index      (both 0 for latest)
//   2 MUNRO       u64 epoch u64 start u32 count u32 span u64 timestampMs   130
//                 root[32] signature[64]
//   3 CHUNK       u64 index u64 munroStart u32 span u8 flags              27 + 32*log2(span)
//                 proof[32*log2(span)] u32 payloadLength payload           + payload
//   4 INIT        u64 epoch u32 seq u64 atIndex u64 timestampMs           98 + payload
//                 signature[64] u32 payloadLength payload
//   5 KEEPALIVE   u64 timestampMs                                         10
//
// u64 fields carry at most 2^53 - 1. Spans are powers of two up to 1024; a
// munro's count is 1..span; a chunk's index lies in [munroStart, munroStart +
// span). A frame is at most MAX_FRAME_BYTES (16384) bytes. What MUNRO and
// INIT signatures cover is in signed-layouts.ts. Version 2 added the epoch
// (the source session) and INIT (init messages outside the chunk index order),
// and retired version 1's unused HAVE and REQUEST.
//
// Decoding reads untrusted bytes on every relay hop, so it never throws, never
// allocates more than the frame object (hashes, signature, proof and payload
// are subarrays of the input: keep the input alive and unmodified while the
// frame is in use), checks every field against its bound, and rejects
// trailing bytes, so each frame has exactly one encoding.
import { ErrorCode, MunroError } from '../errors.js'
import { MAX_SAFE_U64, isU64, readU64, viewOf, writeU64 } from '../crypto/bytes.js'
import {
  CHUNK_LENGTH_BYTES,
  CHUNK_PREFIX_BYTES,
  HANDSHAKE_BYTES,
  HASH_BYTES,
  HEADER_BYTES,
  INIT_PREFIX_BYTES,
  KEEPALIVE_BYTES,
  MAX_FRAME_BYTES,
  MUNRO_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  WIRE_VERSION,
  isWireSpan
} from './limits.js'

// ------------------------------------------------------------ types

/** Frame type byte. */
export const FrameType = {
  HANDSHAKE: 1,
  MUNRO: 2,
  CHUNK: 3,
  INIT: 4,
  KEEPALIVE: 5
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]

/** CHUNK flag bits; the high four bits are reserved and must be zero. */
export const ChunkFlag = {
  /** First chunk of a message. */
  MESSAGE_START: 0x01,
  /** Last chunk of a message (a one-chunk message has both). */
  MESSAGE_END: 0x02,
  /** The message is a point a late joiner can start from (e.g. a keyframe). Set on all its chunks. */
  START_POINT: 0x04
} as const
/** Mask of the defined flag bits (init messages travel in INIT frames, not chunks). */
export const CHUNK_FLAGS_MASK = 0x07

/** Where a receiver wants the stream to begin. */
export type ResumePoint =
  /**
   * The next chunk index the receiver wants (it has everything before) in the
   * source session `epoch`; a sender on another session starts it afresh.
   */
  | { kind: 'index'; index: number; epoch: number }
  /** A late joiner: the sender picks its latest start point. */
  | { kind: 'latest' }

const RESUME_INDEX = 0
const RESUME_LATEST = 1

/** First frame on a new data channel, in both directions. */
export interface HandshakeFrame {
  type: typeof FrameType.HANDSHAKE
  /** The tree's 32-byte ed25519 public key. */
  treeKey: Uint8Array
  resume: ResumePoint
}

/** A signed munro: the source's signature over a range of chunks. */
export interface MunroFrame {
  type: typeof FrameType.MUNRO
  /** The source session the munro belongs to (chosen by the source at start). */
  epoch: number
  /** Global index of the munro's first chunk. */
  start: number
  /** Number of chunks, 1..span. */
  count: number
  /** Leaf positions of the tree, a power of two in 1..MAX_SPAN. */
  span: number
  /** Source clock, ms since the Unix epoch, when the munro was signed. */
  timestamp: number
  /** 32-byte Merkle root. */
  root: Uint8Array
  /** 64-byte ed25519 signature over the munro's signable bytes. */
  signature: Uint8Array
}

/** One chunk with the proof that ties it to its munro's root. */
export interface ChunkFrame {
  type: typeof FrameType.CHUNK
  /** Global chunk index. */
  index: number
  /** Start index of the munro the chunk belongs to. */
  munroStart: number
  /** Span of that munro. */
  span: number
  /** ChunkFlag bits. */
  flags: number
  /** Uncle hashes, bottom-up, log2(span) * 32 bytes. */
  proof: Uint8Array
  payload: Uint8Array
}

/**
 * A signed init message (codec setup a decoder needs first). It has no chunk
 * index of its own: it applies to the chunks from `atIndex` on, until a newer
 * one (higher `seq`) replaces it, so re-sending it never disturbs the window.
 */
export interface InitFrame {
  type: typeof FrameType.INIT
  epoch: number
  /** Increases with every init message of a session (u32). */
  seq: number
  /** The index of the first chunk written after the init message. */
  atIndex: number
  /** Source clock, ms since the Unix epoch, when it was signed. */
  timestamp: number
  /** 64-byte ed25519 signature over its signable bytes. */
  signature: Uint8Array
  payload: Uint8Array
}

/** Liveness and clock hint. */
export interface KeepaliveFrame {
  type: typeof FrameType.KEEPALIVE
  /** Sender clock, ms since the Unix epoch. */
  timestamp: number
}

export type Frame = HandshakeFrame | MunroFrame | ChunkFrame | InitFrame | KeepaliveFrame

/** Outcome of decoding untrusted bytes. */
export type DecodeResult =
  | { ok: true; frame: Frame }
  | { ok: false; code: ErrorCode; message: string }

// ------------------------------------------------------------ decoding

function fail(code: ErrorCode, message: string): DecodeResult {
  return { ok: false, code, message }
}

function exact(bytes: Uint8Array, size: number, what: string): DecodeResult | null {
  if (bytes.length < size) return fail(ErrorCode.BAD_FRAME, `${what}: truncated`)
  if (bytes.length > size) return fail(ErrorCode.BAD_FRAME, `${what}: trailing bytes`)
  return null
}

/**
 * Decodes one frame from untrusted bytes. Never throws. The result's byte
 * fields are views into `input` (no copies).
 */
export function decodeFrame(input: Uint8Array | ArrayBuffer): DecodeResult {
  let bytes: Uint8Array
  if (input instanceof Uint8Array) bytes = input
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input)
  else return fail(ErrorCode.BAD_FRAME, 'frame: expected a Uint8Array or ArrayBuffer')
  if (bytes.length > MAX_FRAME_BYTES) return fail(ErrorCode.FRAME_TOO_LARGE, `frame: over ${MAX_FRAME_BYTES} bytes`)
  if (bytes.length < HEADER_BYTES) return fail(ErrorCode.BAD_FRAME, 'frame: shorter than its header')
  if (bytes[0] !== WIRE_VERSION) return fail(ErrorCode.UNSUPPORTED_VERSION, `frame: wire version ${bytes[0]} is not ${WIRE_VERSION}`)
  const view = viewOf(bytes)
  switch (bytes[1]) {
    case FrameType.CHUNK:
      return decodeChunk(bytes, view)
    case FrameType.MUNRO:
      return decodeMunro(bytes, view)
    case FrameType.INIT:
      return decodeInit(bytes, view)
    case FrameType.KEEPALIVE:
      return decodeKeepalive(bytes, view)
    case FrameType.HANDSHAKE:
      return decodeHandshake(bytes, view)
    default:
      return fail(ErrorCode.UNKNOWN_FRAME_TYPE, `frame: unknown type ${bytes[1]}`)
  }
}

/** The u32 length before `payloadStart` must match the bytes after it exactly. */
function checkPayload(bytes: Uint8Array, view: DataView, payloadStart: number, what: string): DecodeResult | null {
  const length = view.getUint32(payloadStart - CHUNK_LENGTH_BYTES)
  if (bytes.length - payloadStart === length) return null
  return fail(ErrorCode.BAD_FRAME, bytes.length - payloadStart < length ? `${what}: truncated payload` : `${what}: trailing bytes`)
}

function decodeChunk(bytes: Uint8Array, view: DataView): DecodeResult {
  if (bytes.length < CHUNK_PREFIX_BYTES) return fail(ErrorCode.BAD_FRAME, 'chunk: truncated')
  const index = readU64(view, 2)
  const munroStart = readU64(view, 10)
  const span = view.getUint32(18)
  const flags = bytes[22]!
  if (index < 0 || munroStart < 0) return fail(ErrorCode.BAD_FRAME, 'chunk: index over 2^53-1')
  if (!isWireSpan(span)) return fail(ErrorCode.BAD_FRAME, 'chunk: span is not a power of two in 1..1024')
  if (index < munroStart || index - munroStart >= span) return fail(ErrorCode.BAD_FRAME, 'chunk: index outside its munro span')
  if ((flags & ~CHUNK_FLAGS_MASK) !== 0) return fail(ErrorCode.BAD_FRAME, 'chunk: reserved flag bits set')
  const proofEnd = CHUNK_PREFIX_BYTES + (31 - Math.clz32(span)) * HASH_BYTES
  const payloadStart = proofEnd + CHUNK_LENGTH_BYTES
  if (bytes.length < payloadStart) return fail(ErrorCode.BAD_FRAME, 'chunk: truncated proof')
  const bad = checkPayload(bytes, view, payloadStart, 'chunk')
  if (bad) return bad
  const frame: ChunkFrame = {
    type: FrameType.CHUNK,
    index,
    munroStart,
    span,
    flags,
    proof: bytes.subarray(CHUNK_PREFIX_BYTES, proofEnd),
    payload: bytes.subarray(payloadStart)
  }
  return { ok: true, frame }
}

function decodeMunro(bytes: Uint8Array, view: DataView): DecodeResult {
  const bad = exact(bytes, MUNRO_BYTES, 'munro')
  if (bad) return bad
  const epoch = readU64(view, 2)
  const start = readU64(view, 10)
  const count = view.getUint32(18)
  const span = view.getUint32(22)
  const timestamp = readU64(view, 26)
  if (epoch < 0 || start < 0 || timestamp < 0) return fail(ErrorCode.BAD_FRAME, 'munro: field over 2^53-1')
  if (!isWireSpan(span)) return fail(ErrorCode.BAD_FRAME, 'munro: span is not a power of two in 1..1024')
  if (count < 1 || count > span) return fail(ErrorCode.BAD_FRAME, 'munro: count outside 1..span')
  if (start + count > MAX_SAFE_U64) return fail(ErrorCode.BAD_FRAME, 'munro: range ends past 2^53-1')
  const frame: MunroFrame = {
    type: FrameType.MUNRO,
    epoch,
    start,
    count,
    span,
    timestamp,
    root: bytes.subarray(34, 34 + HASH_BYTES),
    signature: bytes.subarray(34 + HASH_BYTES, 34 + HASH_BYTES + SIGNATURE_BYTES)
  }
  return { ok: true, frame }
}

function decodeInit(bytes: Uint8Array, view: DataView): DecodeResult {
  if (bytes.length < INIT_PREFIX_BYTES) return fail(ErrorCode.BAD_FRAME, 'init: truncated')
  const epoch = readU64(view, 2)
  const seq = view.getUint32(10)
  const atIndex = readU64(view, 14)
  const timestamp = readU64(view, 22)
  if (epoch < 0 || atIndex < 0 || timestamp < 0) return fail(ErrorCode.BAD_FRAME, 'init: field over 2^53-1')
  const bad = checkPayload(bytes, view, INIT_PREFIX_BYTES, 'init')
  if (bad) return bad
  const frame: InitFrame = {
    type: FrameType.INIT,
    epoch,
    seq,
    atIndex,
    timestamp,
    signature: bytes.subarray(30, 30 + SIGNATURE_BYTES),
    payload: bytes.subarray(INIT_PREFIX_BYTES)
  }
  return { ok: true, frame }
}

function decodeKeepalive(bytes: Uint8Array, view: DataView): DecodeResult {
  const bad = exact(bytes, KEEPALIVE_BYTES, 'keepalive')
  if (bad) return bad
  const timestamp = readU64(view, 2)
  if (timestamp < 0) return fail(ErrorCode.BAD_FRAME, 'keepalive: timestamp over 2^53-1')
  return { ok: true, frame: { type: FrameType.KEEPALIVE, timestamp } }
}

function decodeHandshake(bytes: Uint8Array, view: DataView): DecodeResult {
  const bad = exact(bytes, HANDSHAKE_BYTES, 'handshake')
  if (bad) return bad
  const kind = bytes[2 + PUBLIC_KEY_BYTES]
  const epoch = readU64(view, 3 + PUBLIC_KEY_BYTES)
  const index = readU64(view, 11 + PUBLIC_KEY_BYTES)
  let resume: ResumePoint
  if (kind === RESUME_INDEX) {
    if (index < 0 || epoch < 0) return fail(ErrorCode.BAD_FRAME, 'handshake: resume index or epoch over 2^53-1')
    resume = { kind: 'index', index, epoch }
  } else if (kind === RESUME_LATEST) {
    if (index !== 0 || epoch !== 0) return fail(ErrorCode.BAD_FRAME, 'handshake: latest resume point carries an index or epoch')
    resume = { kind: 'latest' }
  } else {
    return fail(ErrorCode.BAD_FRAME, `handshake: unknown resume kind ${kind}`)
  }
  return { ok: true, frame: { type: FrameType.HANDSHAKE, treeKey: bytes.subarray(2, 2 + PUBLIC_KEY_BYTES), resume } }
}

/** Reads version and type without validating the body (e.g. to answer an unsupported version). */
export function peekFrameHeader(bytes: Uint8Array): { version: number; type: number } | null {
  return bytes.length >= HEADER_BYTES ? { version: bytes[0]!, type: bytes[1]! } : null
}

// ------------------------------------------------------------ encoding

function invalid(message: string): never {
  throw new MunroError(ErrorCode.INVALID_ARGUMENT, message)
}

function checkU64(value: number, what: string): void {
  if (!isU64(value)) invalid(`${what} must be an integer in 0..2^53-1, got ${value}`)
}

function checkBytes(value: Uint8Array, length: number, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== length) invalid(`${what} must be ${length} bytes`)
}

function header(size: number, type: FrameType): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(size)
  bytes[0] = WIRE_VERSION
  bytes[1] = type
  return { bytes, view: new DataView(bytes.buffer) }
}

/**
 * Encodes a frame. Throws MunroError ERR_INVALID_ARGUMENT when a field is out
 * of the range the decoder accepts, ERR_FRAME_TOO_LARGE over MAX_FRAME_BYTES;
 * so every encoded frame decodes back to an equal frame.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case FrameType.CHUNK:
      return encodeChunk(frame)
    case FrameType.MUNRO:
      return encodeMunro(frame)
    case FrameType.INIT:
      return encodeInit(frame)
    case FrameType.KEEPALIVE: {
      checkU64(frame.timestamp, 'keepalive timestamp')
      const { bytes, view } = header(KEEPALIVE_BYTES, FrameType.KEEPALIVE)
      writeU64(view, 2, frame.timestamp)
      return bytes
    }
    case FrameType.HANDSHAKE:
      return encodeHandshake(frame)
    default:
      return invalid(`unknown frame type ${(frame as { type: unknown }).type}`)
  }
}

function encodeChunk(frame: ChunkFrame): Uint8Array {
  checkU64(frame.index, 'chunk index')
  checkU64(frame.munroStart, 'chunk munro start')
  if (!isWireSpan(frame.span)) invalid(`chunk span must be a power of two in 1..1024, got ${frame.span}`)
  if (frame.index < frame.munroStart || frame.index - frame.munroStart >= frame.span) invalid('chunk index outside its munro span')
  if (!Number.isInteger(frame.flags) || (frame.flags & ~CHUNK_FLAGS_MASK) !== 0 || frame.flags < 0) invalid('chunk flags: unknown bits')
  const proofLength = (31 - Math.clz32(frame.span)) * HASH_BYTES
  checkBytes(frame.proof, proofLength, 'chunk proof')
  if (!(frame.payload instanceof Uint8Array)) invalid('chunk payload must be a Uint8Array')
  const size = CHUNK_PREFIX_BYTES + proofLength + CHUNK_LENGTH_BYTES + frame.payload.length
  if (size > MAX_FRAME_BYTES) {
    throw new MunroError(ErrorCode.FRAME_TOO_LARGE, `chunk frame would be ${size} bytes, over ${MAX_FRAME_BYTES}`)
  }
  const { bytes, view } = header(size, FrameType.CHUNK)
  writeU64(view, 2, frame.index)
  writeU64(view, 10, frame.munroStart)
  view.setUint32(18, frame.span)
  bytes[22] = frame.flags
  bytes.set(frame.proof, CHUNK_PREFIX_BYTES)
  view.setUint32(CHUNK_PREFIX_BYTES + proofLength, frame.payload.length)
  bytes.set(frame.payload, CHUNK_PREFIX_BYTES + proofLength + CHUNK_LENGTH_BYTES)
  return bytes
}

function encodeMunro(frame: MunroFrame): Uint8Array {
  checkU64(frame.epoch, 'munro epoch')
  checkU64(frame.start, 'munro start')
  checkU64(frame.timestamp, 'munro timestamp')
  if (!isWireSpan(frame.span)) invalid(`munro span must be a power of two in 1..1024, got ${frame.span}`)
  if (!Number.isInteger(frame.count) || frame.count < 1 || frame.count > frame.span) invalid('munro count must be in 1..span')
  if (frame.start + frame.count > MAX_SAFE_U64) invalid('munro range ends past 2^53-1')
  checkBytes(frame.root, HASH_BYTES, 'munro root')
  checkBytes(frame.signature, SIGNATURE_BYTES, 'munro signature')
  const { bytes, view } = header(MUNRO_BYTES, FrameType.MUNRO)
  writeU64(view, 2, frame.epoch)
  writeU64(view, 10, frame.start)
  view.setUint32(18, frame.count)
  view.setUint32(22, frame.span)
  writeU64(view, 26, frame.timestamp)
  bytes.set(frame.root, 34)
  bytes.set(frame.signature, 34 + HASH_BYTES)
  return bytes
}

function encodeInit(frame: InitFrame): Uint8Array {
  checkU64(frame.epoch, 'init epoch')
  checkU64(frame.atIndex, 'init atIndex')
  checkU64(frame.timestamp, 'init timestamp')
  if (!Number.isInteger(frame.seq) || frame.seq < 0 || frame.seq > 0xffffffff) invalid('init seq must be an integer in 0..2^32-1')
  checkBytes(frame.signature, SIGNATURE_BYTES, 'init signature')
  if (!(frame.payload instanceof Uint8Array)) invalid('init payload must be a Uint8Array')
  const size = INIT_PREFIX_BYTES + frame.payload.length
  if (size > MAX_FRAME_BYTES) throw new MunroError(ErrorCode.FRAME_TOO_LARGE, `init frame would be ${size} bytes, over ${MAX_FRAME_BYTES}`)
  const { bytes, view } = header(size, FrameType.INIT)
  writeU64(view, 2, frame.epoch)
  view.setUint32(10, frame.seq)
  writeU64(view, 14, frame.atIndex)
  writeU64(view, 22, frame.timestamp)
  bytes.set(frame.signature, 30)
  view.setUint32(INIT_PREFIX_BYTES - 4, frame.payload.length)
  bytes.set(frame.payload, INIT_PREFIX_BYTES)
  return bytes
}

function encodeHandshake(frame: HandshakeFrame): Uint8Array {
  checkBytes(frame.treeKey, PUBLIC_KEY_BYTES, 'handshake tree key')
  const { bytes, view } = header(HANDSHAKE_BYTES, FrameType.HANDSHAKE)
  bytes.set(frame.treeKey, 2)
  const resume = frame.resume
  if (resume?.kind === 'index') {
    checkU64(resume.index, 'handshake resume index')
    checkU64(resume.epoch, 'handshake resume epoch')
    bytes[2 + PUBLIC_KEY_BYTES] = RESUME_INDEX
    writeU64(view, 3 + PUBLIC_KEY_BYTES, resume.epoch)
    writeU64(view, 11 + PUBLIC_KEY_BYTES, resume.index)
  } else if (resume?.kind === 'latest') {
    bytes[2 + PUBLIC_KEY_BYTES] = RESUME_LATEST
  } else {
    invalid('handshake resume must be { kind: "index", index, epoch } or { kind: "latest" }')
  }
  return bytes
}
