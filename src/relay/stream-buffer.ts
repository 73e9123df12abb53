// The last W of the stream, as verified, still-encoded frames. It is both the
// repair store (a child that reconnects or falls behind is served from here)
// and every child's send queue: a child is only a cursor into this buffer, so
// a slow child costs a number, not a copy of the stream. Init messages sit
// beside it, outside the index order (init-cache.ts). Everything here belongs
// to one source session (`epoch`); a newer session replaces it all (reset).
import { ChunkFlag, type ChunkFrame } from '../wire/frames.js'
import { InitCache } from './init-cache.js'

export interface BufferedChunk {
  index: number
  munroStart: number
  /** The chunk starts a message that is a start point (e.g. a keyframe). */
  startPoint: boolean
  messageStart: boolean
  messageEnd: boolean
  /** The encoded CHUNK frame, forwarded as is. */
  frame: Uint8Array
  receivedAt: number
}

export interface BufferedMunro {
  start: number
  count: number
  timestamp: number
  frame: Uint8Array
}

export interface StreamBufferOptions {
  /** Keep at least this much of the stream, by arrival time. */
  windowMs: number
  /** Never hold more than this many bytes of frames (oldest go first). */
  maxBytes: number
  now?: () => number
}

export type AddResult = 'added' | 'duplicate' | 'stale' | 'jumped'

/** Backfills a buffer session may ask for: each costs a new session with our parent (see requestBackfill). */
const MAX_BACKFILLS = 3

/**
 * Chunks are appended in index order. A chunk beyond the live edge (a new
 * parent that no longer had what we missed) is accepted as a jump: the hole is
 * recorded so cursors skip it instead of waiting forever.
 *
 * Below the oldest chunk held, the buffer takes chunks only during a backfill:
 * a peer that started late (it joined, or jumped) and then got a child that
 * stopped further back (it was frozen while its old parent left, and we took
 * that parent's slot) asks its own parent again from there. The backfill's
 * chunks arrive in index order, from wherever the parent could start, up to
 * the old oldest chunk; whatever it could not send becomes a hole.
 */
export class StreamBuffer {
  private readonly chunks = new Map<number, BufferedChunk>()
  private readonly munros = new Map<number, BufferedMunro>()
  /** Ranges [from, to) skipped by jumps, oldest first (jumps only go forward). */
  private readonly holes: { from: number; to: number }[] = []
  /** Init messages of this session, outside the window. */
  readonly inits = new InitCache()
  private currentEpoch = -1
  private first = 0
  private end = 0
  private bytes = 0
  /** A backfill: asked `from`, up to `to` (the oldest held when asked); `next` once its first chunk came. */
  private fill: { from: number; to: number; next: number | undefined } | null = null
  /** Our parent had nothing before this when a backfill asked (it started later): asking below again is futile. */
  private parentFloor = -Infinity
  private backfillsLeft = MAX_BACKFILLS
  private dropped = false
  private readonly now: () => number

  constructor(private readonly options: StreamBufferOptions) {
    this.now = options.now ?? Date.now
  }

  /**
   * The source session held; -1 before any. It changes only through reset(),
   * so a cursor that remembers it can tell its index belongs to another session.
   */
  get epoch(): number {
    return this.currentEpoch
  }

  /** Empties the buffer for a new source session: its indices start afresh. */
  reset(epoch: number): void {
    this.currentEpoch = epoch
    this.chunks.clear()
    this.munros.clear()
    this.holes.length = 0
    this.inits.clear()
    this.first = 0
    this.end = 0
    this.bytes = 0
    this.fill = null
    this.parentFloor = -Infinity
    this.backfillsLeft = MAX_BACKFILLS
    this.dropped = false
  }

  /**
   * The window has dropped chunks: a cursor before the oldest held fell out of
   * it, and our parent's window has dropped them too. Until then a cursor there
   * asked for chunks from before we started.
   */
  get trimmed(): boolean {
    return this.dropped
  }

  /** Lowest chunk index still held. */
  get firstIndex(): number {
    return this.first
  }

  /** One past the newest chunk held: where live data continues. */
  get endIndex(): number {
    return this.end
  }

  get isEmpty(): boolean {
    return this.chunks.size === 0
  }

  get byteSize(): number {
    return this.bytes
  }

  get chunkCount(): number {
    return this.chunks.size
  }

  /** How much of the stream is held, in ms of arrival time. */
  get spanMs(): number {
    const oldest = this.chunks.get(this.first)
    return oldest ? this.now() - oldest.receivedAt : 0
  }

  getChunk(index: number): BufferedChunk | undefined {
    return this.chunks.get(index)
  }

  getMunro(start: number): BufferedMunro | undefined {
    return this.munros.get(start)
  }

  addMunro(munro: BufferedMunro): void {
    if (this.munros.has(munro.start)) return
    this.munros.set(munro.start, munro)
    this.bytes += munro.frame.byteLength
  }

  /**
   * A child wants chunks from `index`, before the oldest we hold. True when
   * they are worth asking our parent for (the caller then starts a session
   * whose handshake asks from `backfillFrom`): we started late rather than
   * lost them to the window, and an earlier backfill did not find our parent
   * without them.
   */
  requestBackfill(index: number): boolean {
    if (this.isEmpty || index >= this.first || this.dropped || index < this.parentFloor) return false
    // One at a time: a child that wants more waits for it to end, then asks again.
    if (this.fill || this.backfillsLeft <= 0) return false
    this.backfillsLeft--
    this.fill = { from: index, to: this.first, next: undefined }
    return true
  }

  /** Where a backfill asked for should start, while none of it has arrived; cursors below the oldest chunk wait. */
  get backfillFrom(): number | undefined {
    return this.fill && this.fill.next === undefined ? this.fill.from : undefined
  }

  add(chunk: BufferedChunk): AddResult {
    if (this.fill) {
      if (chunk.index >= (this.fill.next ?? this.fill.from) && chunk.index < this.fill.to) return this.addBelow(chunk)
      if (chunk.index >= this.fill.to) this.endBackfill()
    }
    let result: AddResult = 'added'
    if (this.chunks.size === 0) {
      this.first = chunk.index
      this.end = chunk.index
    } else if (chunk.index < this.end) {
      return this.chunks.has(chunk.index) ? 'duplicate' : 'stale'
    } else if (chunk.index > this.end) {
      this.addHole({ from: this.end, to: chunk.index })
      result = 'jumped'
    }
    this.chunks.set(chunk.index, chunk)
    this.bytes += chunk.frame.byteLength
    this.end = chunk.index + 1
    this.evict()
    return result
  }

  /** A chunk of the backfill, below the chunks held before it. */
  private addBelow(chunk: BufferedChunk): AddResult {
    const fill = this.fill!
    if (fill.next === undefined) {
      this.first = chunk.index
      if (chunk.index > fill.from) this.parentFloor = chunk.index
    } else if (chunk.index > fill.next) this.addHole({ from: fill.next, to: chunk.index })
    fill.next = chunk.index + 1
    if (fill.next === fill.to) this.fill = null
    this.chunks.set(chunk.index, chunk)
    this.bytes += chunk.frame.byteLength
    this.evict()
    return 'added'
  }

  /** The parent sent past the backfill's range: what it did not bring is a hole. */
  private endBackfill(): void {
    const fill = this.fill!
    this.fill = null
    if (fill.next === undefined) this.parentFloor = fill.to
    else if (fill.next < fill.to) this.addHole({ from: fill.next, to: fill.to })
  }

  /** Holes stay in index order. */
  private addHole(hole: { from: number; to: number }): void {
    const at = this.holes.findIndex((h) => h.from > hole.from)
    this.holes.splice(at === -1 ? this.holes.length : at, 0, hole)
  }

  /**
   * The index a cursor at `index` should read next: itself if held or not
   * yet arrived, the far side of a hole, or the oldest held chunk if the
   * cursor fell out of the window (`behind` is then true).
   */
  resolve(index: number): { index: number; behind: boolean } {
    if (index < this.first) return { index: this.first, behind: true }
    if (index < this.end && !this.chunks.has(index)) {
      for (const hole of this.holes) if (index >= hole.from && index < hole.to) return { index: hole.to, behind: false }
    }
    return { index, behind: false }
  }

  /**
   * Where a newcomer should start: the first chunk of the most recent start
   * point message; without one, the first message that began at or after
   * `since` (when the newcomer connected); else the live edge.
   */
  latestStartPoint(since = Infinity): number {
    let sinceConnected = this.end
    for (let i = this.end - 1; i >= this.first; i--) {
      const c = this.chunks.get(i)
      if (!c?.messageStart) continue
      if (c.startPoint) return i
      if (c.receivedAt >= since) sinceConnected = i
    }
    return sinceConnected
  }

  private evict(): void {
    const horizon = this.now() - this.options.windowMs
    while (this.chunks.size > 1) {
      const oldest = this.chunks.get(this.first)
      if (!oldest) {
        // Inside a hole: hop over it.
        const hole = this.holes.find((h) => this.first >= h.from && this.first < h.to)
        this.first = hole ? hole.to : this.first + 1
        continue
      }
      if (oldest.receivedAt >= horizon && this.bytes <= this.options.maxBytes) break
      this.chunks.delete(this.first)
      this.bytes -= oldest.frame.byteLength
      this.first++
      this.dropped = true
    }
    while (this.holes.length > 0 && this.holes[0]!.to <= this.first) this.holes.shift()
    this.inits.prune(this.first)
    // Munros arrive in order, so the Map's first entries are the oldest; each goes once none of its chunks is held.
    // (A backfill's munros come after newer ones: they go with them, held at most one window longer.)
    for (const munro of this.munros.values()) {
      if (munro.start + munro.count > this.first) break
      this.munros.delete(munro.start)
      this.bytes -= munro.frame.byteLength
    }
  }
}

/** The buffer's view of a verified CHUNK frame. */
export function toBufferedChunk(frame: ChunkFrame, bytes: Uint8Array, receivedAt: number): BufferedChunk {
  const flags = frame.flags
  return {
    index: frame.index,
    munroStart: frame.munroStart,
    messageStart: (flags & ChunkFlag.MESSAGE_START) !== 0,
    messageEnd: (flags & ChunkFlag.MESSAGE_END) !== 0,
    startPoint: (flags & ChunkFlag.START_POINT) !== 0,
    frame: bytes,
    receivedAt
  }
}
