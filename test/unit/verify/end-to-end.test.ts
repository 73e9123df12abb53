// The whole pipeline: StreamSigner -> encoded frames -> (shuffle) -> decodeFrame
// -> ChunkVerifier -> MessageReassembler gives back the source's messages.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { equalBytes } from '../../../src/crypto/bytes.js'
import { ChunkVerifier } from '../../../src/verify/verifier.js'
import { MessageReassembler, type ReassembledMessage } from '../../../src/verify/reassembler.js'
import { FrameType, decodeFrame } from '../../../src/wire/frames.js'
import { NOW, type TestMessage, messageBytes, shuffle, signStream } from './helpers.js'

async function receive(frames: Uint8Array[], publicKey: Uint8Array, start: number | 'start-point' = 0): Promise<ReassembledMessage[]> {
  const verifier = new ChunkVerifier({ publicKey, now: () => NOW, maxPendingChunks: 100_000 })
  const reassembler = new MessageReassembler({ start })
  const out: ReassembledMessage[] = []
  // Frames arrive all at once, in any order; verdicts settle in any order too.
  await Promise.all(
    frames.map(async (bytes) => {
      const decoded = decodeFrame(bytes)
      if (!decoded.ok) throw new Error(decoded.code)
      const frame = decoded.frame
      if (frame.type === FrameType.MUNRO) {
        const r = await verifier.acceptMunro(frame)
        if (!r.ok) throw new Error(r.code)
      } else if (frame.type === FrameType.CHUNK) {
        const r = await verifier.acceptChunk(frame)
        if (!r.ok) throw new Error(r.code)
        const pushed = reassembler.push(frame)
        if (!pushed.ok) throw new Error(pushed.code)
        out.push(...pushed.messages)
      }
    })
  )
  verifier.destroy()
  return out
}

const arbMessages = fc.array(
  fc.record({
    length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 16_000, max: 70_000 })),
    startPoint: fc.boolean(),
    init: fc.boolean()
  }),
  { minLength: 1, maxLength: 12 }
)

describe('end to end', () => {
  it('shuffled frames give back exactly the source messages, in order', async () => {
    await fc.assert(
      fc.asyncProperty(arbMessages, fc.constantFrom(1, 2, 4, 32), fc.nat(), async (specs, munroSpan, seed) => {
        const messages: TestMessage[] = specs.map((s, i) => ({ bytes: messageBytes(s.length, seed + i), startPoint: s.startPoint, init: s.init }))
        const { keys, munros } = await signStream(messages, { munroSpan })
        const frames = shuffle(
          munros.flatMap((m) => m.frames),
          seed
        )
        const got = await receive(frames, keys.publicKey)
        expect(got.length).toBe(messages.length)
        got.forEach((m, i) => {
          expect(equalBytes(m.bytes, messages[i]!.bytes)).toBe(true)
          expect(m.startPoint).toBe(!!messages[i]!.startPoint)
          expect(m.init).toBe(!!messages[i]!.init)
        })
      }),
      { numRuns: 40 }
    )
  })

  it('a late joiner gets every message from its start point on', async () => {
    const messages: TestMessage[] = Array.from({ length: 20 }, (_, i) => ({ bytes: messageBytes(i % 3 === 0 ? 40_000 : 500, i), startPoint: i % 5 === 0 }))
    const { keys, munros } = await signStream(messages, { munroSpan: 4 })
    // Join in the middle: whole munros from the fourth on (it starts inside a message).
    const frames = munros.slice(3).flatMap((m) => m.frames)
    expect(munros[3]!.chunks[0]!.frame.flags & 1).toBe(0)
    const got = await receive(shuffle(frames, 3), keys.publicKey, 'start-point')
    expect(got.length).toBeGreaterThan(0)
    const firstIndex = messages.findIndex((m) => equalBytes(m.bytes, got[0]!.bytes))
    expect(messages[firstIndex]!.startPoint).toBe(true)
    expect(got.map((m) => m.bytes)).toEqual(messages.slice(firstIndex).map((m) => m.bytes))
  })

  it('any single-byte change anywhere in any frame is rejected by the decoder or the verifier', async () => {
    const messages: TestMessage[] = Array.from({ length: 6 }, (_, i) => ({ bytes: messageBytes(i === 2 ? 40_000 : 700, i), startPoint: i === 0 }))
    const { keys, munros } = await signStream(messages, { munroSpan: 4 })
    const frames = munros.flatMap((m) => m.frames)
    const verifier = new ChunkVerifier({ publicKey: keys.publicKey, now: () => NOW, maxPendingChunks: 0 })
    for (const m of munros) expect((await verifier.acceptMunro(m.munro)).ok).toBe(true)
    let byDecoder = 0
    let byVerifier = 0
    await fc.assert(
      fc.asyncProperty(fc.nat(frames.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), async (which, at, xor) => {
        const bytes = frames[which]!.slice()
        bytes[at % bytes.length]! ^= xor
        const decoded = decodeFrame(bytes)
        if (!decoded.ok) return void byDecoder++
        const frame = decoded.frame
        const verdict =
          frame.type === FrameType.MUNRO ? await verifier.acceptMunro(frame) : frame.type === FrameType.CHUNK ? await verifier.acceptChunk(frame) : null
        expect(verdict).not.toBeNull()
        expect(verdict!.ok).toBe(false)
        byVerifier++
      }),
      { numRuns: 1500 }
    )
    expect(byDecoder).toBeGreaterThan(0)
    expect(byVerifier).toBeGreaterThan(0)
    // Nothing the mutations did broke the genuine stream.
    for (const m of munros) for (const c of m.chunks) expect((await verifier.acceptChunk(c.frame)).ok).toBe(true)
  })
})
