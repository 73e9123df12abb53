// Serving one child: after its handshake, a cursor walks the shared
// StreamBuffer and writes frames until the data channel pushes back, then
// waits for `drain`. The buffer is the send queue, so a slow child costs a
// number, and one that falls out of the window is moved to the latest start
// point instead of growing memory. Before the first chunk it needs an init
// message for, the child gets that init message (init-cache.ts); when the
// buffer moves to a new source session, the cursor restarts in it.
import { decodeFrame, encodeFrame, FrameType, type Frame, type ResumePoint } from '../wire/frames.js'
import { equalBytes } from '../crypto/bytes.js'
import type { Link } from './link.js'
import type { CachedInit } from './init-cache.js'
import type { StreamBuffer } from './stream-buffer.js'

export interface ChildSessionOptions {
  treeKey: Uint8Array
  /** Send a keepalive when nothing else went out for this long. */
  keepaliveMs: number
  /** Called once when the session ends (link closed, bad handshake, destroy). */
  onClose: (session: ChildSession) => void
  /** A child fell out of the buffer window and skipped ahead. */
  onLagged?: (session: ChildSession, skippedChunks: number) => void
  /**
   * The lowest index this child may resume from when it asks for `requested`
   * (see ChildAdmission): a reconnecting child cannot make us send the window
   * again and again.
   */
  resumeFloor?: (requested: number) => number | undefined
  /**
   * When the placement first named this child (ms). A newcomer gets every
   * message that began since then: its channel may open later than data
   * that was written after it joined.
   */
  listedAt?: number
  /**
   * The child asked for chunks from `index`, before the oldest we hold: true
   * when we ask our own parent for them (StreamBuffer.requestBackfill); the
   * cursor then waits instead of skipping ahead.
   */
  backfill?: (index: number) => boolean
}

export class ChildSession {
  /** Next chunk index to send; undefined until the child's handshake. */
  private cursor: number | undefined
  /** A newcomer arrived before we had any data: start at whatever arrives first. */
  private waitingForData = false
  private lastMunroSent = -1
  private blocked = false
  private lastSentAt = 0
  /** Bytes we handed the link that the child may not have received yet, as last seen. */
  private unconfirmed = 0
  /** The init message this child has had from us. */
  private initSent: CachedInit | undefined
  /** The source session the cursor's index belongs to. */
  private epoch = -1
  /** When the channel opened: a newcomer gets every message from then on, at least (or from `listedAt`). */
  private openedAt = Infinity
  private keepaliveTimer: ReturnType<typeof setInterval> | null = null
  private destroyed = false

  constructor(
    readonly peerId: string,
    readonly link: Link,
    private readonly buffer: StreamBuffer,
    private readonly options: ChildSessionOptions
  ) {
    link.on('open', this.onOpen)
    link.on('frame', this.onFrame)
    link.on('drain', this.onDrain)
    link.on('close', this.onLinkClose)
  }

  /** Next chunk index to send; undefined until the child's handshake. */
  get nextIndex(): number | undefined {
    return this.cursor
  }

  /** The child's handshake came in. */
  get started(): boolean {
    return this.cursor !== undefined || this.waitingForData
  }

  /** Where the child asked to continue while we held nothing yet (its session known), else undefined. */
  get awaited(): { index: number; epoch: number } | undefined {
    return this.cursor !== undefined && this.epoch !== -1 && this.buffer.isEmpty ? { index: this.cursor, epoch: this.epoch } : undefined
  }

  /** What a close may have lost in flight: the link's send buffer and queue when we last looked. */
  get unconfirmedBytes(): number {
    return this.unconfirmed
  }

  /** New data is in the buffer: send what this child has not had yet. */
  pump(): void {
    if (this.waitingForData && !this.buffer.isEmpty) {
      this.waitingForData = false
      this.setCursor(this.buffer.firstIndex)
    }
    if (this.destroyed || this.blocked || this.cursor === undefined) return
    // A new source session replaced the buffer: the child needs all of it (nothing held yet is no session).
    if (this.epoch !== this.buffer.epoch && this.buffer.epoch !== -1) this.setCursor(this.buffer.firstIndex)
    for (;;) {
      const { index, behind } = this.buffer.resolve(this.cursor)
      if (behind && !this.buffer.trimmed) {
        // Nothing ever left our window, so it asked for chunks from before we held any (we took its departed
        // parent's slot while it was frozen): wait while our parent is asked for them (a backfill), else start
        // at our oldest (the child sees a gap, never a silent skip).
        if (this.buffer.backfillFrom !== undefined || this.options.backfill?.(this.cursor)) return
        this.cursor = index
      } else if (behind) {
        // Fell out of the window: jump to the newest place a viewer can start from.
        const restart = this.buffer.latestStartPoint()
        this.options.onLagged?.(this, restart - this.cursor)
        this.cursor = restart
        continue
      }
      const chunk = this.buffer.getChunk(index)
      if (!this.sendDueInit(index)) {
        this.cursor = index
        return
      }
      if (!chunk) {
        this.cursor = index
        // The munro of the next chunk may already be here: send it ahead of its chunks.
        const munro = this.buffer.getMunro(index)
        if (munro && this.lastMunroSent !== index) {
          this.lastMunroSent = index
          this.write(munro.frame)
        }
        return
      }
      if (chunk.munroStart !== this.lastMunroSent) {
        const munro = this.buffer.getMunro(chunk.munroStart)
        if (munro && !this.write(munro.frame)) {
          // The munro went out but the channel is full: the chunk follows on drain.
          this.lastMunroSent = chunk.munroStart
          this.cursor = index
          return
        }
        this.lastMunroSent = chunk.munroStart
      }
      this.cursor = index + 1
      if (!this.write(chunk.frame)) return
    }
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer)
    this.keepaliveTimer = null
    this.link.off('open', this.onOpen)
    this.link.off('frame', this.onFrame)
    this.link.off('drain', this.onDrain)
    this.link.off('close', this.onLinkClose)
    this.link.destroy()
    this.options.onClose(this)
  }

  // ------------------------------------------------------------ internals

  private setCursor(index: number): void {
    this.cursor = index
    this.epoch = this.buffer.epoch
    this.lastMunroSent = -1
    this.initSent = undefined
  }

  /** Sends the init message chunk `index` needs if the child has not had it; false when the channel is full. */
  private sendDueInit(index: number): boolean {
    const init = this.buffer.inits.due(index)
    if (!init || init === this.initSent) return true
    this.initSent = init
    return this.write(init.frame)
  }

  private write(frame: Uint8Array): boolean {
    this.lastSentAt = Date.now()
    try {
      const sent = this.link.send(frame)
      this.unconfirmed = this.link.bufferedAmount + this.link.queuedBytes
      if (sent) return true
    } catch {
      // Destroyed or queue full: both mean this child is gone or hopeless.
      this.destroy()
      return false
    }
    this.blocked = true
    return false
  }

  private readonly onOpen = (): void => {
    this.openedAt = Date.now()
    this.send({ type: FrameType.HANDSHAKE, treeKey: this.options.treeKey, resume: { kind: 'latest' } })
    this.keepaliveTimer = setInterval(() => {
      this.unconfirmed = this.link.bufferedAmount + this.link.queuedBytes
      if (!this.blocked && Date.now() - this.lastSentAt >= this.options.keepaliveMs) {
        this.send({ type: FrameType.KEEPALIVE, timestamp: Date.now() })
      }
    }, Math.max(50, this.options.keepaliveMs / 2))
  }

  private readonly onFrame = (bytes: Uint8Array): void => {
    const decoded = decodeFrame(bytes)
    if (!decoded.ok) return this.destroy()
    const frame = decoded.frame
    if (frame.type === FrameType.HANDSHAKE) {
      if (!equalBytes(frame.treeKey, this.options.treeKey)) return this.destroy()
      this.start(frame.resume)
    }
  }

  private start(resume: ResumePoint): void {
    if (this.cursor !== undefined || this.waitingForData) return
    if (resume.kind === 'latest' && this.buffer.isEmpty) {
      this.waitingForData = true
    } else if (resume.kind === 'latest') {
      this.setCursor(this.buffer.latestStartPoint(Math.min(this.openedAt, this.options.listedAt ?? Infinity)))
    } else if (resume.epoch !== 0 && this.buffer.epoch !== -1 && resume.epoch !== this.buffer.epoch) {
      // The child followed another source session (0: it does not know): this one is new to it, from its start.
      if (this.buffer.isEmpty) this.waitingForData = true
      else this.setCursor(Math.max(this.buffer.firstIndex, this.options.resumeFloor?.(this.buffer.firstIndex) ?? -Infinity))
    } else {
      const floor = this.options.resumeFloor?.(resume.index) ?? -Infinity
      // Before the oldest chunk held, while the window has dropped nothing: pump() fetches it from our parent.
      this.setCursor(Math.max(resume.index, floor, this.buffer.trimmed ? this.buffer.firstIndex : -Infinity))
      // Nothing held yet (a parent that has just joined): the index belongs to the child's session, so data of
      // that session must continue from it, not restart the cursor at whatever we happen to hold first.
      if (this.buffer.epoch === -1 && resume.epoch !== 0) this.epoch = resume.epoch
    }
    this.pump()
  }

  private send(frame: Frame): void {
    if (this.destroyed || this.link.state !== 'open') return
    this.write(encodeFrame(frame))
  }

  private readonly onDrain = (): void => {
    this.blocked = false
    this.pump()
  }

  private readonly onLinkClose = (): void => {
    this.destroy()
  }
}
