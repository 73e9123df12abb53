// Turns verified chunks, in any order, back into the source's messages, in
// chunk-index order, exactly as written (bytes and start-point / init flags).
//
// A cursor (`nextIndex`) walks the chunk indices; chunks ahead of it wait in a
// bounded buffer. A message starts at a MESSAGE_START chunk and ends at a
// MESSAGE_END chunk; chunks met while no message is open (after a start in the
// middle of a message, or after a dropped message) are skipped, so a receiver
// never sees a message it did not get from its first byte.
//
// Memory: buffered chunks ahead of the cursor are capped by maxBufferedBytes
// and by maxAheadChunks; the message being assembled by maxMessageBytes; so at
// most maxBufferedBytes + maxMessageBytes payload bytes are held. The chunk at
// the cursor is always taken, so a full buffer cannot stall the stream.
import { ErrorCode, MunroError } from '../errors.js'
import { concatBytes } from '../crypto/bytes.js'
import { ChunkFlag } from '../wire/frames.js'

/** A chunk that passed ChunkVerifier (a ChunkFrame fits). */
export interface VerifiedChunk {
  index: number
  flags: number
  payload: Uint8Array
}

/** One message, as the source wrote it. */
export interface ReassembledMessage {
  /** Index of its first chunk. */
  index: number
  /** Index after its last chunk. */
  end: number
  /** The message bytes (a view into the chunk's buffer for one-chunk messages). */
  bytes: Uint8Array
  startPoint: boolean
  init: boolean
}

/** Outcome of one push. Messages may complete even when the result is not ok. */
export type PushResult =
  | { ok: true; messages: ReassembledMessage[] }
  | { ok: false; code: ErrorCode; message: string; messages: ReassembledMessage[] }

/** A half-open range of chunk indices. */
export interface IndexRange {
  from: number
  to: number
}

export interface MessageReassemblerOptions {
  /**
   * Where to begin: a chunk index (resume; chunks before it are ignored, and a
   * message already under way there is skipped), or 'start-point' (late
   * joiner: begin at the first MESSAGE_START chunk of a START_POINT message
   * that arrives). Default 0.
   */
  start?: number | 'start-point'
  /** Largest message; a longer one is dropped with ERR_MESSAGE_TOO_LARGE. Default 4 MiB. */
  maxMessageBytes?: number
  /** Payload bytes held ahead of the cursor. Default 16 MiB. */
  maxBufferedBytes?: number
  /** How far ahead of the cursor a chunk may be. Default 4096 chunks. */
  maxAheadChunks?: number
}

const DEFAULTS = { maxMessageBytes: 4 * 1024 * 1024, maxBufferedBytes: 16 * 1024 * 1024, maxAheadChunks: 4096 }
const NONE: ReassembledMessage[] = []

interface Draft {
  index: number
  flags: number
  parts: Uint8Array[]
  bytes: number
}

/** Reassembles one stream's messages. See the file comment. */
export class MessageReassembler {
  readonly maxMessageBytes: number
  readonly maxBufferedBytes: number
  readonly maxAheadChunks: number

  private cursor: number | undefined
  private readonly ahead = new Map<number, VerifiedChunk>()
  private aheadBytes = 0
  private draft: Draft | null = null
  // Problems met while draining, reported by the push that caused them.
  private problem: { code: ErrorCode; message: string } | null = null

  constructor(options: MessageReassemblerOptions = {}) {
    const start = options.start ?? 0
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULTS.maxBufferedBytes
    this.maxAheadChunks = options.maxAheadChunks ?? DEFAULTS.maxAheadChunks
    if (start !== 'start-point' && (!Number.isSafeInteger(start) || start < 0)) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, "MessageReassembler: start must be a chunk index or 'start-point'")
    }
    for (const [name, value] of Object.entries({
      maxMessageBytes: this.maxMessageBytes,
      maxBufferedBytes: this.maxBufferedBytes,
      maxAheadChunks: this.maxAheadChunks
    })) {
      if (!Number.isSafeInteger(value) || value < 1) throw new MunroError(ErrorCode.INVALID_ARGUMENT, `MessageReassembler: ${name} must be an integer >= 1`)
    }
    this.cursor = start === 'start-point' ? undefined : start
  }

  /** Next chunk index the reassembler needs; undefined while it still looks for a start point. */
  get nextIndex(): number | undefined {
    return this.cursor
  }

  /** Payload bytes buffered ahead of the cursor. */
  get bufferedBytes(): number {
    return this.aheadBytes
  }

  /**
   * Takes one verified chunk. Duplicates and chunks behind the cursor are
   * ignored (ok). Rejected with ERR_BUFFER_FULL when it is too far ahead or the
   * buffer is full (ask for it again later); a message dropped while draining
   * is reported as ERR_MESSAGE_TOO_LARGE or ERR_BAD_MESSAGE.
   */
  push(chunk: VerifiedChunk): PushResult {
    const { index } = chunk
    if (this.cursor === undefined) {
      if (isStartPoint(chunk.flags)) {
        this.cursor = index
        for (const [i, c] of this.ahead) if (i < index) this.drop(i, c)
      } else {
        return this.buffer(chunk) ?? { ok: true, messages: NONE }
      }
    }
    if (index < this.cursor || this.ahead.has(index)) return { ok: true, messages: NONE }
    if (index !== this.cursor) {
      if (index - this.cursor >= this.maxAheadChunks) {
        return { ok: false, code: ErrorCode.BUFFER_FULL, message: `chunk ${index} is over ${this.maxAheadChunks} chunks ahead`, messages: NONE }
      }
      const full = this.buffer(chunk)
      if (full) return full
      return { ok: true, messages: NONE }
    }
    this.ahead.set(index, chunk)
    this.aheadBytes += chunk.payload.length
    return this.drain()
  }

  /**
   * Gives up on everything before `index` (e.g. a gap repair could not fill):
   * drops buffered chunks and any message under way, moves the cursor and
   * resumes at the next message start. Returns messages that complete now.
   */
  skipTo(index: number): ReassembledMessage[] {
    if (!Number.isSafeInteger(index) || index < 0) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'skipTo: index must be a chunk index')
    if (this.cursor !== undefined && index <= this.cursor) return NONE
    for (const [i, c] of this.ahead) if (i < index) this.drop(i, c)
    this.cursor = index
    this.draft = null
    const result = this.drain()
    return result.messages
  }

  /**
   * Gaps between the cursor and the highest buffered chunk (or `upTo`, if
   * higher), as half-open ranges, lowest first, at most `limit` of them.
   */
  missingRanges(upTo?: number, limit = 64): IndexRange[] {
    if (this.cursor === undefined) return []
    const have = [...this.ahead.keys()].sort((a, b) => a - b)
    const ranges: IndexRange[] = []
    let from = this.cursor
    for (const i of have) {
      if (ranges.length >= limit) return ranges
      if (i > from) ranges.push({ from, to: i })
      from = i + 1
    }
    if (upTo !== undefined && upTo > from && ranges.length < limit) ranges.push({ from, to: upTo })
    return ranges
  }

  // ---------------------------------------------------------- internals

  /** Buffers a chunk ahead of the cursor; returns a rejection when the buffer is full. */
  private buffer(chunk: VerifiedChunk): PushResult | null {
    if (this.ahead.has(chunk.index)) return null
    if (this.aheadBytes + chunk.payload.length > this.maxBufferedBytes || this.ahead.size >= this.maxAheadChunks) {
      return { ok: false, code: ErrorCode.BUFFER_FULL, message: 'reassembly buffer is full', messages: NONE }
    }
    this.ahead.set(chunk.index, chunk)
    this.aheadBytes += chunk.payload.length
    return null
  }

  private drop(index: number, chunk: VerifiedChunk): void {
    this.ahead.delete(index)
    this.aheadBytes -= chunk.payload.length
  }

  private drain(): PushResult {
    let messages = NONE
    let chunk: VerifiedChunk | undefined
    while (this.cursor !== undefined && (chunk = this.ahead.get(this.cursor)) !== undefined) {
      this.drop(this.cursor, chunk)
      this.cursor++
      const done = this.consume(chunk)
      if (done) messages = messages === NONE ? [done] : (messages.push(done), messages)
    }
    const problem = this.problem
    this.problem = null
    return problem ? { ok: false, ...problem, messages } : { ok: true, messages }
  }

  /** Feeds the chunk at the cursor to the message under way; returns a message when it completes. */
  private consume(chunk: VerifiedChunk): ReassembledMessage | null {
    const starts = (chunk.flags & ChunkFlag.MESSAGE_START) !== 0
    if (starts) {
      if (this.draft) this.problem = { code: ErrorCode.BAD_MESSAGE, message: `message at ${this.draft.index} has no end; dropped` }
      this.draft = { index: chunk.index, flags: chunk.flags, parts: [], bytes: 0 }
    } else if (!this.draft) {
      return null // middle of a message we did not see start
    }
    const draft = this.draft!
    draft.bytes += chunk.payload.length
    if (draft.bytes > this.maxMessageBytes) {
      this.problem = { code: ErrorCode.MESSAGE_TOO_LARGE, message: `message at ${draft.index} is over ${this.maxMessageBytes} bytes; dropped` }
      this.draft = null
      return null
    }
    draft.parts.push(chunk.payload)
    if ((chunk.flags & ChunkFlag.MESSAGE_END) === 0) return null
    this.draft = null
    return {
      index: draft.index,
      end: chunk.index + 1,
      bytes: draft.parts.length === 1 ? draft.parts[0]! : concatBytes(...draft.parts),
      startPoint: (draft.flags & ChunkFlag.START_POINT) !== 0,
      init: (draft.flags & ChunkFlag.INIT) !== 0
    }
  }
}

function isStartPoint(flags: number): boolean {
  return (flags & (ChunkFlag.MESSAGE_START | ChunkFlag.START_POINT)) === (ChunkFlag.MESSAGE_START | ChunkFlag.START_POINT)
}
