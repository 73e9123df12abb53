// fast-check generators of valid frames, shared by the wire tests.
import fc from 'fast-check'
import { type Frame, FrameType } from '../../../src/wire/frames.js'
import { MAX_SPAN, maxChunkPayloadBytes } from '../../../src/wire/limits.js'

const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const span = fc.integer({ min: 0, max: Math.log2(MAX_SPAN) }).map((d) => 2 ** d)

const chunk = span.chain((s) =>
  fc
    .record({
      munroStart: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - s }),
      offset: fc.integer({ min: 0, max: s - 1 }),
      flags: fc.integer({ min: 0, max: 7 }),
      proof: bytes(Math.log2(s) * 32),
      // Mostly small payloads, sometimes a full frame.
      payload: fc.oneof(
        { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 19 },
        { arbitrary: fc.constant(new Uint8Array(maxChunkPayloadBytes(s)).fill(s & 255)), weight: 1 }
      )
    })
    .map(({ munroStart, offset, flags, proof, payload }): Frame => ({
      type: FrameType.CHUNK,
      index: munroStart + offset,
      munroStart,
      span: s,
      flags,
      proof,
      payload
    }))
)

const munro = span.chain((s) =>
  fc
    .record({
      epoch: u64,
      start: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - s }),
      count: fc.integer({ min: 1, max: s }),
      timestamp: u64,
      root: bytes(32),
      signature: bytes(64)
    })
    .map((m): Frame => ({ type: FrameType.MUNRO, span: s, ...m }))
)

const init = fc
  .record({
    epoch: u64,
    seq: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    atIndex: u64,
    timestamp: u64,
    signature: bytes(64),
    payload: fc.uint8Array({ maxLength: 200 })
  })
  .map((i): Frame => ({ type: FrameType.INIT, ...i }))

const handshake = fc
  .tuple(bytes(32), fc.option(u64, { nil: undefined }), u64)
  .map(([treeKey, index, epoch]): Frame => ({
    type: FrameType.HANDSHAKE,
    treeKey,
    resume: index === undefined ? { kind: 'latest' } : { kind: 'index', index, epoch }
  }))

const keepalive = u64.map((timestamp): Frame => ({ type: FrameType.KEEPALIVE, timestamp }))

/** Any valid frame. */
export const arbFrame: fc.Arbitrary<Frame> = fc.oneof(chunk, munro, init, handshake, keepalive)
