// The init messages (codec setup) of the current source session, as verified,
// encoded INIT frames. They live outside the chunk window and its index order:
// each applies to the chunks from its `atIndex` on, so a child about to be
// sent chunk i first gets the init message due at i if it has not had it. A
// newcomer thus gets the init its start point needs, a reconnecting child
// loses nothing, and a new init never displaces the data it belongs to.
import type { InitFrame } from '../wire/frames.js'

export interface CachedInit {
  epoch: number
  seq: number
  atIndex: number
  timestamp: number
  /** The encoded INIT frame, forwarded as is. */
  frame: Uint8Array
}

/** Inits kept: the newest, and older ones still due somewhere in the window. */
const MAX_INITS = 8

export class InitCache {
  /** Ascending seq. */
  private list: CachedInit[] = []

  /** The newest init message, if any. */
  get latest(): CachedInit | undefined {
    return this.list[this.list.length - 1]
  }

  /** Takes a verified init; false (and ignored) unless it is newer than every one held. */
  add(frame: InitFrame, bytes: Uint8Array): boolean {
    const latest = this.latest
    if (latest && (frame.epoch < latest.epoch || (frame.epoch === latest.epoch && frame.seq <= latest.seq))) return false
    if (latest && frame.epoch > latest.epoch) this.list = []
    this.list.push({ epoch: frame.epoch, seq: frame.seq, atIndex: frame.atIndex, timestamp: frame.timestamp, frame: bytes })
    if (this.list.length > MAX_INITS) this.list.shift()
    return true
  }

  /** The init message that applies to chunk `index`: the newest with atIndex <= index. */
  due(index: number): CachedInit | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.atIndex <= index) return this.list[i]
    return undefined
  }

  /** Drops inits no chunk from `firstIndex` on needs any more (a later one is already due there). */
  prune(firstIndex: number): void {
    while (this.list.length > 1 && this.list[1]!.atIndex <= firstIndex) this.list.shift()
  }

  clear(): void {
    this.list = []
  }
}
