// The verification pipeline of a viewer: what happens to each frame from a
// parent. Verification of the next VERIFY_AHEAD frames runs concurrently, so
// signature checks and chunk hashes of consecutive frames overlap (and a burst
// of catch-up frames cannot start more signature checks than the verifier
// allows at once); results are committed strictly in arrival order: stored in the StreamBuffer (from where children
// are served), reassembled into messages for the application. Nothing
// unverified is stored, forwarded or delivered.
//
// What a rejection means for the parent that sent the frame:
// - 'invalid': forged or corrupt (bad signature, bad proof, a chunk without
//   its munro): cryptographic evidence against the parent.
// - 'unusable': genuine, signed by the source, but of no use here (an older
//   source session, too far behind the stream, a conflict): dropped, and its
//   chunks from the same parent are dropped quietly too. Only frames whose
//   signature verified can land here, so an unsigned frame can never make
//   good data look ignorable.
// - 'overload': the parent sent faster than this peer verifies; the frame was
//   dropped, so the link should restart from the buffer's end.
//
// Progress (`progressMark`) moves only on new verified data: the buffer's end
// advancing, a fresher signed timestamp, a new init message. Duplicates,
// stale chunks and keepalives prove nothing about a parent.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode } from '../errors.js'
import { FrameType, type ChunkFrame, type InitFrame, type MunroFrame } from '../wire/frames.js'
import type { ChunkVerifier, Rejection, SignedVerdict, VerifyResult } from '../verify/verifier.js'
import { MessageReassembler, type Gap, type ReassemblyEvent } from '../verify/reassembler.js'
import { toBufferedChunk, type StreamBuffer } from './stream-buffer.js'

/** A frame sender as the pipeline needs it: frames from a closed one are dropped unread. */
export interface FrameSource {
  readonly isOpen: boolean
}

/** One message as the source wrote it, owned by the application. */
export interface MunroMessage {
  /** A fresh copy: never shared with the frames this peer stores or forwards. */
  data: Uint8Array
  /** Index of its first chunk in the stream (for an init message: the chunk it applies from). */
  index: number
  startPoint: boolean
  /** An init message (codec setup); delivered before the data that follows it, and again when the source publishes a new one. */
  init: boolean
  /** The stream skipped forward just before this message (a `gap` event preceded it). */
  gap: boolean
  /** The source's signed wall-clock time (ms) of the munro holding its first chunk. */
  timestamp: number
}

export type RejectionKind = 'invalid' | 'unusable' | 'overload'

export interface PipelineRejection<S> {
  source: S
  kind: RejectionKind
  code: string
  message: string
}

export interface VerifyPipelineEvents<S> {
  /** Verified data entered the buffer (a munro, chunk or init message): serve the children. */
  stored: () => void
  message: (message: MunroMessage) => void
  /** The stream skipped [fromIndex, toIndex) before the next message; `code` when a message was dropped. */
  gap: (gap: Gap) => void
  rejected: (rejection: PipelineRejection<S>) => void
  /** A listener of this pipeline threw; the pipeline carried on. */
  error: (err: unknown) => void
}

export interface VerifyPipelineOptions {
  verifier: ChunkVerifier
  buffer: StreamBuffer
  maxMessageBytes: number
  /** Frames received but not yet committed, at most. Default 2048 (32 MiB of full frames). */
  maxQueuedFrames?: number
  now?: () => number
}

/** Genuine-but-unusable codes: only ever produced after the signature verified (or with no state change). */
const UNUSABLE = new Set<string>([ErrorCode.STALE_EPOCH, ErrorCode.STALE_MUNRO, ErrorCode.MUNRO_CONFLICT, ErrorCode.STALE_CHUNK])
/** Munro starts a parent sent genuine-but-unusable munros for, remembered per parent. */
const MAX_IGNORED_PER_PARENT = 256

type Verdict = VerifyResult | SignedVerdict

interface Entry<S> {
  frame: MunroFrame | ChunkFrame | InitFrame
  bytes: Uint8Array
  source: S
  /** Set once its verification started. */
  verdict: Promise<Verdict> | null
}

/** Frames verified concurrently ahead of the commit point (below the verifier's maxInflightMunros). */
const VERIFY_AHEAD = 32
const SKIPPED: Verdict = Object.freeze({ ok: false, code: ErrorCode.DESTROYED, message: 'dropped unread' })

export class VerifyPipeline<S extends FrameSource> extends EventEmitter<VerifyPipelineEvents<S>> {
  private readonly verifier: ChunkVerifier
  private readonly buffer: StreamBuffer
  private readonly reassembler: MessageReassembler
  private readonly maxQueuedFrames: number
  private readonly now: () => number
  /** Frames received and not yet committed, in arrival order; the first `started` are being verified. */
  private readonly queue: Entry<S>[] = []
  private started = 0
  private draining = false
  /** Per parent: starts of its munros we dropped without blame; their chunks from it are dropped quietly. */
  private readonly ignored = new WeakMap<S, Set<number>>()
  private readonly overloaded = new WeakSet<S>()
  /** Per parent: the verdicts of the munros it sent last, by start, so its chunks are checked against those. */
  private readonly munroVerdicts = new WeakMap<S, Map<number, Promise<SignedVerdict>>>()
  private gapPending = false
  private mark = 0
  private destroyed = false
  chunksVerified = 0
  chunksRejected = 0
  /** Start of the first munro that verified: a position in the stream we can trust. */
  firstVerifiedIndex: number | undefined

  constructor(options: VerifyPipelineOptions) {
    super()
    this.verifier = options.verifier
    this.buffer = options.buffer
    this.reassembler = new MessageReassembler({ maxMessageBytes: options.maxMessageBytes })
    this.maxQueuedFrames = options.maxQueuedFrames ?? 2048
    this.now = options.now ?? Date.now
  }

  /** Increases with every piece of new verified data; a parent whose frames never move it is not delivering. */
  get progressMark(): number {
    return this.mark
  }

  /** Frames received and not yet committed. */
  get queueLength(): number {
    return this.queue.length
  }

  /** Takes one frame from `source`, in arrival order. */
  push(frame: MunroFrame | ChunkFrame | InitFrame, bytes: Uint8Array, source: S): void {
    if (this.destroyed || this.overloaded.has(source)) return
    if (this.queue.length >= this.maxQueuedFrames) {
      this.overloaded.add(source)
      this.reject(source, 'overload', { ok: false, code: ErrorCode.QUEUE_FULL, message: `${this.queue.length} frames already wait for verification` })
      return
    }
    this.queue.push({ frame, bytes, source, verdict: null })
    this.startVerifying()
    void this.drain()
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.queue.length = 0
    this.removeAllListeners()
  }

  /** Starts verifying the frames within VERIFY_AHEAD of the commit point. */
  private startVerifying(): void {
    while (this.started < this.queue.length && this.started < VERIFY_AHEAD) {
      const entry = this.queue[this.started++]!
      // A closed parent's frames are dropped unread: do not spend a signature check on them.
      entry.verdict = entry.source.isOpen ? this.verify(entry.frame, entry.source) : Promise.resolve(SKIPPED)
    }
  }

  /** Commits verdicts in arrival order as they come in. */
  private async drain(): Promise<void> {
    if (this.draining) return
    this.draining = true
    while (this.queue.length > 0 && !this.destroyed) {
      const head = this.queue[0]!
      let verdict: Verdict = SKIPPED
      try {
        verdict = await head.verdict!
      } catch (err) {
        this.safeEmit('error', err) // a verifier bug: drop the frame, keep the pipeline going
      }
      if (this.destroyed) break
      this.queue.shift()
      this.started--
      this.startVerifying()
      if (verdict === SKIPPED || !head.source.isOpen) continue
      try {
        this.commit(head.frame, head.bytes, head.source, verdict)
      } catch (err) {
        this.safeEmit('error', err)
      }
    }
    this.draining = false
  }

  // ------------------------------------------------------------ verify (concurrent)

  private verify(frame: MunroFrame | ChunkFrame | InitFrame, source: S): Promise<Verdict> {
    if (frame.type === FrameType.INIT) return this.verifier.acceptInit(frame)
    let sent = this.munroVerdicts.get(source)
    if (frame.type === FrameType.MUNRO) {
      const verdict = this.verifier.acceptMunro(frame)
      if (!sent) this.munroVerdicts.set(source, (sent = new Map()))
      sent.delete(frame.start)
      sent.set(frame.start, verdict)
      if (sent.size > MAX_IGNORED_PER_PARENT) sent.delete(sent.keys().next().value as number)
      return verdict
    }
    // Hash it now, while its munro's signature may still be under check.
    this.verifier.prehash(frame)
    // The parent sent the chunk's munro just before: check the chunk once that verdict is in (it may
    // open a new source session whose munros sit at the same indices as the old one's).
    const munro = sent?.get(frame.munroStart)
    return munro ? munro.then(() => this.verifier.acceptChunk(frame)) : this.verifier.acceptChunk(frame)
  }

  // ------------------------------------------------------------ commit (in order)

  private commit(frame: MunroFrame | ChunkFrame | InitFrame, bytes: Uint8Array, source: S, verdict: Verdict): void {
    if (frame.type === FrameType.CHUNK) return this.commitChunk(frame, bytes, source, verdict)
    if (!verdict.ok) {
      if (verdict.code === ErrorCode.DESTROYED) return
      if (frame.type === FrameType.MUNRO && UNUSABLE.has(verdict.code)) this.ignore(source, frame.start)
      if (verdict.code === ErrorCode.PENDING_FULL) this.overloaded.add(source)
      const kind: RejectionKind = verdict.code === ErrorCode.PENDING_FULL ? 'overload' : UNUSABLE.has(verdict.code) ? 'unusable' : 'invalid'
      return this.reject(source, kind, verdict)
    }
    // A verdict reached before a newer session was committed: that frame belongs to the past.
    if (frame.epoch < this.buffer.epoch) return this.ignore(source, frame.type === FrameType.MUNRO ? frame.start : -1)
    if (frame.epoch > this.buffer.epoch) this.startSession(frame.epoch, frame.type === FrameType.MUNRO ? frame.start : frame.atIndex)
    if (frame.type === FrameType.MUNRO) this.commitMunro(frame, bytes, source, (verdict as SignedVerdict & { ok: true }).fresher)
    else this.commitInit(frame, bytes)
  }

  private commitMunro(frame: MunroFrame, bytes: Uint8Array, source: S, fresher: boolean): void {
    this.ignored.get(source)?.delete(frame.start)
    this.firstVerifiedIndex ??= frame.start
    this.buffer.addMunro({ start: frame.start, count: frame.count, timestamp: frame.timestamp, frame: bytes })
    if (fresher) this.mark++
    this.safeEmit('stored')
  }

  private commitInit(frame: InitFrame, bytes: Uint8Array): void {
    // Only a newer init message than the one held is news (a repeat from a new parent is not).
    if (!this.buffer.inits.add(frame, bytes)) return
    this.mark++
    this.safeEmit('stored')
    this.safeEmit('message', { data: frame.payload.slice(), index: frame.atIndex, startPoint: false, init: true, gap: false, timestamp: frame.timestamp })
  }

  private commitChunk(frame: ChunkFrame, bytes: Uint8Array, source: S, verdict: Verdict): void {
    if (this.ignored.get(source)?.has(frame.munroStart)) return
    if (!verdict.ok) {
      if (verdict.code === ErrorCode.DESTROYED) return
      this.chunksRejected++
      return this.reject(source, UNUSABLE.has(verdict.code) ? 'unusable' : 'invalid', verdict)
    }
    // Its munro belongs to another session than the buffer's (a verdict that raced a session change).
    const munro = this.buffer.getMunro(frame.munroStart)
    if (!munro) return
    this.chunksVerified++
    const added = this.buffer.add(toBufferedChunk(frame, bytes, this.now()))
    if (added === 'duplicate' || added === 'stale') return
    this.mark++
    this.safeEmit('stored')
    this.deliver(this.reassembler.push({ index: frame.index, flags: frame.flags, payload: frame.payload, timestamp: munro.timestamp }))
  }

  /** A newer source session: everything held belongs to the old one. */
  private startSession(epoch: number, toIndex: number): void {
    const previous = this.buffer.epoch
    const from = this.reassembler.nextIndex
    this.buffer.reset(epoch)
    this.reassembler.reset()
    this.firstVerifiedIndex = undefined
    if (previous !== -1) {
      // Indices restart with the new session, so toIndex may be below fromIndex.
      this.gapPending = true
      this.safeEmit('gap', { fromIndex: from ?? 0, toIndex, code: ErrorCode.STALE_EPOCH })
    }
  }

  private deliver(events: readonly ReassemblyEvent[]): void {
    for (const e of events) {
      if (e.kind === 'gap') {
        this.gapPending = true
        this.safeEmit('gap', e.gap)
        continue
      }
      const m = e.message
      const gap = this.gapPending
      this.gapPending = false
      this.safeEmit('message', { data: m.bytes, index: m.index, startPoint: m.startPoint, init: false, gap, timestamp: m.timestamp })
    }
  }

  private ignore(source: S, start: number): void {
    if (start < 0) return
    let set = this.ignored.get(source)
    if (!set) this.ignored.set(source, (set = new Set()))
    set.add(start)
    if (set.size > MAX_IGNORED_PER_PARENT) set.delete(set.values().next().value as number)
  }

  private reject(source: S, kind: RejectionKind, r: Rejection): void {
    this.safeEmit('rejected', { source, kind, code: r.code, message: r.message })
  }

  // A listener that throws must not break the in-order commit chain.
  private safeEmit<E extends keyof VerifyPipelineEvents<S>>(event: E, ...args: Parameters<VerifyPipelineEvents<S>[E]>): void {
    try {
      ;(this.emit as (e: E, ...a: Parameters<VerifyPipelineEvents<S>[E]>) => boolean)(event, ...args)
    } catch (err) {
      if (event === 'error') return
      this.safeEmit('error', err)
    }
  }
}
