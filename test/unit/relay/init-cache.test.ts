// Init messages live beside the window, outside its index order.
import { describe, expect, it } from 'vitest'
import { InitCache } from '../../../src/relay/init-cache.js'
import { FrameType, type InitFrame } from '../../../src/wire/frames.js'

function init(epoch: number, seq: number, atIndex: number): InitFrame {
  return { type: FrameType.INIT, epoch, seq, atIndex, timestamp: 0, signature: new Uint8Array(64), payload: new Uint8Array([seq]) }
}
const frame = (seq: number) => new Uint8Array([seq])

describe('InitCache', () => {
  it('takes only newer init messages and gives each chunk the one due at its index', () => {
    const c = new InitCache()
    expect(c.add(init(1, 1, 0), frame(1))).toBe(true)
    expect(c.add(init(1, 2, 100), frame(2))).toBe(true)
    expect(c.add(init(1, 2, 100), frame(2))).toBe(false) // a repeat is not news
    expect(c.add(init(1, 1, 0), frame(1))).toBe(false) // nor an older one
    expect(c.due(50)?.seq).toBe(1) // data before the newer init still needs the older one
    expect(c.due(100)?.seq).toBe(2)
    expect(c.latest?.seq).toBe(2)
    c.prune(100)
    expect(c.due(50)).toBeUndefined()
    expect(c.due(120)?.seq).toBe(2)
  })

  it('a newer session replaces everything; an older one is refused', () => {
    const c = new InitCache()
    c.add(init(5, 9, 1000), frame(9))
    expect(c.add(init(4, 20, 0), frame(20))).toBe(false)
    expect(c.add(init(6, 1, 0), frame(1))).toBe(true)
    expect([c.due(0)?.epoch, c.due(2000)?.seq]).toEqual([6, 1])
  })
})
