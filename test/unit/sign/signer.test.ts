import { afterEach, describe, expect, it, vi } from 'vitest'
import { verifySignature } from '../../../src/crypto/ed25519.js'
import { generateKeyPair } from '../../../src/crypto/keys.js'
import { ErrorCode } from '../../../src/errors.js'
import { StreamSigner, type SignedMunro } from '../../../src/sign/munro-signer.js'
import { initSignable, munroSignable } from '../../../src/wire/signed-layouts.js'
import { splitMessage } from '../../../src/sign/chunker.js'
import { ChunkFlag, FrameType, type InitFrame, decodeFrame } from '../../../src/wire/frames.js'
import { MAX_FRAME_BYTES, chunkOverheadBytes, maxChunkPayloadBytes } from '../../../src/wire/limits.js'
import { ChunkVerifier } from '../../../src/verify/verifier.js'
import { concatBytes } from '../../../src/crypto/bytes.js'

const keys = generateKeyPair()
const NOW = 1_700_000_000_000

function collect(signer: StreamSigner): SignedMunro[] {
  const out: SignedMunro[] = []
  signer.on('munro', (m) => out.push(m))
  return out
}

function bytes(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255)
}

afterEach(() => {
  vi.useRealTimers()
})

describe('chunker', () => {
  it('splits with start/end flags and per-message bits on every chunk', () => {
    const pieces = splitMessage(bytes(25), { startPoint: true }, 10)
    expect(pieces.map((p) => p.payload.length)).toEqual([10, 10, 5])
    expect(pieces.map((p) => p.flags)).toEqual([
      ChunkFlag.MESSAGE_START | ChunkFlag.START_POINT,
      ChunkFlag.START_POINT,
      ChunkFlag.MESSAGE_END | ChunkFlag.START_POINT
    ])
    expect(splitMessage(new Uint8Array(0), {}, 10)).toEqual([{ payload: new Uint8Array(0), flags: ChunkFlag.MESSAGE_START | ChunkFlag.MESSAGE_END }])
    expect(splitMessage(bytes(20), undefined, 10).length).toBe(2)
  })
})

describe('StreamSigner', () => {
  it('gives a munro closed before it is full the smallest span holding its chunks; its chunks verify with the shorter proofs', async () => {
    const signer = new StreamSigner({ ...keys, munroSpan: 32, now: () => NOW })
    const out = collect(signer)
    const written = [bytes(1024), bytes(maxChunkPayloadBytes(32) * 2 + 5), bytes(maxChunkPayloadBytes(32) * 4)]
    for (const message of written) {
      signer.write(message)
      signer.flush()
    }
    await signer.settled()
    // 1 chunk -> span 1, 3 chunks -> span 4, 4 chunks -> span 4.
    expect(out.map((m) => [m.munro.count, m.munro.span])).toEqual([
      [1, 1],
      [3, 4],
      [4, 4]
    ])
    const verifier = new ChunkVerifier({ publicKey: keys.publicKey, now: () => NOW })
    const got: Uint8Array[] = []
    for (const m of out) {
      expect(await verifier.acceptMunro(m.munro)).toMatchObject({ ok: true })
      for (const c of m.chunks) {
        expect(c.frame.span).toBe(m.munro.span)
        expect(c.frame.proof.length).toBe(32 * Math.log2(m.munro.span))
        expect(c.bytes.length).toBe(chunkOverheadBytes(m.munro.span) + c.frame.payload.length)
        expect(await verifier.acceptChunk(c.frame)).toEqual({ ok: true })
        got.push(c.frame.payload)
      }
    }
    expect(concatBytes(...got)).toEqual(concatBytes(...written))
    signer.destroy()
  })

  it('fills chunk frames to exactly 16 KiB, indexes them contiguously across munros, and signs each munro', async () => {
    const signer = new StreamSigner({ ...keys, munroSpan: 4, munroDeadlineMs: Infinity, now: () => NOW })
    const out = collect(signer)
    const max = maxChunkPayloadBytes(4)
    expect(signer.maxChunkPayload).toBe(max)
    expect(signer.write(bytes(max * 3 + 1), { startPoint: true })).toEqual({ first: 0, end: 4 })
    expect(signer.write(bytes(10))).toEqual({ first: 4, end: 5 })
    expect(signer.write(bytes(max * 4))).toEqual({ first: 5, end: 9 })
    signer.flush()
    await signer.settled()
    expect(out.map((m) => [m.munro.start, m.munro.count])).toEqual([
      [0, 4],
      [4, 4],
      [8, 1]
    ])
    let expected = 0
    for (const m of out) {
      expect(m.frames[0]).toBe(m.munroBytes)
      expect(m.munro.span).toBe(m.munro.count === 4 ? 4 : 1) // the flushed one-chunk munro: span 1
      expect(m.munro.timestamp).toBe(NOW)
      expect(await verifySignature(keys.publicKey, munroSignable(keys.publicKey, m.munro), m.munro.signature)).toBe(true)
      for (const c of m.chunks) {
        expect(c.frame.index).toBe(expected++)
        expect(c.frame.munroStart).toBe(m.munro.start)
        expect(c.bytes.length).toBeLessThanOrEqual(MAX_FRAME_BYTES)
        const d = decodeFrame(c.bytes)
        expect(d.ok && d.frame.type === FrameType.CHUNK && d.frame.index === c.frame.index).toBe(true)
      }
    }
    expect(out[0]!.chunks[0]!.bytes.length).toBe(MAX_FRAME_BYTES)
    signer.destroy()
  })

  it('signs at the write boundary: no timer, and what one task writes shares one munro', async () => {
    vi.useFakeTimers()
    const signer = new StreamSigner({ ...keys, now: () => NOW })
    const out = collect(signer)
    signer.write(bytes(10))
    signer.write(bytes(10))
    await Promise.resolve() // the end of this task, not a timer
    await signer.settled()
    expect(out.map((m) => [m.munro.start, m.munro.count])).toEqual([[0, 2]])
    signer.write(bytes(10))
    await Promise.resolve()
    await signer.settled()
    expect(out.map((m) => [m.munro.start, m.munro.count])).toEqual([
      [0, 2],
      [2, 1]
    ])
    expect(vi.getTimerCount()).toBe(0)
    signer.destroy()
  })

  it('signs its session (epoch) into every munro, and init messages outside the chunk order', async () => {
    const signer = new StreamSigner({ ...keys, epoch: 42, munroDeadlineMs: Infinity, now: () => NOW })
    const out = collect(signer)
    const initFrames: InitFrame[] = []
    const order: string[] = []
    signer.on('munro', () => order.push('munro'))
    signer.on('init', ({ frame }) => {
      order.push('init')
      initFrames.push(frame)
    })
    signer.write(bytes(5))
    signer.writeInit(bytes(7))
    signer.write(bytes(5))
    signer.writeInit(bytes(8))
    signer.flush()
    await signer.settled()
    expect(order).toEqual(['munro', 'init', 'munro', 'init'])
    const inits = await Promise.all(
      initFrames.map(async (f) => ({ atIndex: f.atIndex, seq: f.seq, ok: await verifySignature(keys.publicKey, initSignable(keys.publicKey, f), f.signature) }))
    )
    expect(inits).toEqual([
      { atIndex: 1, seq: 1, ok: true },
      { atIndex: 2, seq: 2, ok: true }
    ])
    expect(out.map((m) => [m.munro.epoch, m.munro.start])).toEqual([
      [42, 0],
      [42, 1]
    ])
    expect(await verifySignature(keys.publicKey, munroSignable(keys.publicKey, { ...out[0]!.munro, epoch: 41 }), out[0]!.munro.signature)).toBe(false)
    expect(() => signer.writeInit(new Uint8Array(20_000))).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
    signer.destroy()
  })

  it('closes a munro at the deadline after its first chunk', async () => {
    vi.useFakeTimers()
    const signer = new StreamSigner({ ...keys, munroSpan: 32, munroDeadlineMs: 50, now: () => NOW })
    const out = collect(signer)
    signer.write(bytes(100))
    vi.advanceTimersByTime(30)
    signer.write(bytes(100))
    vi.advanceTimersByTime(19)
    await vi.advanceTimersByTimeAsync(0)
    await signer.settled()
    expect(out.length).toBe(0)
    vi.advanceTimersByTime(1)
    await signer.settled()
    expect(out.map((m) => m.munro.count)).toEqual([2])
    // The next munro starts right after, with its own deadline.
    signer.write(bytes(1))
    vi.advanceTimersByTime(50)
    await signer.settled()
    expect(out.map((m) => [m.munro.start, m.munro.count])).toEqual([
      [0, 2],
      [2, 1]
    ])
    signer.destroy()
  })

  it('copies the message: the caller may reuse its buffer at once', async () => {
    const signer = new StreamSigner({ ...keys, munroDeadlineMs: Infinity })
    const out = collect(signer)
    const buf = bytes(50)
    signer.write(buf)
    buf.fill(0)
    signer.flush()
    await signer.settled()
    expect(out[0]!.chunks[0]!.frame.payload).toEqual(bytes(50))
  })

  it('allows empty messages (one empty chunk)', async () => {
    const signer = new StreamSigner({ ...keys, munroDeadlineMs: Infinity })
    const out = collect(signer)
    expect(signer.write(new Uint8Array(0))).toEqual({ first: 0, end: 1 })
    signer.flush()
    await signer.settled()
    expect(out[0]!.chunks[0]!.frame.flags).toBe(ChunkFlag.MESSAGE_START | ChunkFlag.MESSAGE_END)
  })

  it('continues from firstChunkIndex', async () => {
    const signer = new StreamSigner({ ...keys, firstChunkIndex: 2 ** 40, munroDeadlineMs: Infinity })
    const out = collect(signer)
    signer.write(bytes(3))
    signer.flush()
    await signer.settled()
    expect(out[0]!.munro.start).toBe(2 ** 40)
  })

  it('throws coded errors for misuse', () => {
    expect(() => new StreamSigner({ ...keys, publicKey: generateKeyPair().publicKey })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_KEY }))
    expect(() => new StreamSigner({ ...keys, munroSpan: 3 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(() => new StreamSigner({ ...keys, munroSpan: 2048 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(() => new StreamSigner({ ...keys, munroDeadlineMs: -1 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(() => new StreamSigner({ ...keys, epoch: -1 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    const signer = new StreamSigner({ ...keys, maxMessageBytes: 10 })
    expect(() => signer.write(bytes(11))).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }))
    expect(() => signer.write('x' as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    signer.destroy()
    expect(() => signer.write(bytes(1))).toThrow(expect.objectContaining({ code: ErrorCode.DESTROYED }))
    expect(() => signer.flush()).toThrow(expect.objectContaining({ code: ErrorCode.DESTROYED }))
  })

  it('emits nothing after destroy, even for munros already being signed; destroy is idempotent', async () => {
    vi.useFakeTimers()
    const signer = new StreamSigner({ ...keys, munroSpan: 1 })
    const out = collect(signer)
    signer.write(bytes(5)) // closes at once (span 1): signing in flight
    signer.write(bytes(5))
    signer.destroy()
    signer.destroy()
    await signer.settled()
    await vi.advanceTimersByTimeAsync(1000)
    expect(out.length).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
    expect(signer.destroyed).toBe(true)
  })

  it('a throwing listener does not stop later munros', async () => {
    const signer = new StreamSigner({ ...keys, munroSpan: 1 })
    const seen: number[] = []
    const thrown: unknown[] = []
    const onUncaught = (err: unknown) => thrown.push(err)
    process.on('uncaughtException', onUncaught)
    try {
      signer.on('munro', (m) => {
        seen.push(m.munro.start)
        if (m.munro.start === 0) throw new Error('listener bug')
      })
      signer.write(bytes(1))
      signer.write(bytes(1))
      await signer.settled()
      await new Promise((r) => setTimeout(r, 10))
    } finally {
      process.off('uncaughtException', onUncaught)
    }
    expect(seen).toEqual([0, 1])
    expect(thrown.length).toBe(1)
    signer.destroy()
  })
})
