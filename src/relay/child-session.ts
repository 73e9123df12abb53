// Serving one child: after its handshake, a cursor walks the shared
// StreamBuffer and writes frames until the data channel pushes back, then
// waits for `drain`. The buffer is the send queue, so a slow child costs a
// number, and one that falls out of the window is moved to the latest start
// point instead of growing memory.
import { decodeFrame, encodeFrame, FrameType, type Frame, type ResumePoint } from '../wire/frames.js'
import { equalBytes } from '../crypto/bytes.js'
import type { PeerLink } from '../transport/peer-link.js'
import type { StreamBuffer } from './stream-buffer.js'

export interface ChildSessionOptions {
  treeKey: Uint8Array
  /** Send a keepalive when nothing else went out for this long. */
  keepaliveMs: number
  /** Called once when the session ends (link closed, bad handshake, destroy). */
  onClose: (session: ChildSession) => void
  /** A child fell out of the buffer window and skipped ahead. */
  onLagged?: (session: ChildSession, skippedChunks: number) => void
}

export class ChildSession {
  /** Next chunk index to send; undefined until the child's handshake. */
  private cursor: number | undefined
  /** A newcomer arrived before we had any data: start at whatever arrives first. */
  private waitingForData = false
  private lastMunroSent = -1
  private blocked = false
  private lastSentAt = 0
  /** Frames to send before the cursor's (a newcomer's init message), drained under the same backpressure. */
  private preamble: Uint8Array[] = []
  /** When the channel opened: a newcomer gets every message from then on, at least. */
  private openedAt = Infinity
  private keepaliveTimer: ReturnType<typeof setInterval> | null = null
  private destroyed = false

  constructor(
    readonly peerId: string,
    readonly link: PeerLink,
    private readonly buffer: StreamBuffer,
    private readonly options: ChildSessionOptions
  ) {
    link.on('open', this.onOpen)
    link.on('frame', this.onFrame)
    link.on('drain', this.onDrain)
    link.on('close', this.onLinkClose)
  }

  /** New data is in the buffer: send what this child has not had yet. */
  pump(): void {
    if (this.waitingForData && !this.buffer.isEmpty) {
      this.waitingForData = false
      this.cursor = this.buffer.firstIndex
    }
    if (this.destroyed || this.blocked || this.cursor === undefined) return
    while (this.preamble.length > 0) {
      if (!this.write(this.preamble.shift()!)) return
    }
    for (;;) {
      const { index, behind } = this.buffer.resolve(this.cursor)
      if (behind) {
        // Fell out of the window: jump to the newest place a viewer can start from.
        const restart = this.buffer.latestStartPoint()
        this.options.onLagged?.(this, restart - this.cursor)
        this.cursor = restart
        continue
      }
      const chunk = this.buffer.getChunk(index)
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

  private write(frame: Uint8Array): boolean {
    this.lastSentAt = Date.now()
    try {
      if (this.link.send(frame)) return true
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
    // REQUEST is not served: a child resumes through its handshake, and a
    // rewind on request would let a few bytes replay the whole window.
  }

  private start(resume: ResumePoint): void {
    if (this.cursor !== undefined || this.waitingForData) return
    if (resume.kind === 'latest' && this.buffer.isEmpty) {
      this.waitingForData = true
    } else if (resume.kind === 'latest') {
      // A newcomer first gets the init message, so it can decode what follows.
      this.preamble = [...this.buffer.initFrames()]
      this.cursor = this.buffer.latestStartPoint(this.openedAt)
    } else {
      // A child that lacks what we no longer hold also needs the init message again.
      if (!this.buffer.isEmpty && resume.index < this.buffer.firstIndex) this.preamble = [...this.buffer.initFrames()]
      this.cursor = this.buffer.isEmpty ? resume.index : Math.max(resume.index, this.buffer.firstIndex)
    }
    if (!this.buffer.isEmpty) this.send({ type: FrameType.HAVE, from: this.buffer.firstIndex, to: this.buffer.endIndex })
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
