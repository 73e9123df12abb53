import { describe, expect, it } from 'vitest'
import { FrameQueue } from '../../src/transport/frame-queue.js'

describe('FrameQueue', () => {
  it('is FIFO and counts bytes', () => {
    const q = new FrameQueue(100)
    expect(q.push(new Uint8Array(10).fill(1))).toBe(true)
    expect(q.push(new Uint8Array(20).fill(2))).toBe(true)
    expect(q.bytes).toBe(30)
    expect(q.length).toBe(2)
    expect(q.peek()?.[0]).toBe(1)
    expect(q.shift()?.[0]).toBe(1)
    expect(q.shift()?.[0]).toBe(2)
    expect(q.shift()).toBeUndefined()
    expect(q.bytes).toBe(0)
  })

  it('refuses a push past its cap and stays unchanged', () => {
    const q = new FrameQueue(100)
    expect(q.push(new Uint8Array(60))).toBe(true)
    expect(q.fits(40)).toBe(true)
    expect(q.fits(41)).toBe(false)
    expect(q.push(new Uint8Array(41))).toBe(false)
    expect(q.bytes).toBe(60)
    expect(q.length).toBe(1)
    expect(q.push(new Uint8Array(40))).toBe(true)
    expect(q.bytes).toBe(100)
  })

  it('keeps order across compactions', () => {
    const q = new FrameQueue(1 << 30)
    let next = 0
    let expected = 0
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) q.push(Uint8Array.of(next++ & 0xff, (next >> 8) & 0xff))
      for (let i = 0; i < 250; i++) expect(q.shift()?.[0]).toBe(expected++ & 0xff)
    }
    while (q.length > 0) expect(q.shift()?.[0]).toBe(expected++ & 0xff)
    expect(expected).toBe(next)
    expect(q.bytes).toBe(0)
  })

  it('holds frames by reference', () => {
    const q = new FrameQueue(10)
    const frame = new Uint8Array(4)
    q.push(frame)
    expect(q.shift()).toBe(frame)
  })
})
