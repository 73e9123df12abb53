// What the container splitters share: the message they cut, and the byte
// window that carries unfinished bytes from one recorder blob to the next.
import { ErrorCode, MunroError } from '../errors.js'

/** One self-contained piece of a recording, in the order it was recorded. */
export interface ContainerMessage {
  /** Its bytes (a copy: the caller owns them). */
  data: Uint8Array
  /** The initialization segment (WebM header + Info + Tracks, or MP4 ftyp + moov). */
  init: boolean
  /** A player may start here: the first video frame is a keyframe. */
  startPoint: boolean
  /** Media time (ms) of the first and of the last video frame in it (any frame when there is no video track); null without frames. */
  startMs: number | null
  endMs: number | null
}

/**
 * A streaming splitter: feed it recorder blobs as they come, at any byte
 * boundary; it returns each message once its last byte has arrived.
 */
export interface ContainerSplitter {
  push(bytes: Uint8Array): ContainerMessage[]
  /** The recording ended: returns what was still open, throws ERR_BAD_CONTAINER if it stops mid-element. */
  end(): ContainerMessage[]
}

export function badContainer(message: string): MunroError {
  return new MunroError(ErrorCode.BAD_CONTAINER, message)
}

/**
 * Bytes received but not yet handed out. `pos` is how far parsing got,
 * `start` where the current message began; both index `bytes`.
 */
export class ByteWindow {
  bytes = new Uint8Array(0)
  pos = 0
  start = 0

  append(more: Uint8Array): void {
    const kept = this.bytes.subarray(this.start)
    const next = new Uint8Array(kept.length + more.length)
    next.set(kept)
    next.set(more, kept.length)
    this.bytes = next
    this.pos -= this.start
    this.start = 0
  }

  get available(): number {
    return this.bytes.length - this.pos
  }

  /** Cuts [start, end) out as an owned message and starts the next one at `end`. */
  take(end: number): Uint8Array {
    const data = this.bytes.slice(this.start, end)
    this.start = end
    return data
  }
}

export function readUint(bytes: Uint8Array, at: number, length: number): number {
  let value = 0
  for (let i = 0; i < length; i++) value = value * 256 + bytes[at + i]!
  return value
}
