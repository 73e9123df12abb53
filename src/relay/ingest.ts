// What a viewer does with each frame from its parent, strictly in arrival
// order: verify it, store it in the buffer (from where children are served),
// and reassemble messages for the application. Nothing unverified is stored,
// forwarded or delivered.
import { FrameType, type ChunkFrame, type MunroFrame } from '../wire/frames.js'
import { ErrorCode } from '../errors.js'
import type { ChunkVerifier } from '../verify/verifier.js'
import { MessageReassembler, type ReassembledMessage } from '../verify/reassembler.js'
import { toBufferedChunk, type StreamBuffer } from './stream-buffer.js'

export interface IngestOptions<Source> {
  verifier: ChunkVerifier
  buffer: StreamBuffer
  maxMessageBytes: number
  /** A verified chunk from `source` entered the buffer: children can be served. */
  onStored: (source: Source) => void
  /**
   * A verified munro entered the buffer. Children get it at once, so the next
   * hop checks its signature while the chunks are still on their way.
   */
  onMunroStored?: () => void
  onMessage: (message: ReassembledMessage) => void
  /**
   * A frame failed verification; `source` says which parent sent it. `blame`
   * is false when the frame is genuine but unusable here (too old for our
   * clock window, a source restart's conflicting munro): drop it, keep the parent.
   */
  onRejected: (source: Source, code: string, message: string, blame: boolean) => void
  /** Latency of a verified chunk from the source's signature timestamp, in ms. */
  onLatency: (ms: number) => void
  /** False once a parent was dropped: what it still had queued here is discarded unread. */
  isLive: (source: Source) => boolean
  /** A verified chunk we already had arrived (a parent catching us up): the parent is alive. */
  onProgress?: (source: Source) => void
  now?: () => number
}

/** Rejections that say nothing bad about the parent that relayed the frame. */
const NOT_THE_SENDERS_FAULT = new Set<string>([
  ErrorCode.STALE_MUNRO,
  ErrorCode.STALE_CHUNK,
  ErrorCode.FUTURE_MUNRO,
  ErrorCode.MUNRO_CONFLICT,
  ErrorCode.PENDING_FULL
])
const MAX_IGNORED_MUNROS = 256

export class Ingest<Source> {
  /** Munros dropped without blame: their chunks are dropped quietly too. */
  private readonly ignoredMunros = new Set<number>()
  private tail: Promise<void> = Promise.resolve()
  private reassembler: MessageReassembler | null = null
  private readonly timestamps = new Map<number, number>()
  private readonly now: () => number
  private destroyed = false
  chunksVerified = 0
  chunksRejected = 0
  /** Start of the first munro that verified: a position in the stream we can trust. */
  firstVerifiedIndex: number | undefined

  constructor(private readonly options: IngestOptions<Source>) {
    this.now = options.now ?? Date.now
  }

  push(frame: MunroFrame | ChunkFrame, bytes: Uint8Array, source: Source): void {
    // Verification is async (WebCrypto); chaining keeps arrival order for the buffer and the reassembler.
    this.tail = this.tail.then(() => {
      if (this.destroyed || !this.options.isLive(source)) return
      return frame.type === FrameType.MUNRO ? this.munro(frame, bytes, source) : this.chunk(frame, bytes, source)
    })
  }

  destroy(): void {
    this.destroyed = true
    this.timestamps.clear()
  }

  private async munro(frame: MunroFrame, bytes: Uint8Array, source: Source): Promise<void> {
    const verdict = await this.options.verifier.acceptMunro(frame)
    if (this.destroyed) return
    if (!verdict.ok) {
      const blame = !NOT_THE_SENDERS_FAULT.has(verdict.code)
      if (!blame) {
        this.ignoredMunros.add(frame.start)
        if (this.ignoredMunros.size > MAX_IGNORED_MUNROS) this.ignoredMunros.delete(this.ignoredMunros.values().next().value as number)
      }
      return this.options.onRejected(source, verdict.code, verdict.message, blame)
    }
    this.firstVerifiedIndex ??= frame.start
    this.options.buffer.addMunro({ start: frame.start, count: frame.count, timestamp: frame.timestamp, frame: bytes })
    this.timestamps.set(frame.start, frame.timestamp)
    this.options.onMunroStored?.()
    if (this.timestamps.size > 4096) this.timestamps.delete(this.timestamps.keys().next().value as number)
  }

  private async chunk(frame: ChunkFrame, bytes: Uint8Array, source: Source): Promise<void> {
    if (this.ignoredMunros.has(frame.munroStart)) return
    const verdict = await this.options.verifier.acceptChunk(frame)
    if (this.destroyed) return
    if (!verdict.ok) {
      this.chunksRejected++
      return this.options.onRejected(source, verdict.code, verdict.message, !NOT_THE_SENDERS_FAULT.has(verdict.code))
    }
    this.chunksVerified++
    const added = this.options.buffer.add(toBufferedChunk(frame, bytes, this.now()))
    if (added === 'duplicate' || added === 'stale') {
      this.options.onProgress?.(source)
      return
    }
    const signedAt = this.timestamps.get(frame.munroStart)
    if (signedAt !== undefined) this.options.onLatency(this.now() - signedAt)
    this.options.onStored(source)

    if (!this.reassembler) this.reassembler = new MessageReassembler({ start: frame.index, maxMessageBytes: this.options.maxMessageBytes })
    else if (added === 'jumped') this.deliver(this.reassembler.skipTo(frame.index))
    const result = this.reassembler.push(frame)
    this.deliver(result.messages)
  }

  private deliver(messages: ReassembledMessage[]): void {
    for (const m of messages) this.options.onMessage(m)
  }
}
