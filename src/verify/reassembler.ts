// Turns verified chunks, taken in increasing index order, back into the
// source's messages, exactly as written (bytes and start-point flag).
//
// A message starts at a MESSAGE_START chunk and ends at a MESSAGE_END chunk.
// Chunks met while no message is open (joining in the middle of a message,
// heartbeats, the rest of a dropped message) are skipped, so a receiver never
// sees a message it did not get from its first byte. A chunk past the next
// expected index means the stream skipped forward: the message under way is
// dropped and a gap is reported. A message over maxMessageBytes, or one cut
// short by a new start, is dropped and reported as a gap with its code.
//
// Every delivered message's bytes are a fresh copy: the application owns
// them, and they never alias the frames this peer stores and forwards.
// Memory: one message under way, at most maxMessageBytes.
import { ErrorCode, MunroError } from '../errors.js'
import { concatBytes } from '../crypto/bytes.js'
import { ChunkFlag } from '../wire/frames.js'

/** A chunk that passed ChunkVerifier, with the signed timestamp of its munro. */
export interface VerifiedChunk {
  index: number
  flags: number
  payload: Uint8Array
  /** The source's signed timestamp of the chunk's munro. */
  timestamp: number
}

/** One message, as the source wrote it. */
export interface ReassembledMessage {
  /** Index of its first chunk. */
  index: number
  /** Index after its last chunk. */
  end: number
  /** The message bytes: a new array, owned by whoever receives it. */
  bytes: Uint8Array
  startPoint: boolean
  /** Signed timestamp of the munro holding its first chunk. */
  timestamp: number
}

/** The stream skipped [fromIndex, toIndex); `code` says why when a message was dropped. */
export interface Gap {
  fromIndex: number
  toIndex: number
  code?: ErrorCode
}

/** What one push produced, in stream order. */
export type ReassemblyEvent = { kind: 'message'; message: ReassembledMessage } | { kind: 'gap'; gap: Gap }

interface Draft {
  index: number
  flags: number
  timestamp: number
  parts: Uint8Array[]
  bytes: number
}

const NONE: readonly ReassemblyEvent[] = []

/** Reassembles one stream's messages. See the file comment. */
export class MessageReassembler {
  readonly maxMessageBytes: number
  private cursor: number | undefined
  private draft: Draft | null = null

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024
    if (!Number.isSafeInteger(this.maxMessageBytes) || this.maxMessageBytes < 1) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'MessageReassembler: maxMessageBytes must be an integer >= 1')
    }
  }

  /** Next chunk index expected; undefined before the first chunk. */
  get nextIndex(): number | undefined {
    return this.cursor
  }

  /** Takes the next verified chunk. Chunks behind the cursor are ignored. */
  push(chunk: VerifiedChunk): readonly ReassemblyEvent[] {
    if (this.cursor !== undefined && chunk.index < this.cursor) return NONE
    const events: ReassemblyEvent[] = []
    if (this.cursor !== undefined && chunk.index > this.cursor) {
      events.push({ kind: 'gap', gap: { fromIndex: this.draft?.index ?? this.cursor, toIndex: chunk.index } })
      this.draft = null
    }
    this.cursor = chunk.index + 1
    this.consume(chunk, events)
    return events
  }

  /** Forgets the stream position (a new source session restarts the indices). */
  reset(): void {
    this.cursor = undefined
    this.draft = null
  }

  private consume(chunk: VerifiedChunk, events: ReassemblyEvent[]): void {
    if ((chunk.flags & ChunkFlag.MESSAGE_START) !== 0) {
      if (this.draft) events.push(this.dropDraft(chunk.index, ErrorCode.BAD_MESSAGE))
      this.draft = { index: chunk.index, flags: chunk.flags, timestamp: chunk.timestamp, parts: [], bytes: 0 }
    } else if (!this.draft) {
      return // middle of a message we did not see start, or a heartbeat
    }
    const draft = this.draft!
    draft.bytes += chunk.payload.length
    if (draft.bytes > this.maxMessageBytes) {
      events.push(this.dropDraft(chunk.index + 1, ErrorCode.MESSAGE_TOO_LARGE))
      return
    }
    draft.parts.push(chunk.payload)
    if ((chunk.flags & ChunkFlag.MESSAGE_END) === 0) return
    this.draft = null
    const message: ReassembledMessage = {
      index: draft.index,
      end: chunk.index + 1,
      bytes: concatBytes(...draft.parts),
      startPoint: (draft.flags & ChunkFlag.START_POINT) !== 0,
      timestamp: draft.timestamp
    }
    events.push({ kind: 'message', message })
  }

  private dropDraft(toIndex: number, code: ErrorCode): ReassemblyEvent {
    const fromIndex = this.draft!.index
    this.draft = null
    return { kind: 'gap', gap: { fromIndex, toIndex, code } }
  }
}
