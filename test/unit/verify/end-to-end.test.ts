// The whole path: StreamSigner -> encoded frames -> decodeFrame ->
// VerifyPipeline (ChunkVerifier, StreamBuffer, MessageReassembler) gives back
// the source's messages, init messages included, exactly and in order.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { equalBytes } from '../../../src/crypto/bytes.js'
import { StreamBuffer } from '../../../src/relay/stream-buffer.js'
import { VerifyPipeline, type MunroMessage } from '../../../src/relay/verify-pipeline.js'
import { ChunkVerifier } from '../../../src/verify/verifier.js'
import { FrameType, decodeFrame } from '../../../src/wire/frames.js'
import { NOW, type TestMessage, messageBytes, signStream } from './helpers.js'

async function receive(frames: Uint8Array[], publicKey: Uint8Array): Promise<MunroMessage[]> {
  const verifier = new ChunkVerifier({ publicKey, now: () => NOW })
  const pipeline = new VerifyPipeline({ verifier, buffer: new StreamBuffer({ windowMs: 60_000, maxBytes: 1 << 26 }), maxMessageBytes: 1 << 20 })
  const out: MunroMessage[] = []
  pipeline.on('message', (m) => out.push(m))
  pipeline.on('rejected', (r) => {
    throw new Error(r.code)
  })
  const source = { isOpen: true }
  for (const bytes of frames) {
    const decoded = decodeFrame(bytes)
    if (!decoded.ok) throw new Error(decoded.code)
    const f = decoded.frame
    if (f.type === FrameType.MUNRO || f.type === FrameType.CHUNK || f.type === FrameType.INIT) pipeline.push(f, bytes, source)
  }
  while (pipeline.queueLength > 0) await new Promise((r) => setTimeout(r, 1))
  pipeline.destroy()
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
  it('gives back exactly the source messages, in order', async () => {
    await fc.assert(
      fc.asyncProperty(arbMessages, fc.constantFrom(1, 2, 4, 32), fc.nat(), async (specs, munroSpan, seed) => {
        const messages: TestMessage[] = specs.map((s, i) => ({
          bytes: messageBytes(s.init ? s.length % 2000 : s.length, seed + i),
          startPoint: s.startPoint && !s.init,
          init: s.init
        }))
        const { keys, frames } = await signStream(messages, { munroSpan })
        const got = await receive(frames, keys.publicKey)
        // A repeated identical init is still a new one (a higher seq): every one is delivered.
        expect(got.length).toBe(messages.length)
        got.forEach((m, i) => {
          expect(equalBytes(m.data, messages[i]!.bytes)).toBe(true)
          expect(m.startPoint).toBe(!!messages[i]!.startPoint)
          expect(m.init).toBe(!!messages[i]!.init)
          expect(m.gap).toBe(false)
        })
      }),
      { numRuns: 40 }
    )
  })

  it('any single-byte change anywhere in any frame is rejected by the decoder or the verifier', async () => {
    const messages: TestMessage[] = Array.from({ length: 6 }, (_, i) => ({ bytes: messageBytes(i === 2 ? 40_000 : 700, i), startPoint: i === 0 }))
    const { keys, munros } = await signStream(messages, { munroSpan: 4 })
    const frames = munros.flatMap((m) => m.frames)
    const verifier = new ChunkVerifier({ publicKey: keys.publicKey, now: () => NOW })
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
