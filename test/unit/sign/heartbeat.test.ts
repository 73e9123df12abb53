import { describe, expect, it } from 'vitest'
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
    for (const m of munros) expect(await verifier.acceptMunro(m.munro)).toEqual({ ok: true })
    for (const c of chunks) {
      expect(await verifier.acceptChunk(c.frame)).toEqual({ ok: true })
      for (const msg of reassembler.push(c.frame).messages) out.push(new TextDecoder().decode(msg.bytes))
    }
    expect(out).toEqual(['one', 'two'])
    expect(() => (signer.destroy(), signer.heartbeat())).toThrow(expect.objectContaining({ code: 'ERR_DESTROYED' }))
    verifier.destroy()
  })
})
