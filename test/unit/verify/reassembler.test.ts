import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../src/errors.js'
import { MessageReassembler, type ReassemblyEvent, type VerifiedChunk } from '../../../src/verify/reassembler.js'
import { ChunkFlag } from '../../../src/wire/frames.js'

const S = ChunkFlag.MESSAGE_START
const E = ChunkFlag.MESSAGE_END
const P = ChunkFlag.START_POINT

/** Chunks for messages given as [text, extraFlags, pieces]; a null text is a heartbeat. */
function chunks(first: number, messages: Array<[string | null, number, number]>): VerifiedChunk[] {
  const out: VerifiedChunk[] = []
  let index = first
  for (const [text, extra, pieces] of messages) {
    if (text === null) {
      out.push({ index: index++, flags: 0, payload: new Uint8Array(0), timestamp: 0 })
      continue
    }
    const bytes = new TextEncoder().encode(text)
    const size = Math.ceil(bytes.length / pieces)
    for (let p = 0; p < pieces; p++) {
      const flags = extra | (p === 0 ? S : 0) | (p === pieces - 1 ? E : 0)
      out.push({ index: index, flags, payload: bytes.subarray(p * size, Math.min(bytes.length, (p + 1) * size)), timestamp: 1000 + index++ })
    }
  }
  return out
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)

function pushAll(r: MessageReassembler, list: VerifiedChunk[]): string[] {
  const out: string[] = []
  const show = (e: ReassemblyEvent) =>
    e.kind === 'message' ? text(e.message.bytes) : `gap ${e.gap.fromIndex}-${e.gap.toIndex}${e.gap.code ? ' ' + e.gap.code : ''}`
  for (const c of list) for (const e of r.push(c)) out.push(show(e))
  return out
}

describe('MessageReassembler', () => {
  it('gives back messages in order, with the start point flag and the first chunk timestamp; skips heartbeats', () => {
    const r = new MessageReassembler()
    const list = chunks(10, [['alpha', P, 1], [null, 0, 1], ['a longer message', 0, 3]])
    const events = list.flatMap((c) => r.push(c))
    expect(events.map((e) => e.kind === 'message' && [text(e.message.bytes), e.message.index, e.message.end, e.message.startPoint, e.message.timestamp])).toEqual([
      ['alpha', 10, 11, true, 1010],
      ['a longer message', 12, 15, false, 1012]
    ])
    expect(r.nextIndex).toBe(15)
  })

  it('delivers a copy: the bytes never alias the chunk payloads', () => {
    const r = new MessageReassembler()
    const [c] = chunks(0, [['x', 0, 1]])
    const [e] = r.push(c!)
    expect(e?.kind === 'message' && e.message.bytes.buffer !== c!.payload.buffer).toBe(true)
  })

  it('starts anywhere: the message already under way at the first chunk is skipped, without a gap', () => {
    const r = new MessageReassembler()
    expect(pushAll(r, chunks(0, [['abcdef', 0, 3], ['next', 0, 1]]).slice(1))).toEqual(['next'])
  })

  it('a jump forward drops the message under way and reports the gap', () => {
    const r = new MessageReassembler()
    const list = chunks(0, [['one', 0, 1], ['two parts', 0, 2], ['three', 0, 1], ['four', 0, 1]])
    expect(pushAll(r, [list[0]!, list[1]!, list[4]!])).toEqual(['one', 'gap 1-4', 'four'])
    expect(r.push(list[3]!)).toEqual([]) // behind the cursor: ignored
  })

  it('drops a message over maxMessageBytes (ERR_MESSAGE_TOO_LARGE) as a gap and goes on', () => {
    const r = new MessageReassembler({ maxMessageBytes: 6 })
    expect(pushAll(r, chunks(0, [['ok', 0, 1], ['much too long', 0, 3], ['fine', 0, 1]]))).toEqual(['ok', `gap 1-3 ${ErrorCode.MESSAGE_TOO_LARGE}`, 'fine'])
  })

  it('a start inside a message drops the partial one (ERR_BAD_MESSAGE) and keeps the new one', () => {
    const r = new MessageReassembler()
    const list = chunks(0, [['abcd', 0, 2], ['xy', 0, 1]])
    expect(pushAll(r, [list[0]!, { ...list[2]!, index: 1 }])).toEqual([`gap 0-1 ${ErrorCode.BAD_MESSAGE}`, 'xy'])
  })

  it('reset() forgets the position (a new source session restarts at any index)', () => {
    const r = new MessageReassembler()
    pushAll(r, chunks(100, [['a', 0, 1]]))
    r.reset()
    expect(pushAll(r, chunks(0, [['b', 0, 1]]))).toEqual(['b'])
  })

  it('rejects bad options', () => {
    expect(() => new MessageReassembler({ maxMessageBytes: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
  })
})
