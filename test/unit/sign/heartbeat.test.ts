import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair } from '../../../src/crypto/keys.js'
import { StreamSigner, type SignedMunro } from '../../../src/sign/munro-signer.js'
import { ChunkVerifier } from '../../../src/verify/verifier.js'
import { MessageReassembler } from '../../../src/verify/reassembler.js'

describe('heartbeat chunks', () => {
  it('are signed like any chunk and never surface as messages', async () => {
    const keys = generateKeyPair()
    const signer = new StreamSigner({ ...keys, munroDeadlineMs: Infinity })
    const munros: SignedMunro[] = []
    signer.on('munro', (m) => munros.push(m))
    signer.write(new TextEncoder().encode('one'))
    signer.heartbeat()
    signer.heartbeat()
    signer.write(new TextEncoder().encode('two'), { startPoint: true })
    signer.flush()
    await signer.settled()
    const chunks = munros.flatMap((m) => m.chunks)
    expect(chunks.map((c) => [c.frame.flags, c.frame.payload.length])).toEqual([
      [3, 3],
      [0, 0],
      [0, 0],
      [7, 3]
    ])
    const verifier = new ChunkVerifier({ publicKey: keys.publicKey })
    const reassembler = new MessageReassembler()
    const out: string[] = []
    for (const m of munros) expect((await verifier.acceptMunro(m.munro)).ok).toBe(true)
    for (const c of chunks) {
      expect(await verifier.acceptChunk(c.frame)).toEqual({ ok: true })
      for (const e of reassembler.push({ ...c.frame, timestamp: 0 })) if (e.kind === 'message') out.push(new TextDecoder().decode(e.message.bytes))
    }
    expect(out).toEqual(['one', 'two'])
    expect(() => (signer.destroy(), signer.heartbeat())).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }))
    verifier.destroy()
  })

  it('with heartbeatMs, the signer beats only while nothing is written, and its timer dies with it', async () => {
    vi.useFakeTimers()
    const keys = generateKeyPair()
    const signer = new StreamSigner({ ...keys, heartbeatMs: 500 })
    const chunks: number[] = []
    signer.on('munro', (m) => chunks.push(...m.chunks.map((c) => c.frame.payload.length)))
    await vi.advanceTimersByTimeAsync(499)
    signer.write(new Uint8Array(3))
    await vi.advanceTimersByTimeAsync(1) // tick at 500: written in this period, no beat
    await signer.settled()
    expect(chunks).toEqual([3])
    await vi.advanceTimersByTimeAsync(500) // tick at 1000: a quiet period, one beat
    await signer.settled()
    expect(chunks).toEqual([3, 0])
    signer.destroy()
    expect(vi.getTimerCount()).toBe(0)
  })
})

afterEach(() => {
  vi.useRealTimers()
})
