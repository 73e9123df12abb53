// Stable error codes of the transport layer. Callers branch on `err.code`,
// never on message text.
//
// Two kinds of failure, as in simple-peer:
// - misuse by the caller throws synchronously (bad options, bad frame, use
//   after destroy) — and so does a full send queue, which is a decision the
//   caller must make (see PeerLink#send);
// - asynchronous failures (timeout, ICE, a misbehaving remote) end the link:
//   `error` then `close` are emitted and the link is dead.

export const PeerLinkErrorCode = {
  /** Thrown: an option was missing, of the wrong type or out of range. */
  INVALID_OPTION: 'ERR_INVALID_OPTION',
  /** Thrown: send() was given something other than a non-empty Uint8Array. */
  INVALID_FRAME: 'ERR_INVALID_FRAME',
  /** Thrown: send() was given a frame longer than `maxFrameBytes`. */
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  /** Thrown: signal() was given something other than an object. */
  INVALID_SIGNAL: 'ERR_INVALID_SIGNAL',
  /**
   * Thrown by send(): the bounded send queue would overflow. The frame was
   * NOT accepted (dropped); the link stays open and keeps what it had queued.
   */
  QUEUE_FULL: 'ERR_QUEUE_FULL',
  /** Thrown: send() after the link was destroyed. */
  DESTROYED: 'ERR_DESTROYED',
  /** Async: the data channel did not open within `connectTimeoutMs`. */
  CONNECT_TIMEOUT: 'ERR_CONNECT_TIMEOUT',
  /** Async: the remote sent a text message, an empty one, or one over `maxFrameBytes`. */
  BAD_REMOTE_FRAME: 'ERR_BAD_REMOTE_FRAME',
  /** Async: destroy(err) was called with an error that carried no string `code`. */
  ABORTED: 'ERR_ABORTED',
  /** Async: a WebRTC failure that simple-peer reported without a code. */
  WEBRTC: 'ERR_WEBRTC'
} as const
export type PeerLinkErrorCode = (typeof PeerLinkErrorCode)[keyof typeof PeerLinkErrorCode]

/**
 * Codes simple-peer 9 puts on its errors; a PeerLink passes them through
 * unchanged (listed so callers can branch on them with types).
 */
export type SimplePeerErrorCode =
  | 'ERR_WEBRTC_SUPPORT'
  | 'ERR_PC_CONSTRUCTOR'
  | 'ERR_PC_PEER_IDENTITY'
  | 'ERR_SIGNALING'
  | 'ERR_SET_REMOTE_DESCRIPTION'
  | 'ERR_SET_LOCAL_DESCRIPTION'
  | 'ERR_ADD_ICE_CANDIDATE'
  | 'ERR_CREATE_OFFER'
  | 'ERR_CREATE_ANSWER'
  | 'ERR_ICE_CONNECTION_FAILURE'
  | 'ERR_ICE_CONNECTION_CLOSED'
  | 'ERR_CONNECTION_FAILURE'
  | 'ERR_DATA_CHANNEL'

export type LinkErrorCode = PeerLinkErrorCode | SimplePeerErrorCode

export class PeerLinkError extends Error {
  override name = 'PeerLinkError'
  /** Stable code: one of PeerLinkErrorCode, or simple-peer's own code. */
  readonly code: LinkErrorCode | (string & {})

  constructor(code: LinkErrorCode | (string & {}), message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Wraps any thrown value as a PeerLinkError, keeping a string `code` it already has. */
export function toPeerLinkError(err: unknown, fallbackCode: LinkErrorCode): PeerLinkError {
  if (err instanceof PeerLinkError) return err
  const code = typeof (err as { code?: unknown } | null)?.code === 'string' ? (err as { code: string }).code : fallbackCode
  const message = err instanceof Error ? err.message : String(err)
  return new PeerLinkError(code, message, { cause: err })
}
