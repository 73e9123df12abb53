// ChildSession against a scripted link: the buffer is the send queue, so a slow
// child never makes the parent hold more than the buffer, and one that falls
// out of the window skips to the latest start point.
import { EventEmitter } from 'eventemitter3'
import { describe, expect, it, vi } from 'vitest'
import { ChildSession } from '../../../src/relay/child-session.js'
import { StreamBuffer, type BufferedChunk } from '../../../src/relay/stream-buffer.js'
import { decodeFrame, encodeFrame, FrameType } from '../../../src/wire/frames.js'
import type { Link } from '../../../src/relay/link.js'

const treeKey = new Uint8Array(32).fill(1)

/** A link whose channel accepts `capacity` frames, then says "stop" until drain(). */
class ScriptedLink extends EventEmitter {
  state: 'connecting' | 'open' | 'closed' = 'connecting'
  sent: Uint8Array[] = []
  capacity = Infinity
  bytesSent = 0
  bytesReceived = 0
  send(frame: Uint8Array): boolean {
    this.sent.push(frame)
    return this.sent.length < this.capacity
  }
  destroy(): void {
    this.state = 'closed'
  }
  open(): void {
    this.state = 'open'
    this.emit('open')
  }
  drain(more: number): void {
    this.capacity = this.sent.length + more
    this.emit('drain')
  }
}

let clock = 0
function chunk(index: number, startPoint = false): BufferedChunk {
  return { index, munroStart: index, messageStart: true, messageEnd: true, startPoint, frame: new Uint8Array([0xc0, index]), receivedAt: clock }
}
function fill(buffer: StreamBuffer, from: number, to: number, startPointEvery = 0): void {
  for (let i = from; i < to; i++) {
    buffer.addMunro({ start: i, count: 1, timestamp: 0, frame: new Uint8Array([0xa0, i]) })
    buffer.add(chunk(i, startPointEvery > 0 && i % startPointEvery === 0))
  }
}
const sentChunks = (link: ScriptedLink) => link.sent.filter((f) => f[0] === 0xc0).map((f) => f[1])

function session(buffer: StreamBuffer) {
  const link = new ScriptedLink()
  const lagged: number[] = []
  const s = new ChildSession('child', link as unknown as Link, buffer, {
    treeKey,
    keepaliveMs: 60_000,
    onClose: () => {},
    onLagged: (_s, skipped) => lagged.push(skipped)
  })
  link.open()
  const handshake = (index: number) => link.emit('frame', encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index, epoch: 0 } }))
  return { s, link, lagged, handshake }
}

describe('ChildSession', () => {
  it('opens with its own handshake and resumes exactly where the child asks, munro before chunk', () => {
    clock = 0
    const buffer = new StreamBuffer({ windowMs: 10_000, maxBytes: 1 << 20, now: () => clock })
    fill(buffer, 0, 10)
    const { link, handshake } = session(buffer)
    const first = decodeFrame(link.sent[0]!)
    expect(first.ok && first.frame.type).toBe(FrameType.HANDSHAKE)
    handshake(6)
    expect(sentChunks(link)).toEqual([6, 7, 8, 9])
    const afterHandshake = link.sent.slice(1).map((f) => f[0])
    expect(afterHandshake).toEqual([0xa0, 0xc0, 0xa0, 0xc0, 0xa0, 0xc0, 0xa0, 0xc0])
  })

  it('stops when the channel pushes back and continues on drain, holding nothing of its own', () => {
    clock = 0
    const buffer = new StreamBuffer({ windowMs: 10_000, maxBytes: 1 << 20, now: () => clock })
    const { s, link, handshake } = session(buffer)
    handshake(0)
    link.capacity = link.sent.length + 3
    fill(buffer, 0, 50)
    s.pump()
    const before = link.sent.length
    s.pump() // no drain yet: nothing more
    expect(link.sent.length).toBe(before)
    link.drain(1_000)
    expect(sentChunks(link)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('moves a child that fell out of the window to the latest start point', () => {
    clock = 0
    const buffer = new StreamBuffer({ windowMs: 1_000, maxBytes: 1 << 20, now: () => clock })
    const { link, lagged, handshake } = session(buffer)
    handshake(0)
    link.capacity = link.sent.length + 2 // a child that stops reading
    for (let i = 0; i < 100; i++) {
      clock += 50
      fill(buffer, i, i + 1, 10)
    }
    expect(buffer.firstIndex).toBeGreaterThan(50)
    link.drain(1_000)
    const got = sentChunks(link)
    expect(lagged.length).toBe(1)
    expect(got[got.length - 1]).toBe(99)
    const resumedAt = got.find((i) => i! > 1)!
    expect(resumedAt % 10).toBe(0) // a start point
    expect(resumedAt).toBeGreaterThanOrEqual(buffer.firstIndex)
  })

  it('serves a newcomer every message that began since the placement named it, though its channel opened later', () => {
    // Before: a newcomer was served from when its channel opened, so what was written between its join and that lost.
    clock = 0
    const buffer = new StreamBuffer({ windowMs: 10_000, maxBytes: 1 << 20, now: () => clock })
    fill(buffer, 0, 5)
    const listedAt = (clock = 1_000)
    fill(buffer, 5, 10)
    clock = 3_000
    const link = new ScriptedLink()
    vi.useFakeTimers({ now: clock })
    try {
      new ChildSession('child', link as unknown as Link, buffer, { treeKey, keepaliveMs: 60_000, onClose: () => {}, listedAt })
      link.open()
      link.emit('frame', encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'latest' } }))
    } finally {
      vi.useRealTimers()
    }
    expect(sentChunks(link)).toEqual([5, 6, 7, 8, 9])
  })

  it('holding nothing yet, continues a child at its index once data of its session arrives', () => {
    // Before: the cursor took the empty buffer's session (none); the first munro changed it, the cursor restarted
    // at the empty buffer's index 0, fell "behind" the first chunk and skipped to the live edge: chunks lost.
    clock = 0
    const buffer = new StreamBuffer({ windowMs: 10_000, maxBytes: 1 << 20, now: () => clock })
    const { s, link } = session(buffer)
    link.emit('frame', encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 5, epoch: 7 } }))
    buffer.reset(7)
    buffer.addMunro({ start: 5, count: 1, timestamp: 0, frame: new Uint8Array([0xa0, 5]) })
    s.pump()
    buffer.add(chunk(5))
    fill(buffer, 6, 10)
    s.pump()
    expect(sentChunks(link)).toEqual([5, 6, 7, 8, 9])
  })
})
