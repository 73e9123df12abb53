// Stable error codes and the one error class of the SDK. Callers branch on
// `code`, never on message text, so a code, once published, never changes
// meaning. Other layers add their codes here; keep this a plain module.

/** Every stable error code of the SDK, keyed by its name without the `ERR_` prefix. */
export const ErrorCode = {
  // ------------------------------------------------------------ caller misuse
  /** An argument or option is out of range or of the wrong type. */
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** The object was destroyed; it accepts no more calls and emits nothing. */
  DESTROYED: 'ERR_DESTROYED',
  /** The runtime lacks a primitive this call needs (e.g. WebCrypto Ed25519). */
  UNSUPPORTED_RUNTIME: 'ERR_UNSUPPORTED_RUNTIME',

  // ------------------------------------------------------------ encodings and keys
  /** A string is not canonical, unpadded base64url (or hex, where hex is asked for). */
  BAD_ENCODING: 'ERR_BAD_ENCODING',
  /** A key has the wrong length, is not a usable ed25519 point, or does not match its pair. */
  BAD_KEY: 'ERR_BAD_KEY',
  /** A tree id is not the base64url form of a usable ed25519 public key. */
  BAD_TREE_ID: 'ERR_BAD_TREE_ID',

  // ------------------------------------------------------------ wire decoding
  /** A frame is malformed: short, trailing bytes, a field out of range, reserved bits set. */
  BAD_FRAME: 'ERR_BAD_FRAME',
  /** A frame is longer than MAX_FRAME_BYTES. */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** A frame carries a wire version this build does not speak. */
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  /** A frame carries a type byte this wire version does not define. */
  UNKNOWN_FRAME_TYPE: 'ERR_UNKNOWN_FRAME_TYPE',

  // ------------------------------------------------------------ verification
  /** A munro's signature does not verify under the tree's public key. */
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  /** A handshake names another tree than the one this peer serves. */
  WRONG_TREE: 'ERR_WRONG_TREE',
  /** A munro's timestamp lags too far behind the stream, or it lies below the eviction floor. */
  STALE_MUNRO: 'ERR_STALE_MUNRO',
  /** A genuine frame of an older source session than the one this peer follows (the source restarted). */
  STALE_EPOCH: 'ERR_STALE_EPOCH',
  /** A chunk's proof does not lead to the signed root at the chunk's claimed position. */
  BAD_PROOF: 'ERR_BAD_PROOF',
  /** A chunk arrived without its munro before it. */
  UNKNOWN_MUNRO: 'ERR_UNKNOWN_MUNRO',
  /** A validly signed munro overlaps another validly signed munro that was accepted first. */
  MUNRO_CONFLICT: 'ERR_MUNRO_CONFLICT',
  /** A chunk belongs to a munro that was already evicted. */
  STALE_CHUNK: 'ERR_STALE_CHUNK',
  /** Too many munro signatures are being checked at once. */
  PENDING_FULL: 'ERR_PENDING_FULL',
  /** A parent sent faster than this peer verifies: its receive queue is full. */
  QUEUE_FULL: 'ERR_QUEUE_FULL',

  // ------------------------------------------------------------ messages
  /** A message is larger than the configured maximum. */
  MESSAGE_TOO_LARGE: 'ERR_MESSAGE_TOO_LARGE',
  /** The reassembler holds as many bytes (or is as far ahead) as it is allowed to. */
  BUFFER_FULL: 'ERR_BUFFER_FULL',
  /** Chunk flags do not form a message (a start inside a message); the partial message was dropped. */
  BAD_MESSAGE: 'ERR_BAD_MESSAGE',

  // ------------------------------------------------------------ media (src/media)
  /** A recording is not a WebM or fragmented MP4 stream the splitter can cut (or it stopped mid-element). */
  BAD_CONTAINER: 'ERR_BAD_CONTAINER',
  /** Neither MediaRecorder nor MediaSource handles this stream's type here. */
  UNSUPPORTED_CODEC: 'ERR_UNSUPPORTED_CODEC',
  /** The browser's decoder rejected the media (the video element or SourceBuffer failed). */
  DECODE: 'ERR_DECODE',
  /** The SourceBuffer is full even after trimming the back buffer. */
  MEDIA_QUOTA: 'ERR_MEDIA_QUOTA',
  /** The video stopped advancing although data keeps arriving, or no data arrives. */
  MEDIA_STALL: 'ERR_MEDIA_STALL'
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** The error every SDK function throws; `code` is one of {@link ErrorCode}. */
export class MunroError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MunroError'
    this.code = code
  }
}

/** True when `err` is a MunroError, optionally with the given code. */
export function isMunroError(err: unknown, code?: ErrorCode): err is MunroError {
  return err instanceof MunroError && (code === undefined || err.code === code)
}
