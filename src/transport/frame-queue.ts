// A FIFO of frames capped by total bytes. It refuses a push past its cap
// instead of growing: the owner decides what a refusal means (for a relay,
// "this child is too slow, send it to repair").
//
// Frames are held by reference, never copied. Removing from the front is
// O(1): a head index advances and the backing array is compacted now and then.

export class FrameQueue {
  readonly maxBytes: number
  #items: Array<Uint8Array | undefined> = []
  #head = 0
  #bytes = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Bytes held. Never more than `maxBytes`. */
  get bytes(): number {
    return this.#bytes
  }

  /** Frames held. */
  get length(): number {
    return this.#items.length - this.#head
  }

  /** Whether a frame of `byteLength` bytes would fit now. */
  fits(byteLength: number): boolean {
    return this.#bytes + byteLength <= this.maxBytes
  }

  /** Appends `frame`, or returns false (and changes nothing) if it would not fit. */
  push(frame: Uint8Array): boolean {
    if (this.#bytes + frame.byteLength > this.maxBytes) return false
    this.#items.push(frame)
    this.#bytes += frame.byteLength
    return true
  }

  /** The oldest frame, left in place. */
  peek(): Uint8Array | undefined {
    return this.#items[this.#head]
  }

  /** Removes and returns the oldest frame. */
  shift(): Uint8Array | undefined {
    if (this.#head >= this.#items.length) return undefined
    const frame = this.#items[this.#head]!
    this.#items[this.#head] = undefined
    this.#head++
    this.#bytes -= frame.byteLength
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return frame
  }

  clear(): void {
    this.#items = []
    this.#head = 0
    this.#bytes = 0
  }
}
