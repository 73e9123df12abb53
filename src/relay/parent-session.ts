// The link to our parent: says where we are (handshake), hands every data
// frame to the ingest pipeline in arrival order, and notices a parent that
// delivers no verified chunk for `stallMs` even though its connection never
// closed: a frozen tab, a stopped process, or a relay that withholds data
// while still answering keepalives. The source signs a heartbeat chunk when
// idle, so a quiet stream never looks like a stalled parent.
import { decodeFrame, encodeFrame, FrameType, type ChunkFrame, type MunroFrame, type ResumePoint } from '../wire/frames.js'
import type { PeerLink } from '../transport/peer-link.js'

export type ParentFailure =
  /** Silent past the stall time. */
  | { kind: 'stall' }
  /** Sent something that failed decoding or verification. */
  | { kind: 'invalid'; code: string }
  /** The connection closed, or did not open within the link's connect timeout. */
  | { kind: 'closed'; code: string | undefined }

export interface ParentSessionOptions {
  treeKey: Uint8Array
  stallMs: number
  /** Where we want the stream to continue. Read when the channel opens. */
  resumePoint: () => ResumePoint
  /** Each munro or chunk, with its encoded bytes, in arrival order. */
  onData: (frame: MunroFrame | ChunkFrame, bytes: Uint8Array) => void
  onFailure: (session: ParentSession, failure: ParentFailure) => void
}

export class ParentSession {
  /** When the last verified chunk from this parent was stored (or the channel opened). */
  private lastProgress = Date.now()
  private stallTimer: ReturnType<typeof setInterval> | null = null
  private destroyed = false

  constructor(
    readonly peerId: string,
    readonly link: PeerLink,
    private readonly options: ParentSessionOptions
  ) {
    link.on('open', this.onOpen)
    link.on('frame', this.onFrame)
    link.on('close', this.onClose)
    // Silence counts once the channel is open; until then the link's connect timeout applies.
    this.stallTimer = setInterval(this.checkStall, Math.max(25, options.stallMs / 4))
  }

  get isOpen(): boolean {
    return !this.destroyed && this.link.state === 'open'
  }

  /** A chunk from this parent verified and was stored. */
  noteProgress(): void {
    this.lastProgress = Date.now()
  }

  /** Ends the session. Reports nothing: callers that want a failure reported call fail(). */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.stallTimer) clearInterval(this.stallTimer)
    this.stallTimer = null
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

  private readonly onOpen = (): void => {
    this.lastProgress = Date.now()
    this.link.send(encodeFrame({ type: FrameType.HANDSHAKE, treeKey: this.options.treeKey, resume: this.options.resumePoint() }))
  }

  private readonly onFrame = (bytes: Uint8Array): void => {
    const decoded = decodeFrame(bytes)
    if (!decoded.ok) return this.fail({ kind: 'invalid', code: decoded.code })
    const frame = decoded.frame
    if (frame.type === FrameType.MUNRO || frame.type === FrameType.CHUNK) this.options.onData(frame, bytes)
    // HANDSHAKE, HAVE and KEEPALIVE need no action: liveness is judged by verified data.
  }

  private readonly checkStall = (): void => {
    if (this.link.state === 'open' && Date.now() - this.lastProgress > this.options.stallMs) this.fail({ kind: 'stall' })
  }

  private readonly onClose = (err: { code?: string } | undefined): void => {
    this.fail({ kind: 'closed', code: err?.code })
  }
}
