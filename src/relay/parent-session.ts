// The link to our parent: says where we are (handshake), hands every data
// frame to the verification pipeline in arrival order, and notices a parent
// that brings no progress for too long although its connection never closed:
// a frozen tab, a stopped process, or a relay that withholds data.
//
// Progress is what costs the sender something: the verified stream position
// (read through `position()`, the buffer's verified end) moving. A duplicate
// or old chunk, a keepalive or a reopened channel proves nothing. The source
// signs a heartbeat chunk when idle, so a quiet stream still moves.
//
// Two clocks, so that a failure far up the tree is blamed where it happened:
// - a parent that is silent too (no frame at all) stalls after `stallMs`;
// - a parent that still talks (keepalives, repeats) but brings nothing new
//   gets TALKING_GRACE × stallMs: it may be recovering from its own stalled
//   parent, which it detects after `stallMs`, reports and replaces. Its
//   children must not report it meanwhile. A withholding relay is still
//   caught, only later.
// And a tick that comes far too late means our own process was frozen (a
// background tab, SIGSTOP): the silence was ours, so the clocks restart.
import { decodeFrame, encodeFrame, FrameType, type ChunkFrame, type InitFrame, type MunroFrame, type ResumePoint } from '../wire/frames.js'
import type { Link } from './link.js'

export type ParentFailure =
  /** No progress past the stall time. */
  | { kind: 'stall' }
  /** Sent something that failed verification, or (with `undecodable`: the decoder's reason) a frame that does not decode. */
  | { kind: 'invalid'; code: string; undecodable?: string }
  /** The connection closed, or did not open within the link's connect timeout. */
  | { kind: 'closed'; code: string | undefined }

/** How many stall times a parent that keeps talking has to bring progress. */
export const TALKING_GRACE = 3
/** How long the handshake may wait for `holdHandshake` to clear, and how often it is asked. */
export const HANDSHAKE_HOLD_MS = 1_000
const HANDSHAKE_HOLD_STEP_MS = 25

export interface ParentSessionOptions {
  treeKey: Uint8Array
  stallMs: number
  /** Where we want the stream to continue. Read when the handshake goes out. */
  resumePoint: () => ResumePoint
  /**
   * True while the handshake should wait (at most HANDSHAKE_HOLD_MS after the
   * channel opened) because resumePoint() may still learn a better answer.
   */
  holdHandshake?: () => boolean
  /** The verified stream position; progress is this value changing. */
  position: () => number
  /** Each munro or chunk, with its encoded bytes, in arrival order. */
  onData: (frame: MunroFrame | ChunkFrame | InitFrame, bytes: Uint8Array) => void
  onFailure: (session: ParentSession, failure: ParentFailure) => void
}

export class ParentSession {
  private lastProgress = Date.now()
  private lastHeard = Date.now()
  private lastPosition: number
  private readonly tickMs: number
  private lastTick = Date.now()
  private stallTimer: ReturnType<typeof setInterval> | null = null
  private holdTimer: ReturnType<typeof setTimeout> | null = null
  private destroyed = false
  private madeProgress = false
  private openedAt = Infinity

  constructor(
    readonly peerId: string,
    readonly link: Link,
    private readonly options: ParentSessionOptions
  ) {
    this.lastPosition = options.position()
    link.on('open', this.onOpen)
    link.on('frame', this.onFrame)
    link.on('close', this.onClose)
    // Silence counts once the channel is open; until then the link's connect timeout applies.
    this.tickMs = Math.max(25, options.stallMs / 4)
    this.stallTimer = setInterval(this.tick, this.tickMs)
  }

  get isOpen(): boolean {
    return !this.destroyed && this.link.state === 'open'
  }

  /**
   * The session proved the parent works: it stayed open for a stall time and
   * the stream position moved meanwhile. One that closes sooner is a flap,
   * whatever it delivered (see ParentHealth).
   */
  get proved(): boolean {
    return this.madeProgress && Date.now() - this.openedAt >= this.options.stallMs
  }

  /** Ends the session. Reports nothing: callers that want a failure reported call fail(). */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.stallTimer) clearInterval(this.stallTimer)
    this.stallTimer = null
    if (this.holdTimer) clearTimeout(this.holdTimer)
    this.holdTimer = null
    this.link.off('open', this.onOpen)
    this.link.off('frame', this.onFrame)
    this.link.off('close', this.onClose)
    this.link.destroy()
  }

  /** Ends the session and reports why, once. */
  fail(failure: ParentFailure): void {
    if (this.destroyed) return
    this.destroy()
    this.options.onFailure(this, failure)
  }

  private readPosition(now: number): void {
    const position = this.options.position()
    if (position === this.lastPosition) return
    this.lastPosition = position
    this.lastProgress = now
    this.madeProgress = true
  }

  private readonly onOpen = (): void => {
    this.openedAt = this.lastProgress = this.lastHeard = Date.now()
    this.sendHandshake()
  }

  private readonly sendHandshake = (): void => {
    this.holdTimer = null
    if (this.destroyed || this.link.state !== 'open') return
    if (Date.now() - this.openedAt < HANDSHAKE_HOLD_MS && this.options.holdHandshake?.()) {
      this.holdTimer = setTimeout(this.sendHandshake, HANDSHAKE_HOLD_STEP_MS)
      return
    }
    this.link.send(encodeFrame({ type: FrameType.HANDSHAKE, treeKey: this.options.treeKey, resume: this.options.resumePoint() }))
  }

  private readonly onFrame = (bytes: Uint8Array): void => {
    this.lastHeard = Date.now()
    const decoded = decodeFrame(bytes)
    if (!decoded.ok) return this.fail({ kind: 'invalid', code: decoded.code, undecodable: decoded.message })
    const frame = decoded.frame
    if (frame.type === FrameType.MUNRO || frame.type === FrameType.CHUNK || frame.type === FrameType.INIT) this.options.onData(frame, bytes)
    // HANDSHAKE, HAVE and KEEPALIVE need no action: they only show the parent is there.
  }

  private readonly tick = (): void => {
    const now = Date.now()
    const late = now - this.lastTick - this.tickMs
    this.lastTick = now
    if (late > this.options.stallMs / 2) {
      // We were frozen, not the parent: give it a fresh stall time from now.
      this.lastProgress = this.lastHeard = now
      return
    }
    this.readPosition(now)
    if (this.link.state !== 'open') return
    const { stallMs } = this.options
    const silent = now - this.lastHeard > stallMs
    if (now - this.lastProgress > (silent ? stallMs : TALKING_GRACE * stallMs)) this.fail({ kind: 'stall' })
  }

  private readonly onClose = (err: { code?: string } | undefined): void => {
    this.fail({ kind: 'closed', code: err?.code })
  }
}
