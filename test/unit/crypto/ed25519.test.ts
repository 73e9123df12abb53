import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import rfc from '../../vectors/ed25519-rfc8032.json' with { type: 'json' }
import edge from '../../vectors/ed25519-edge.json' with { type: 'json' }
import { bytesToHex, hexToBytes } from '../../../src/crypto/bytes.js'
import {
  derivePublicKey,
  ed25519Backend,
  isValidPublicKey,
  signMessage,
  verifySignature,
  verifyWithNoble,
  verifyWithWebCrypto
} from '../../../src/crypto/ed25519.js'
import { PROBE_PUBLIC_KEY_HEX, PROBE_TORSION_MESSAGE, PROBE_TORSION_SIGNATURE_HEX } from '../../../src/crypto/ed25519-probe.js'
import { ErrorCode } from '../../../src/errors.js'
import { generateKeyPair } from '../../../src/crypto/keys.js'

type Bytes = Uint8Array<ArrayBuffer>

/** The runtime's WebCrypto verdict with none of our pre-checks. */
async function rawWebCrypto(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean | 'refused'> {
  try {
    const key = await crypto.subtle.importKey('raw', pk as Bytes, { name: 'Ed25519' }, false, ['verify'])
    return await crypto.subtle.verify('Ed25519', key, sig as Bytes, msg as Bytes)
  } catch {
    return 'refused'
  }
}

describe('ed25519: RFC 8032 known answers', () => {
  for (const v of rfc.vectors) {
    it(v.name, async () => {
      const sk = hexToBytes(v.secretKey)
      const pk = hexToBytes(v.publicKey)
      const msg = hexToBytes(v.message)
      const sig = hexToBytes(v.signature)
      expect(bytesToHex(derivePublicKey(sk))).toBe(v.publicKey)
      expect(bytesToHex(await signMessage(sk, msg))).toBe(v.signature)
      expect(await verifySignature(pk, msg, sig)).toBe(true)
      expect(verifyWithNoble(pk, msg, sig)).toBe(true)
      expect(await verifyWithWebCrypto(pk, msg, sig)).toBe(true)
    })
  }
})

describe('ed25519: backend', () => {
  it('uses WebCrypto on Node 20 (the probe passes)', async () => {
    expect(await ed25519Backend()).toBe('webcrypto')
  })

  it('the probe vector separates cofactored from cofactorless verifiers', async () => {
    const pk = hexToBytes(PROBE_PUBLIC_KEY_HEX)
    const msg = new TextEncoder().encode(PROBE_TORSION_MESSAGE)
    const sig = hexToBytes(PROBE_TORSION_SIGNATURE_HEX)
    const ed = await import('@noble/ed25519')
    expect(ed.verify(sig, msg, pk)).toBe(true) // cofactored (ZIP-215)
    expect(verifyWithNoble(pk, msg, sig)).toBe(false)
    expect(await rawWebCrypto(pk, msg, sig)).toBe(false)
  })
})

describe('ed25519: edge cases, both paths agree with the policy', () => {
  for (const v of edge.vectors) {
    it(`${v.name}: ${v.expected}`, async () => {
      const pk = hexToBytes(v.publicKey)
      const msg = hexToBytes(v.message)
      const sig = hexToBytes(v.signature)
      expect(verifyWithNoble(pk, msg, sig)).toBe(v.expected)
      expect(await verifyWithWebCrypto(pk, msg, sig)).toBe(v.expected)
      expect(await verifySignature(pk, msg, sig)).toBe(v.expected)
    })
  }

  it('where the policy does not pre-empt it, raw WebCrypto computes the same equation as the noble path', async () => {
    // Cases decided by the equation itself (rule 4), not by the pre-checks.
    const equationCases = edge.vectors.filter((v) => /^(R |R =|mixed|valid|message|R bit)/.test(v.name))
    expect(equationCases.length).toBeGreaterThan(6)
    for (const v of equationCases) {
      expect(await rawWebCrypto(hexToBytes(v.publicKey), hexToBytes(v.message), hexToBytes(v.signature)), v.name).toBe(v.expected)
    }
  })

  it('rejects up front what raw OpenSSL would accept (small-order and non-canonical keys)', async () => {
    const forged = edge.vectors.filter((v) => v.name.startsWith('small-order A') || v.name.startsWith('A = identity'))
    let rawAccepts = 0
    for (const v of forged) {
      const raw = await rawWebCrypto(hexToBytes(v.publicKey), hexToBytes(v.message), hexToBytes(v.signature))
      if (raw === true) rawAccepts++
      expect(await verifySignature(hexToBytes(v.publicKey), hexToBytes(v.message), hexToBytes(v.signature))).toBe(false)
    }
    // Documents why rule 3 exists: the bare backend takes at least one of these forgeries.
    expect(rawAccepts).toBeGreaterThan(0)
  })

  it('small-order and non-canonical keys are not valid public keys', () => {
    for (const v of edge.vectors.filter((x) => x.name.startsWith('small-order A') || x.name.startsWith('A '))) {
      expect(isValidPublicKey(hexToBytes(v.publicKey)), v.name).toBe(false)
    }
  })
})

describe('ed25519: cross-check on random inputs', () => {
  it('both paths agree on valid and tampered signatures', async () => {
    const { secretKey, publicKey } = generateKeyPair()
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(255), async (msg, where, xor) => {
        const sig = await signMessage(secretKey, msg)
        expect(verifyWithNoble(publicKey, msg, sig)).toBe(true)
        expect(await verifyWithWebCrypto(publicKey, msg, sig)).toBe(true)
        // Tamper with one byte of signature, message or key.
        const target = where % 3
        const s = sig.slice()
        const m = msg.slice()
        const k = publicKey.slice()
        const bit = (xor % 255) + 1
        if (target === 0) s[where % 64]! ^= bit
        else if (target === 1 && m.length > 0) m[where % m.length]! ^= bit
        else k[where % 32]! ^= bit
        const changed = target === 1 && m.length === 0 ? false : true
        const a = verifyWithNoble(k, m, s)
        const b = await verifyWithWebCrypto(k, m, s)
        expect(a).toBe(b)
        if (changed) expect(a).toBe(false)
      }),
      { numRuns: 150 }
    )
  })

  it('never throws on garbage, returns false', async () => {
    const junk: unknown[] = [undefined, null, 'abc', 12, {}, new Uint8Array(0), new Uint8Array(32), new Uint8Array(64).fill(255)]
    for (const a of junk) {
      for (const b of junk) {
        expect(await verifySignature(a as Uint8Array, new Uint8Array(1), b as Uint8Array)).toBe(false)
        expect(verifyWithNoble(a as Uint8Array, new Uint8Array(1), b as Uint8Array)).toBe(false)
      }
    }
  })

  it('signMessage rejects a malformed secret key with ERR_BAD_KEY', async () => {
    await expect(signMessage(new Uint8Array(31), new Uint8Array(0))).rejects.toMatchObject({ code: ErrorCode.BAD_KEY })
  })
})
