import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import golden from '../../vectors/frames.json' with { type: 'json' }
import { bytesToHex, equalBytes, hexToBytes } from '../../../src/crypto/bytes.js'
import { ErrorCode } from '../../../src/errors.js'
import { type Frame, FrameType, decodeFrame, encodeFrame, peekFrameHeader } from '../../../src/wire/frames.js'
import { MAX_FRAME_BYTES, chunkOverheadBytes, maxChunkPayloadBytes } from '../../../src/wire/limits.js'
import { arbFrame } from './frame-arbitraries.js'

/** JSON vector form (hex strings) back to a frame. */
function fromJson(obj: Record<string, unknown>): Frame {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = typeof v === 'string' && k !== 'kind' ? hexToBytes(v) : v
  return out as unknown as Frame
}

function decodeOk(bytes: Uint8Array | ArrayBuffer): Frame {
  const r = decodeFrame(bytes)
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`)
  return r.frame
}

function expectCode(bytes: Uint8Array, code: string): void {
  const r = decodeFrame(bytes)
  expect(r.ok ? 'ok' : r.code).toBe(code)
}

const sample = (i: number) => hexToBytes(golden.frames[i]!.hex)

describe('frames: golden encodings', () => {
  for (const g of golden.frames) {
    it(g.name, () => {
      const frame = fromJson(g.frame)
      expect(bytesToHex(encodeFrame(frame))).toBe(g.hex)
      expect(decodeOk(hexToBytes(g.hex))).toEqual(frame)
    })
  }

  it('small layouts, written out by hand', () => {
    expect(bytesToHex(encodeFrame({ type: FrameType.KEEPALIVE, timestamp: 2 ** 32 }))).toBe('0205' + '0000000100000000')
    const init = encodeFrame({ type: FrameType.INIT, epoch: 5, seq: 2, atIndex: 258, timestamp: 1, signature: new Uint8Array(64).fill(0xaa), payload: new Uint8Array([7]) })
    expect(bytesToHex(init)).toBe('0204' + '0000000000000005' + '00000002' + '0000000000000102' + '0000000000000001' + 'aa'.repeat(64) + '00000001' + '07')
    const chunk = encodeFrame({ type: FrameType.CHUNK, index: 3, munroStart: 2, span: 2, flags: 1, proof: new Uint8Array(32).fill(0xee), payload: new Uint8Array([9]) })
    expect(bytesToHex(chunk)).toBe('0203' + '0000000000000003' + '0000000000000002' + '00000002' + '01' + 'ee'.repeat(32) + '00000001' + '09')
  })
})

describe('frames: round trip', () => {
  it('decode(encode(f)) equals f, and encode is canonical', () => {
    fc.assert(
      fc.property(arbFrame, (frame) => {
        const bytes = encodeFrame(frame)
        expect(bytes.length).toBeLessThanOrEqual(MAX_FRAME_BYTES)
        const back = decodeOk(bytes)
        expect(back).toEqual(frame)
        expect(equalBytes(encodeFrame(back), bytes)).toBe(true)
      }),
      { numRuns: 2000 }
    )
  })

  it('any single-byte change is rejected or decodes to a different frame', () => {
    fc.assert(
      fc.property(arbFrame, fc.nat(), fc.integer({ min: 1, max: 255 }), (frame, at, xor) => {
        const bytes = encodeFrame(frame)
        const mutated = bytes.slice()
        mutated[at % bytes.length]! ^= xor
        const r = decodeFrame(mutated)
        if (r.ok) expect(r.frame).not.toEqual(frame)
      }),
      { numRuns: 3000 }
    )
  })

  it('decoded byte fields are views into the input, not copies', () => {
    const bytes = sample(3)
    const frame = decodeOk(bytes)
    if (frame.type !== FrameType.CHUNK) throw new Error('expected a chunk')
    expect(frame.payload.buffer).toBe(bytes.buffer)
    expect(frame.proof.buffer).toBe(bytes.buffer)
  })

  it('accepts an ArrayBuffer and a subarray with an offset', () => {
    const bytes = sample(5)
    expect(decodeOk(bytes.slice().buffer)).toEqual(decodeOk(bytes))
    const padded = new Uint8Array(bytes.length + 5)
    padded.set(bytes, 5)
    expect(decodeOk(padded.subarray(5))).toEqual(decodeOk(bytes))
  })

  it('a full chunk frame is exactly MAX_FRAME_BYTES', () => {
    for (const span of [1, 2, 32, 1024]) {
      const payload = new Uint8Array(maxChunkPayloadBytes(span))
      const bytes = encodeFrame({ type: FrameType.CHUNK, index: 0, munroStart: 0, span, flags: 0, proof: new Uint8Array(Math.log2(span) * 32), payload })
      expect(bytes.length).toBe(MAX_FRAME_BYTES)
      expect(chunkOverheadBytes(span) + payload.length).toBe(MAX_FRAME_BYTES)
    }
  })
})

describe('frames: rejections carry exact codes', () => {
  const patch = (bytes: Uint8Array, at: number, ...values: number[]) => {
    const b = bytes.slice()
    values.forEach((v, i) => (b[at + i] = v))
    return b
  }
  const concat = (a: Uint8Array, extra: number[]) => new Uint8Array([...a, ...extra])

  it('header', () => {
    expectCode(new Uint8Array(0), ErrorCode.BAD_FRAME)
    expectCode(new Uint8Array([1]), ErrorCode.BAD_FRAME)
    expectCode(patch(sample(5), 0, 1), ErrorCode.UNSUPPORTED_VERSION) // version 1 (before epochs) is refused
    expectCode(patch(sample(5), 1, 6), ErrorCode.UNKNOWN_FRAME_TYPE)
    expectCode(patch(sample(5), 0, 0), ErrorCode.UNSUPPORTED_VERSION)
    expectCode(patch(sample(5), 1, 0), ErrorCode.UNKNOWN_FRAME_TYPE)
    expectCode(patch(sample(5), 1, 7), ErrorCode.UNKNOWN_FRAME_TYPE)
    expectCode(new Uint8Array(MAX_FRAME_BYTES + 1).fill(1), ErrorCode.FRAME_TOO_LARGE)
    expectCode('nope' as unknown as Uint8Array, ErrorCode.BAD_FRAME)
    expect(peekFrameHeader(patch(sample(5), 0, 9))).toEqual({ version: 9, type: FrameType.INIT })
  })

  it('trailing and missing bytes, every type', () => {
    for (let i = 0; i < golden.frames.length; i++) {
      const bytes = sample(i)
      expectCode(concat(bytes, [0]), ErrorCode.BAD_FRAME)
      expectCode(bytes.subarray(0, bytes.length - 1), ErrorCode.BAD_FRAME)
      expectCode(bytes.subarray(0, 2), ErrorCode.BAD_FRAME)
    }
  })

  it('chunk fields', () => {
    const chunk = sample(3) // index 4098, munro 4096, span 4, flags 6
    expectCode(patch(chunk, 21, 3), ErrorCode.BAD_FRAME) // span 3
    expectCode(patch(chunk, 21, 0), ErrorCode.BAD_FRAME) // span 0
    expectCode(patch(chunk, 18, 0, 0, 8, 0), ErrorCode.BAD_FRAME) // span 2048 > MAX_SPAN
    expectCode(patch(chunk, 22, 0x16), ErrorCode.BAD_FRAME) // reserved flag bit
    expectCode(patch(chunk, 22, 0x0e), ErrorCode.BAD_FRAME) // version 1's INIT bit: reserved now
    expectCode(patch(chunk, 9, 0x04), ErrorCode.BAD_FRAME) // index 4100: past munro span
    expectCode(patch(chunk, 17, 0x03), ErrorCode.BAD_FRAME) // munro start 4099 > index
    expectCode(patch(chunk, 2, 0x00, 0x20), ErrorCode.BAD_FRAME) // index >= 2^53
    expectCode(patch(chunk, 21, 2), ErrorCode.BAD_FRAME) // span 2: proof shorter, length prefix misread
    const lengthAt = 23 + 64
    expectCode(patch(chunk, lengthAt + 3, 12), ErrorCode.BAD_FRAME) // declared 12, carries 11
    expectCode(patch(chunk, lengthAt, 0xff), ErrorCode.BAD_FRAME) // huge declared length
  })

  it('munro fields', () => {
    const munro = sample(2) // epoch, start 4096, count 3, span 4
    expectCode(patch(munro, 21, 0), ErrorCode.BAD_FRAME) // count 0
    expectCode(patch(munro, 21, 5), ErrorCode.BAD_FRAME) // count > span
    expectCode(patch(munro, 25, 6), ErrorCode.BAD_FRAME) // span 6
    expectCode(patch(munro, 2, 0x00, 0x20), ErrorCode.BAD_FRAME) // epoch >= 2^53
    expectCode(patch(munro, 10, 0x00, 0x20), ErrorCode.BAD_FRAME) // start >= 2^53
    expectCode(patch(munro, 10, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), ErrorCode.BAD_FRAME) // range ends past 2^53-1
    expectCode(patch(munro, 26, 0xff), ErrorCode.BAD_FRAME) // timestamp >= 2^53
  })

  it('init, keepalive and handshake fields', () => {
    const init = sample(5) // payload 'init segment' (12 bytes)
    expectCode(patch(init, 14, 0xff), ErrorCode.BAD_FRAME) // atIndex >= 2^53
    expectCode(patch(init, 2, 0xff), ErrorCode.BAD_FRAME) // epoch >= 2^53
    expectCode(patch(init, 97, 13), ErrorCode.BAD_FRAME) // declared 13, carries 12
    expectCode(patch(sample(6), 2, 0x01), ErrorCode.BAD_FRAME) // keepalive >= 2^53
    const latest = sample(1)
    expectCode(patch(latest, 34, 2), ErrorCode.BAD_FRAME) // unknown resume kind
    expectCode(patch(latest, 42, 1), ErrorCode.BAD_FRAME) // 'latest' carrying an epoch
    expectCode(patch(latest, 50, 1), ErrorCode.BAD_FRAME) // 'latest' carrying an index
    expectCode(patch(sample(0), 43, 0xff), ErrorCode.BAD_FRAME) // resume index >= 2^53
    expectCode(patch(sample(0), 35, 0xff), ErrorCode.BAD_FRAME) // resume epoch >= 2^53
  })

  it('encoder refuses what the decoder would refuse', () => {
    const bad: Array<[Frame, string]> = [
      [{ type: FrameType.CHUNK, index: 0, munroStart: 0, span: 3, flags: 0, proof: new Uint8Array(0), payload: new Uint8Array(0) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.CHUNK, index: 0, munroStart: 0, span: 1, flags: 16, proof: new Uint8Array(0), payload: new Uint8Array(0) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.CHUNK, index: 0, munroStart: 0, span: 2, flags: 0, proof: new Uint8Array(0), payload: new Uint8Array(0) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.CHUNK, index: 0, munroStart: 0, span: 1, flags: 0, proof: new Uint8Array(0), payload: new Uint8Array(MAX_FRAME_BYTES) }, ErrorCode.FRAME_TOO_LARGE],
      [{ type: FrameType.MUNRO, epoch: 0, start: 0, count: 0, span: 1, timestamp: 0, root: new Uint8Array(32), signature: new Uint8Array(64) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.MUNRO, epoch: 0, start: 0, count: 1, span: 1, timestamp: 0, root: new Uint8Array(31), signature: new Uint8Array(64) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.MUNRO, epoch: -1, start: 0, count: 1, span: 1, timestamp: 0, root: new Uint8Array(32), signature: new Uint8Array(64) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.INIT, epoch: 0, seq: 2 ** 32, atIndex: 0, timestamp: 0, signature: new Uint8Array(64), payload: new Uint8Array(0) }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.INIT, epoch: 0, seq: 0, atIndex: 0, timestamp: 0, signature: new Uint8Array(64), payload: new Uint8Array(MAX_FRAME_BYTES) }, ErrorCode.FRAME_TOO_LARGE],
      [{ type: FrameType.KEEPALIVE, timestamp: -1 }, ErrorCode.INVALID_ARGUMENT],
      [{ type: FrameType.HANDSHAKE, treeKey: new Uint8Array(32), resume: { kind: 'index', index: 1.5, epoch: 0 } }, ErrorCode.INVALID_ARGUMENT],
      [{ type: 99 } as unknown as Frame, ErrorCode.INVALID_ARGUMENT]
    ]
    for (const [frame, code] of bad) expect(() => encodeFrame(frame), JSON.stringify(frame.type)).toThrow(expect.objectContaining({ code }))
  })
})
