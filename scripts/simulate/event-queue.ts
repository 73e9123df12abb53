// A binary min-heap of timed events for the churn simulation. Ties break by
// insertion order, so a run is a pure function of its seed. (Kept here rather
// than adding a dependency: package.json gains only the `simulate` script.)

interface Entry<T> {
  at: number
  seq: number
  event: T
}

export class EventQueue<T> {
  private readonly heap: Entry<T>[] = []
  private seq = 0

  get size(): number {
    return this.heap.length
  }

  push(at: number, event: T): void {
    const heap = this.heap
    heap.push({ at, seq: this.seq++, event })
    let i = heap.length - 1
    while (i > 0) {
      const up = (i - 1) >> 1
      if (!before(heap[i]!, heap[up]!)) break
      ;[heap[i], heap[up]] = [heap[up]!, heap[i]!]
      i = up
    }
  }

  /** The earliest event and its time, or undefined when empty. */
  pop(): { at: number; event: T } | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
        if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
        i = m
      }
    }
    return { at: top.at, event: top.event }
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
