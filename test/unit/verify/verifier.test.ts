import { describe, expect, it } from 'vitest'
import { generateKeyPair, treeIdFromPublicKey } from '../../../src/crypto/keys.js'
import { ErrorCode } from '../../../src/errors.js'
import { ChunkVerifier, type ChunkVerifierOptions } from '../../../src/verify/verifier.js'
import { type ChunkFrame, FrameType, type MunroFrame, encodeFrame } from '../../../src/wire/frames.js'
import { NOW, chunkOf, messageBytes, munroOf, signStream } from './helpers.js'

const make = (publicKey: Uint8Array, options: Partial<ChunkVerifierOptions> = {}) => new ChunkVerifier({ publicKey, now: () => NOW, ...options })
const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code)

// Two munros of span 4: chunks 0..3 and 4..6.
const stream = await signStream(
  Array.from({ length: 7 }, (_, i) => ({ bytes: messageBytes(100 + i, i) })),
  { munroSpan: 4 }
)
const [m0, m1] = stream.munros as [(typeof stream.munros)[0], (typeof stream.munros)[0]]
const pk = stream.keys.publicKey

describe('ChunkVerifier: accepts', () => {
  it('a signed stream, munro first', async () => {
    const v = make(pk)
    for (const m of [m0, m1]) {
      expect(code(await v.acceptMunro(m.munro))).toBe('ok')
      for (const c of m.chunks) expect(code(await v.acceptChunk(c.frame))).toBe('ok')
    }
    expect(v.munroCount).toBe(2)
  })

  it('by tree id too, and repeated chunks', async () => {
    const v = new ChunkVerifier({ treeId: treeIdFromPublicKey(pk), now: () => NOW })
    expect(code(await v.acceptMunro(m0.munro))).toBe('ok')
    expect(code(await v.acceptChunk(m0.chunks[2]!.frame))).toBe('ok')
    expect(code(await v.acceptChunk(m0.chunks[2]!.frame))).toBe('ok')
  })

  it('identical munro copies share one verification', async () => {
    const v = make(pk)
    const a = v.acceptMunro(munroOf(m0.munroBytes.slice()))
    const b = v.acceptMunro(munroOf(m0.munroBytes.slice()))
    expect(b).toBe(a)
    expect(code(await a)).toBe('ok')
    expect(code(await v.acceptMunro(m0.munro))).toBe('ok')
  })

  it('a chunk whose munro is being verified awaits it', async () => {
    const v = make(pk)
    const munro = v.acceptMunro(m0.munro)
    const chunk = v.acceptChunk(m0.chunks[1]!.frame)
    expect(code(await chunk)).toBe('ok')
    expect(code(await munro)).toBe('ok')
  })

  it('a munro signed at any local clock: freshness is judged against the stream (viewer clock 30 s behind, 10 min ahead)', async () => {
    for (const offset of [-30_000, 600_000]) {
      const v = make(pk, { now: () => NOW + offset })
      expect(code(await v.acceptMunro(m0.munro))).toBe('ok')
      expect(code(await v.acceptMunro(m1.munro))).toBe('ok')
      expect(v.streamNow()).toBe(NOW)
    }
  })

  it('a newer source session (epoch) replaces the old one; the old one is refused from then on', async () => {
    const restarted = await signStream([{ bytes: messageBytes(100, 9) }], { munroSpan: 4, keys: stream.keys, epoch: 2 })
    const v = make(pk)
    expect(await v.acceptMunro(m0.munro)).toEqual({ ok: true, newEpoch: false, fresher: true })
    // Same indices, new session: no conflict, the verifier follows it.
    expect(await v.acceptMunro(restarted.munros[0]!.munro)).toEqual({ ok: true, newEpoch: true, fresher: true })
    expect(v.epoch).toBe(2)
    expect(code(await v.acceptChunk(restarted.munros[0]!.chunks[0]!.frame))).toBe('ok')
    expect(code(await v.acceptMunro(m1.munro))).toBe(ErrorCode.STALE_EPOCH)
    // A forgery claiming the old session is still a forgery.
    expect(code(await v.acceptMunro({ ...m1.munro, signature: new Uint8Array(64) }))).toBe(ErrorCode.BAD_SIGNATURE)
  })

  it('only a newer timestamp is fresher', async () => {
    const v = make(pk)
    expect(await v.acceptMunro(m0.munro)).toMatchObject({ ok: true, fresher: true })
    expect(await v.acceptMunro(m0.munro)).toMatchObject({ ok: true, fresher: false }) // a repeat
    expect(await v.acceptMunro(m1.munro)).toMatchObject({ ok: true, fresher: false }) // same timestamp
  })
})

describe('ChunkVerifier: rejects, with exact codes', () => {
  it('a munro replayed at another position: ERR_BAD_SIGNATURE', async () => {
    const v = make(pk)
    const moved: MunroFrame = { ...m0.munro, start: 100 }
    expect(code(await v.acceptMunro(moved))).toBe(ErrorCode.BAD_SIGNATURE)
    expect(code(await v.acceptMunro({ ...m0.munro, count: 3 }))).toBe(ErrorCode.BAD_SIGNATURE)
    expect(code(await v.acceptMunro({ ...m0.munro, timestamp: NOW - 1 }))).toBe(ErrorCode.BAD_SIGNATURE)
    expect(code(await v.acceptMunro({ ...m0.munro, span: 8 }))).toBe(ErrorCode.BAD_SIGNATURE)
  })

  it('a munro of another tree: ERR_BAD_SIGNATURE; a handshake of another tree: ERR_WRONG_TREE', async () => {
    const other = await signStream([{ bytes: messageBytes(100, 0) }], { munroSpan: 4 })
    const v = make(pk)
    expect(code(await v.acceptMunro(other.munros[0]!.munro))).toBe(ErrorCode.BAD_SIGNATURE)
    expect(code(v.checkHandshake({ type: FrameType.HANDSHAKE, treeKey: other.keys.publicKey, resume: { kind: 'latest' } }))).toBe(ErrorCode.WRONG_TREE)
    expect(code(await v.acceptChunk(m0.chunks[0]!.frame))).toBe(ErrorCode.UNKNOWN_MUNRO) // a chunk without its munro
    expect(code(v.checkHandshake({ type: FrameType.HANDSHAKE, treeKey: pk, resume: { kind: 'latest' } }))).toBe('ok')
  })

  it('a chunk hashed on arrival (prehash), before its munro came: verified against the munro once it is in', async () => {
    const v = make(pk)
    for (const c of m0.chunks) v.prehash(c.frame)
    // Hashed but not checked: without its munro the chunk is still refused.
    expect(code(await v.acceptChunk(m0.chunks[0]!.frame))).toBe(ErrorCode.UNKNOWN_MUNRO)
    expect(code(await v.acceptMunro(m0.munro))).toBe('ok')
    for (const c of m0.chunks) expect(code(await v.acceptChunk(c.frame))).toBe('ok')
  })

  it('prehash decides nothing: a tampered payload hashed on arrival still fails its proof', async () => {
    const v = make(pk)
    const c = m0.chunks[1]!.frame
    const tampered: ChunkFrame = { ...c, payload: c.payload.map((b) => b ^ 1) }
    v.prehash(tampered)
    await v.acceptMunro(m0.munro)
    expect(code(await v.acceptChunk(tampered))).toBe(ErrorCode.BAD_PROOF)
    expect(code(await v.acceptChunk(c))).toBe('ok')
  })

  it('chunks of another tree at the same indices: ERR_BAD_PROOF', async () => {
    // (Same bytes at the same indices would be the same chunks, whatever the tree: use other bytes.)
    const other = await signStream(
      Array.from({ length: 4 }, (_, i) => ({ bytes: messageBytes(100 + i, 1000 + i) })),
      { munroSpan: 4 }
    )
    const v = make(pk)
    await v.acceptMunro(m0.munro)
    for (const c of other.munros[0]!.chunks) expect(code(await v.acceptChunk(c.frame))).toBe(ErrorCode.BAD_PROOF)
  })

  it('the signature is checked before anything that blames nobody: a forged, ancient munro is ERR_BAD_SIGNATURE, not stale', async () => {
    const v = make(pk)
    const forged: MunroFrame = { ...m1.munro, timestamp: 0, signature: new Uint8Array(64) }
    expect(code(await v.acceptMunro(forged))).toBe(ErrorCode.BAD_SIGNATURE)
    expect(code(await v.acceptMunro(m1.munro))).toBe('ok')
  })

  it('a genuine munro lagging more than maxAgeMs behind the stream: ERR_STALE_MUNRO', async () => {
    const late = await signStream([{ bytes: messageBytes(10, 1) }], { munroSpan: 4, keys: stream.keys, firstChunkIndex: 8, now: () => NOW + 120_001 })
    const v = make(pk)
    expect(code(await v.acceptMunro(late.munros[0]!.munro))).toBe('ok')
    expect(code(await v.acceptMunro(m0.munro))).toBe(ErrorCode.STALE_MUNRO)
    const v2 = make(pk, { maxAgeMs: 200_000 })
    expect(code(await v2.acceptMunro(late.munros[0]!.munro))).toBe('ok')
    expect(code(await v2.acceptMunro(m0.munro))).toBe('ok')
  })

  it('truncated, reordered or misplaced proofs: ERR_BAD_PROOF', async () => {
    const v = make(pk)
    await v.acceptMunro(m0.munro)
    const c: ChunkFrame = m0.chunks[1]!.frame
    // Consistently truncated (span claims 2, proof has 1 hash): decodes, fails the munro's span.
    const truncated = chunkOf(encodeFrame({ ...c, index: 1, munroStart: 0, span: 2, proof: c.proof.subarray(0, 32) }))
    expect(code(await v.acceptChunk(truncated))).toBe(ErrorCode.BAD_PROOF)
    const reordered = new Uint8Array(64)
    reordered.set(c.proof.subarray(32, 64), 0)
    reordered.set(c.proof.subarray(0, 32), 32)
    expect(code(await v.acceptChunk({ ...c, proof: reordered }))).toBe(ErrorCode.BAD_PROOF)
    // The chunk moved to another position (index 2) with its own proof.
    expect(code(await v.acceptChunk({ ...c, index: 2 }))).toBe(ErrorCode.BAD_PROOF)
    expect(code(await v.acceptChunk({ ...c, flags: c.flags ^ 4 }))).toBe(ErrorCode.BAD_PROOF)
    // Position past the munro's count (munro 1 has 3 chunks of span 4).
    await v.acceptMunro(m1.munro)
    const last = m1.chunks[2]!.frame
    expect(code(await v.acceptChunk({ ...last, index: 7 }))).toBe(ErrorCode.BAD_PROOF)
    // The genuine chunk still verifies afterwards: failures cache nothing.
    expect(code(await v.acceptChunk(c))).toBe('ok')
  })

  it('a second validly signed munro over an accepted range: ERR_MUNRO_CONFLICT, first kept', async () => {
    const fork = await signStream(
      Array.from({ length: 4 }, (_, i) => ({ bytes: messageBytes(50, 100 + i) })),
      { munroSpan: 4, keys: stream.keys, firstChunkIndex: 2 }
    )
    const v = make(pk)
    expect(code(await v.acceptMunro(m0.munro))).toBe('ok')
    expect(code(await v.acceptMunro(fork.munros[0]!.munro))).toBe(ErrorCode.MUNRO_CONFLICT)
    // The fork's chunks name a munro that was never accepted.
    expect(code(await v.acceptChunk(fork.munros[0]!.chunks[0]!.frame))).toBe(ErrorCode.UNKNOWN_MUNRO)
    expect(code(await v.acceptChunk(m0.chunks[2]!.frame))).toBe('ok')
  })

  it('too many distinct munros being checked at once: ERR_PENDING_FULL', async () => {
    const v = make(pk, { maxInflightMunros: 1 })
    const first = v.acceptMunro(m0.munro)
    expect(v.acceptMunro(munroOf(m0.munroBytes))).toBe(first) // an identical copy shares the check
    expect(code(await v.acceptMunro(m1.munro))).toBe(ErrorCode.PENDING_FULL)
    expect(code(await first)).toBe('ok')
    expect(code(await v.acceptMunro(m1.munro))).toBe('ok')
  })

  it('evicts the oldest munros past maxMunros: ERR_STALE_CHUNK / ERR_STALE_MUNRO below the floor', async () => {
    const long = await signStream(
      Array.from({ length: 16 }, (_, i) => ({ bytes: messageBytes(10, i) })),
      { munroSpan: 4 }
    )
    const v = make(long.keys.publicKey, { maxMunros: 2 })
    for (const m of long.munros.slice(1)) expect(code(await v.acceptMunro(m.munro))).toBe('ok')
    expect(v.munroCount).toBe(2) // munros 2 and 3; munro 1 was evicted
    expect(v.floor).toBe(8)
    expect(code(await v.acceptChunk(long.munros[1]!.chunks[0]!.frame))).toBe(ErrorCode.STALE_CHUNK)
    expect(code(await v.acceptMunro(long.munros[0]!.munro))).toBe(ErrorCode.STALE_MUNRO)
    expect(code(await v.acceptChunk(long.munros[2]!.chunks[0]!.frame))).toBe('ok')
  })

  it('after destroy: ERR_DESTROYED', async () => {
    const v = make(pk)
    v.destroy()
    v.destroy()
    expect(code(await v.acceptMunro(m0.munro))).toBe(ErrorCode.DESTROYED)
    expect(code(await v.acceptChunk(m0.chunks[0]!.frame))).toBe(ErrorCode.DESTROYED)
  })

  it('bad construction: ERR_INVALID_ARGUMENT / ERR_BAD_KEY / ERR_BAD_TREE_ID', () => {
    expect(() => new ChunkVerifier({})).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(() => new ChunkVerifier({ publicKey: new Uint8Array(32) })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_KEY }))
    expect(() => new ChunkVerifier({ treeId: 'x' })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_TREE_ID }))
    expect(() => new ChunkVerifier({ publicKey: generateKeyPair().publicKey, maxMunros: 0 })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT })
    )
  })
})
