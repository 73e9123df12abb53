// Splitting messages into chunks. A message becomes one or more chunks with
// consecutive indices: the first carries MESSAGE_START, the last MESSAGE_END,
// and every chunk carries the message's START_POINT bit, so a relay or a late
// joiner can tell a start point from any of its chunks. (Init messages are not
// chunked: they travel as INIT frames, see StreamSigner.writeInit.)
import { ChunkFlag } from '../wire/frames.js'

/** Per-message flags a source sets on write. */
export interface MessageFlags {
  /** A late joiner may start here (e.g. a keyframe or a media segment start). */
  startPoint?: boolean
}

/** One piece of a message: a view into the message and its chunk flags. */
export interface ChunkPiece {
  payload: Uint8Array
  flags: number
}

/** The START_POINT bit of a message. */
function messageFlagBits(flags: MessageFlags | undefined): number {
  return flags?.startPoint ? ChunkFlag.START_POINT : 0
}

/** Number of chunks a message of `length` bytes needs. An empty message still takes one chunk. */
export function chunkCount(length: number, maxPayload: number): number {
  return Math.max(1, Math.ceil(length / maxPayload))
}

/**
 * Splits `message` into pieces of at most `maxPayload` bytes (views, no copy).
 * An empty message is one empty piece with MESSAGE_START | MESSAGE_END, so the
 * receiver sees it as a message too.
 */
export function splitMessage(message: Uint8Array, flags: MessageFlags | undefined, maxPayload: number): ChunkPiece[] {
  const common = messageFlagBits(flags)
  const n = chunkCount(message.length, maxPayload)
  const pieces: ChunkPiece[] = new Array(n)
  for (let i = 0; i < n; i++) {
    let bits = common
    if (i === 0) bits |= ChunkFlag.MESSAGE_START
    if (i === n - 1) bits |= ChunkFlag.MESSAGE_END
    pieces[i] = { payload: message.subarray(i * maxPayload, Math.min(message.length, (i + 1) * maxPayload)), flags: bits }
  }
  return pieces
}
