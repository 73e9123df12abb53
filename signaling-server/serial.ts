/**
 * Runs async operations one at a time per key. Tree operations interleave
 * across awaits once the registry is remote (Redis); serializing them per tree
 * keeps each join/leave/report atomic from the handlers' point of view.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.catch(() => undefined)
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  get size(): number {
    return this.tails.size
  }
}
