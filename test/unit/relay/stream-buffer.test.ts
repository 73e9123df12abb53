import { describe, expect, it } from 'vitest'
import { StreamBuffer, type BufferedChunk } from '../../../src/relay/stream-buffer.js'

let clock = 0
const now = () => clock

function chunk(index: number, extra: Partial<BufferedChunk> = {}): BufferedChunk {
  return {
    index,
    munroStart: index - (index % 4),
    messageStart: true,
    messageEnd: true,
    startPoint: false,
    frame: new Uint8Array(100).fill(index & 0xff),
    receivedAt: clock,
    ...extra
  }
}

function buffer(windowMs = 1_000, maxBytes = 1_000_000): StreamBuffer {
  clock = 0
  return new StreamBuffer({ windowMs, maxBytes, now })
}

describe('StreamBuffer', () => {
  it('appends in order, refuses duplicates and stale chunks', () => {
    const b = buffer()
    expect(b.add(chunk(10))).toBe('added')
    expect(b.add(chunk(11))).toBe('added')
    expect(b.add(chunk(11))).toBe('duplicate')
    expect([b.firstIndex, b.endIndex, b.chunkCount]).toEqual([10, 12, 2])
  })

  it('records a jump so cursors skip the hole instead of waiting', () => {
    const b = buffer()
    b.add(chunk(0))
    b.add(chunk(1))
    expect(b.add(chunk(50))).toBe('jumped')
    expect(b.resolve(2)).toEqual({ index: 50, behind: false })
    expect(b.resolve(1)).toEqual({ index: 1, behind: false })
    // A cursor anywhere inside the hole (a child resuming there) also skips to its far side.
    expect(b.resolve(30)).toEqual({ index: 50, behind: false })
    expect(b.resolve(51)).toEqual({ index: 51, behind: false })
    expect(b.add(chunk(3))).toBe('stale')
  })

  it('evicts by time and by bytes, munros with their last chunk, and reports cursors behind', () => {
    const b = buffer(1_000, 500)
    for (let i = 0; i < 8; i++) {
      b.addMunro({ start: i, count: 1, timestamp: 0, frame: new Uint8Array(10) })
      b.add(chunk(i, { munroStart: i }))
      clock += 100
    }
    // 8 chunks of 100 bytes plus 8 munros of 10 do not fit in 500 bytes: the oldest went.
    expect(b.byteSize).toBeLessThanOrEqual(500)
    expect(b.firstIndex).toBeGreaterThan(0)
    expect(b.getMunro(0)).toBeUndefined()
    clock += 5_000
    b.add(chunk(8))
    expect(b.chunkCount).toBe(1)
    expect(b.resolve(3)).toEqual({ index: 8, behind: true })
  })

  it('starts newcomers at the latest start point, else at the first message since they connected', () => {
    const b = buffer()
    b.add(chunk(0, { startPoint: true }))
    b.add(chunk(1))
    clock = 50
    b.add(chunk(2, { messageEnd: false }))
    b.add(chunk(3, { messageStart: false }))
    expect(b.latestStartPoint()).toBe(0)
    const c = buffer()
    c.add(chunk(0))
    clock = 50
    c.add(chunk(1, { messageEnd: false }))
    c.add(chunk(2, { messageStart: false }))
    expect(c.latestStartPoint(40)).toBe(1)
    expect(c.latestStartPoint()).toBe(3)
  })

  it('reset() empties it for a new source session, whose indices start afresh', () => {
    const b = buffer()
    b.reset(7)
    b.addMunro({ start: 500, count: 1, timestamp: 0, frame: new Uint8Array([1]) })
    b.add(chunk(500))
    b.reset(8)
    expect([b.epoch, b.isEmpty, b.byteSize, b.getMunro(500)]).toEqual([8, true, 0, undefined])
    expect(b.add(chunk(0))).toBe('added')
  })

  it('takes a backfill below its oldest chunk, in order, while one was asked for; what the parent skipped is a hole', () => {
    const b = buffer(10_000)
    for (let i = 100; i < 110; i++) b.add(chunk(i))
    expect(b.add(chunk(60))).toBe('stale') // below the oldest and nobody asked: refused
    expect(b.requestBackfill(60)).toBe(true)
    expect(b.requestBackfill(50)).toBe(false) // one at a time
    expect(b.backfillFrom).toBe(60)
    expect(b.resolve(60)).toEqual({ index: 100, behind: true }) // cursors there wait for it (ChildSession)
    for (let i = 60; i < 70; i++) expect(b.add(chunk(i))).toBe('added')
    expect(b.backfillFrom).toBeUndefined()
    for (let i = 75; i < 100; i++) b.add(chunk(i)) // the parent's own hole
    expect(b.add(chunk(100))).toBe('duplicate')
    expect(b.add(chunk(110))).toBe('added')
    expect([b.firstIndex, b.endIndex, b.chunkCount]).toEqual([60, 111, 10 + 25 + 11])
    expect(b.resolve(62)).toEqual({ index: 62, behind: false })
    expect(b.resolve(70)).toEqual({ index: 75, behind: false })
    // The parent started later than asked: asking below where it started again is futile.
    expect(b.requestBackfill(40)).toBe(true)
    b.add(chunk(55))
    b.add(chunk(60))
    expect(b.firstIndex).toBe(55)
    expect(b.requestBackfill(45)).toBe(false)
  })

  it('asks for no backfill once its window has dropped chunks (the parent dropped them too)', () => {
    const b = buffer(1_000)
    b.add(chunk(100))
    clock = 2_000
    b.add(chunk(101))
    expect([b.trimmed, b.firstIndex]).toEqual([true, 101])
    expect(b.requestBackfill(50)).toBe(false)
  })
})
