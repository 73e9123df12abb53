// What a viewer does with frames it cannot use: forged ones blame the parent,
// genuine ones outside this peer's window are dropped without blame.
import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../../src/crypto/keys.js'
import { Ingest } from '../../../src/relay/ingest.js'
import { StreamBuffer } from '../../../src/relay/stream-buffer.js'
import { StreamSigner, type SignedMunro } from '../../../src/sign/munro-signer.js'
import { ChunkVerifier } from '../../../src/verify/verifier.js'
import { decodeFrame, FrameType } from '../../../src/wire/frames.js'

async function signed(messages: string[], now: () => number) {
  const keys = generateKeyPair()
  const signer = new StreamSigner({ ...keys, munroDeadlineMs: Infinity, now })
  const munros: SignedMunro[] = []
  signer.on('munro', (m) => munros.push(m))
  for (const m of messages) {
    signer.write(new TextEncoder().encode(m))
    signer.flush()
  }
  await signer.settled()
  return { keys, munros }
}

function ingest(publicKey: Uint8Array, now: () => number) {
  const rejected: { code: string; blame: boolean }[] = []
  const delivered: string[] = []
  const buffer = new StreamBuffer({ windowMs: 60_000, maxBytes: 1 << 20, now })
  const i = new Ingest<string>({
    verifier: new ChunkVerifier({ publicKey, maxAgeMs: 1_000, maxPendingChunks: 0, now }),
    buffer,
    maxMessageBytes: 1 << 20,
    onStored: () => {},
    onMessage: (m) => delivered.push(new TextDecoder().decode(m.bytes)),
    onRejected: (_s, code, _m, blame) => rejected.push({ code, blame }),
    onLatency: () => {},
    isLive: () => true,
    now
  })
  return { i, rejected, delivered, buffer }
}

const settle = () => new Promise((r) => setTimeout(r, 20))

describe('Ingest', () => {
  it('drops a genuine but stale munro and its chunks without blaming the parent', async () => {
    let clock = 1_000_000
    const { keys, munros } = await signed(['old', 'new'], () => clock)
    clock += 5_000 // both munros are now older than maxAgeMs...
    const { i, rejected, delivered, buffer } = ingest(keys.publicKey, () => clock)
    const [old] = munros
    i.push(old!.munro, old!.munroBytes, 'parent')
    for (const c of old!.chunks) i.push(c.frame, c.bytes, 'parent')
    await settle()
    expect(rejected).toEqual([{ code: 'ERR_STALE_MUNRO', blame: false }])
    expect(buffer.isEmpty).toBe(true)
    expect(delivered).toEqual([])
  })

  it('blames the parent for a chunk whose munro it never sent, and for a corrupted chunk', async () => {
    const clock = 1_000_000
    const { keys, munros } = await signed(['a', 'b'], () => clock)
    const { i, rejected, delivered } = ingest(keys.publicKey, () => clock)
    const [a, b] = munros
    i.push(b!.chunks[0]!.frame, b!.chunks[0]!.bytes, 'parent') // no munro first
    i.push(a!.munro, a!.munroBytes, 'parent')
    const bad = a!.chunks[0]!.bytes.slice()
    bad[bad.length - 1]! ^= 1
    const decoded = decodeFrame(bad)
    if (!decoded.ok || decoded.frame.type !== FrameType.CHUNK) throw new Error('test frame did not decode')
    i.push(decoded.frame, bad, 'parent')
    await settle()
    expect(rejected).toEqual([
      { code: 'ERR_UNKNOWN_MUNRO', blame: true },
      { code: 'ERR_BAD_PROOF', blame: true }
    ])
    expect(delivered).toEqual([])
  })
})
