import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../src/errors.js'
import { MessageReassembler, type VerifiedChunk } from '../../../src/verify/reassembler.js'
import { ChunkFlag } from '../../../src/wire/frames.js'

const S = ChunkFlag.MESSAGE_START
const E = ChunkFlag.MESSAGE_END
const P = ChunkFlag.START_POINT
const I = ChunkFlag.INIT

/** Chunks for messages given as [text, extraFlags, pieces]. */
function chunks(first: number, messages: Array<[string, number, number]>): VerifiedChunk[] {
  const out: VerifiedChunk[] = []
  let index = first
  for (const [text, extra, pieces] of messages) {
    const bytes = new TextEncoder().encode(text)
    const size = Math.ceil(bytes.length / pieces)
    for (let p = 0; p < pieces; p++) {
      const flags = extra | (p === 0 ? S : 0) | (p === pieces - 1 ? E : 0)
      out.push({ index: index++, flags, payload: bytes.subarray(p * size, Math.min(bytes.length, (p + 1) * size)) })
    }
  }
  return out
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)

function pushAll(r: MessageReassembler, list: VerifiedChunk[]): string[] {
  const out: string[] = []
  for (const c of list) {
    const res = r.push(c)
    for (const m of res.messages) out.push(text(m.bytes))
  }
  return out
}

describe('MessageReassembler', () => {
  const stream = chunks(0, [
    ['init segment', I | P, 2],
    ['alpha', 0, 1],
    ['keyframe one', P, 3],
    ['beta', 0, 2],
    ['keyframe two', P, 2],
    ['gamma', 0, 1]
  ])
  const all = ['init segment', 'alpha', 'keyframe one', 'beta', 'keyframe two', 'gamma']

  it('in order', () => {
    const r = new MessageReassembler()
    expect(pushAll(r, stream)).toEqual(all)
    expect(r.nextIndex).toBe(stream.length)
    expect(r.bufferedBytes).toBe(0)
  })

  it('reversed, with duplicates, still in index order, with flags', () => {
    const r = new MessageReassembler()
    const seen: Array<[string, boolean, boolean, number, number]> = []
    for (const c of [...stream].reverse().flatMap((c) => [c, c])) {
      for (const m of r.push(c).messages) seen.push([text(m.bytes), m.startPoint, m.init, m.index, m.end])
    }
    expect(seen).toEqual([
      ['init segment', true, true, 0, 2],
      ['alpha', false, false, 2, 3],
      ['keyframe one', true, false, 3, 6],
      ['beta', false, false, 6, 8],
      ['keyframe two', true, false, 8, 10],
      ['gamma', false, false, 10, 11]
    ])
    expect(pushAll(r, stream)).toEqual([]) // all behind the cursor now
  })

  it("late joiner ('start-point') begins at the first start point that arrives and ignores what is before", () => {
    const r = new MessageReassembler({ start: 'start-point' })
    expect(r.nextIndex).toBeUndefined()
    // Arrives: beta's chunks first (buffered), then keyframe two's start.
    expect(pushAll(r, [stream[7]!, stream[6]!])).toEqual([])
    expect(pushAll(r, [stream[9]!, stream[10]!, stream[8]!])).toEqual(['keyframe two', 'gamma'])
    expect(r.nextIndex).toBe(11)
    expect(r.bufferedBytes).toBe(0)
    expect(pushAll(r, stream.slice(0, 8))).toEqual([])
  })

  it('resume at an index skips a message already under way', () => {
    const r = new MessageReassembler({ start: 4 }) // middle of 'keyframe one' (3..5)
    expect(pushAll(r, stream)).toEqual(['beta', 'keyframe two', 'gamma'])
  })

  it('drops a message over maxMessageBytes (ERR_MESSAGE_TOO_LARGE) and goes on', () => {
    const r = new MessageReassembler({ maxMessageBytes: 8 })
    const codes: string[] = []
    const out: string[] = []
    for (const c of stream) {
      const res = r.push(c)
      if (!res.ok) codes.push(res.code)
      out.push(...res.messages.map((m) => text(m.bytes)))
    }
    expect(out).toEqual(['alpha', 'beta', 'gamma'])
    expect(codes).toEqual([ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.MESSAGE_TOO_LARGE])
  })

  it('a start inside a message drops the partial one (ERR_BAD_MESSAGE)', () => {
    const r = new MessageReassembler()
    r.push({ index: 0, flags: S, payload: new Uint8Array([1]) })
    const res = r.push({ index: 1, flags: S | E, payload: new Uint8Array([2]) })
    expect(res.ok ? 'ok' : res.code).toBe(ErrorCode.BAD_MESSAGE)
    expect(res.messages.map((m) => [...m.bytes])).toEqual([[2]])
  })

  it('bounds the buffer (ERR_BUFFER_FULL) but always takes the chunk at the cursor', () => {
    const r = new MessageReassembler({ maxBufferedBytes: 10, maxAheadChunks: 100 })
    const big = (index: number, flags = S | E) => ({ index, flags, payload: new Uint8Array(6) })
    expect(r.push(big(1)).ok).toBe(true)
    const full = r.push(big(2))
    expect(full.ok ? 'ok' : full.code).toBe(ErrorCode.BUFFER_FULL)
    const res = r.push(big(0))
    expect(res.ok).toBe(true)
    expect(res.messages.map((m) => m.index)).toEqual([0, 1])
    expect(r.push(big(2)).messages.length).toBe(1)
    const far = r.push(big(103))
    expect(far.ok ? 'ok' : far.code).toBe(ErrorCode.BUFFER_FULL)
  })

  it('reports missing ranges and can skip a gap', () => {
    const r = new MessageReassembler({ start: 10 })
    r.push({ index: 12, flags: S | E, payload: new Uint8Array(1) })
    r.push({ index: 15, flags: S, payload: new Uint8Array(1) })
    r.push({ index: 16, flags: E, payload: new Uint8Array(1) })
    expect(r.missingRanges()).toEqual([
      { from: 10, to: 12 },
      { from: 13, to: 15 }
    ])
    expect(r.missingRanges(20)).toEqual([
      { from: 10, to: 12 },
      { from: 13, to: 15 },
      { from: 17, to: 20 }
    ])
    expect(r.missingRanges(20, 1)).toEqual([{ from: 10, to: 12 }])
    const got = r.skipTo(12)
    expect(got.map((m) => m.index)).toEqual([12])
    expect(r.nextIndex).toBe(13)
    expect(r.skipTo(15).map((m) => [m.index, m.end])).toEqual([[15, 17]])
    expect(r.missingRanges()).toEqual([])
  })

  it('rejects bad options', () => {
    expect(() => new MessageReassembler({ start: -1 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(() => new MessageReassembler({ maxBufferedBytes: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
  })
})
