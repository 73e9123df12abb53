// The link to our parent across failures: connects to whoever the placement
// names, asks ParentHealth whether a failed session is the parent's fault
// (and reports it to the server if so), and retries the same parent with
// backoff until the placement names another.
import { EventEmitter } from 'eventemitter3'
import type { ReportReason } from '../protocol/signaling.js'
import type { ChunkFrame, InitFrame, MunroFrame, ResumePoint } from '../wire/frames.js'
import type { Link } from './link.js'
import { ParentHealth } from './parent-health.js'
import { ParentSession, type ParentFailure } from './parent-session.js'

export interface ParentLinkOptions {
  treeKey: Uint8Array
  stallMs: number
  createLink: (parentId: string) => Link
  resumePoint: () => ResumePoint
  holdHandshake?: () => boolean
  position: () => number
  onData: (frame: MunroFrame | ChunkFrame | InitFrame, bytes: Uint8Array, from: ParentSession) => void
  report: (parentId: string, reason: ReportReason) => void
  /** A session ended: its link's byte counts, for the peer's totals. */
  onClosed: (bytesIn: number, bytesOut: number) => void
}

export interface ParentLinkEvents {
  /** The channel opened and the handshake went out. */
  connected: (parentId: string) => void
  failed: (parentId: string, failure: ParentFailure) => void
}

export class ParentLink extends EventEmitter<ParentLinkEvents> {
  private session: ParentSession | null = null
  private parentId: string | null = null
  private readonly health = new ParentHealth()
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private destroyed = false
  /** Failed sessions, for stats. */
  reconnects = 0

  constructor(private readonly options: ParentLinkOptions) {
    super()
  }

  get current(): ParentSession | null {
    return this.session
  }

  get isOpen(): boolean {
    return this.session?.isOpen ?? false
  }

  /** The placement names `parentId` (null: none): connect to it if it is a new one. */
  follow(parentId: string | null): void {
    if (this.destroyed || parentId === this.parentId) return
    this.parentId = parentId
    this.health.reset()
    this.connect()
  }

  /** A new session with the same parent, whose handshake asks for a new resume point; nobody is blamed. */
  restart(): void {
    if (!this.destroyed && this.parentId) this.connect()
  }

  signal(from: string, data: Record<string, unknown>): void {
    if (this.session?.peerId === from) this.session.link.signal(data)
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.clearRetry()
    this.retire()
    this.removeAllListeners()
  }

  private connect(): void {
    this.clearRetry()
    this.retire()
    const parentId = this.parentId
    if (!parentId || this.destroyed) return
    const link = this.options.createLink(parentId)
    const session = new ParentSession(parentId, link, {
      treeKey: this.options.treeKey,
      stallMs: this.options.stallMs,
      resumePoint: this.options.resumePoint,
      holdHandshake: this.options.holdHandshake,
      position: this.options.position,
      onData: (frame, bytes) => this.options.onData(frame, bytes, session),
      onFailure: this.onFailure
    })
    link.once('open', () => this.emit('connected', parentId))
    this.session = session
  }

  private retire(): void {
    if (!this.session) return
    this.options.onClosed(this.session.link.bytesReceived, this.session.link.bytesSent)
    this.session.destroy()
    this.session = null
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.retryTimer = null
  }

  private readonly onFailure = (session: ParentSession, failure: ParentFailure): void => {
    if (session !== this.session || this.destroyed) return
    this.retire()
    this.reconnects++
    const verdict = this.health.failed(failure, session.proved)
    this.emit('failed', session.peerId, failure)
    if (this.destroyed) return
    // The server answers a report by moving us; until its placement says where, retry this parent.
    if (verdict.report) this.options.report(session.peerId, verdict.report)
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.session && this.parentId === session.peerId) this.connect()
    }, verdict.retryInMs)
  }
}
