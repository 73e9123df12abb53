import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  base64urlDecode,
  base64urlEncode,
  bytesToHex,
  concatBytes,
  equalBytes,
  hexToBytes,
  readU64,
  viewOf,
  writeU64
} from '../../../src/crypto/bytes.js'
import { exportKeyPair, generateKeyPair, importKeyPair, publicKeyFromTreeId, treeIdFromPublicKey } from '../../../src/crypto/keys.js'
import { ErrorCode } from '../../../src/errors.js'

const code = (c: string) => expect.objectContaining({ code: c })

describe('base64url', () => {
  it('round-trips and matches Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = base64urlEncode(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64url'))
        expect(equalBytes(base64urlDecode(text), bytes)).toBe(true)
      })
    )
  })

  it('is strict', () => {
    for (const bad of ['A', 'AB==', 'AB=', 'A+B/', 'AB C', 'ä', 'AB\n', 'AF']) {
      expect(() => base64urlDecode(bad), bad).toThrow(code(ErrorCode.BAD_ENCODING))
    }
    // 'AF' has non-zero padding bits: 'AA' is the canonical form of [0].
    expect(base64urlDecode('AA')).toEqual(new Uint8Array([0]))
    expect(() => base64urlDecode(3 as unknown as string)).toThrow(code(ErrorCode.BAD_ENCODING))
  })
})

describe('byte helpers', () => {
  it('hex, concat, equal', () => {
    expect(bytesToHex(new Uint8Array([0, 15, 255]))).toBe('000fff')
    expect(hexToBytes('000FFF')).toEqual(new Uint8Array([0, 15, 255]))
    expect(() => hexToBytes('0')).toThrow(code(ErrorCode.BAD_ENCODING))
    expect(() => hexToBytes('zz')).toThrow(code(ErrorCode.BAD_ENCODING))
    expect(concatBytes(new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]))
    expect(equalBytes(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false)
  })

  it('u64 round-trips up to 2^53-1 and flags larger values', () => {
    const buf = new Uint8Array(8)
    const view = viewOf(buf)
    for (const n of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      writeU64(view, 0, n)
      expect(readU64(view, 0)).toBe(n)
      expect(Buffer.from(buf).readBigUInt64BE()).toBe(BigInt(n))
    }
    Buffer.from(buf.buffer).writeBigUInt64BE(2n ** 53n)
    expect(readU64(view, 0)).toBe(-1)
    expect(() => writeU64(view, 0, 2 ** 53)).toThrow(code(ErrorCode.INVALID_ARGUMENT))
    expect(() => writeU64(view, 0, -1)).toThrow(code(ErrorCode.INVALID_ARGUMENT))
    expect(() => writeU64(view, 0, 1.5)).toThrow(code(ErrorCode.INVALID_ARGUMENT))
  })

  it('viewOf respects the byte offset', () => {
    const big = new Uint8Array(16)
    big[9] = 7
    expect(viewOf(big.subarray(8)).getUint8(1)).toBe(7)
  })
})

describe('keys', () => {
  it('generate, export, import, tree id', () => {
    const pair = generateKeyPair()
    expect(pair.secretKey.length).toBe(32)
    const exported = exportKeyPair(pair)
    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported)
    const back = importKeyPair(exported)
    expect(back.publicKey).toEqual(pair.publicKey)
    const id = treeIdFromPublicKey(pair.publicKey)
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(publicKeyFromTreeId(id)).toEqual(pair.publicKey)
  })

  it('refuses a public key that is not the secret key\'s', () => {
    const a = exportKeyPair(generateKeyPair())
    const b = exportKeyPair(generateKeyPair())
    expect(() => importKeyPair({ secretKey: a.secretKey, publicKey: b.publicKey })).toThrow(code(ErrorCode.BAD_KEY))
    expect(() => importKeyPair({ secretKey: 'AA', publicKey: b.publicKey })).toThrow(code(ErrorCode.BAD_KEY))
    expect(() => importKeyPair({ secretKey: '!!', publicKey: b.publicKey })).toThrow(code(ErrorCode.BAD_ENCODING))
  })

  it('rejects bad tree ids with ERR_BAD_TREE_ID', () => {
    const good = treeIdFromPublicKey(generateKeyPair().publicKey)
    const smallOrder = base64urlEncode(hexToBytes('01' + '00'.repeat(31))) // identity point
    const nonCanonical = base64urlEncode(hexToBytes('ee' + 'ff'.repeat(30) + '7f')) // y = p + 1
    for (const bad of [good.slice(1), good + 'A', good.slice(0, 42) + '=', smallOrder, nonCanonical, '', 42]) {
      expect(() => publicKeyFromTreeId(bad as string), String(bad)).toThrow(code(ErrorCode.BAD_TREE_ID))
    }
    // Last character with non-zero padding bits is not canonical.
    const last = good[42]!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const twin = alphabet[alphabet.indexOf(last) ^ 1]!
    expect(() => publicKeyFromTreeId(good.slice(0, 42) + twin)).toThrow(code(ErrorCode.BAD_TREE_ID))
    expect(() => treeIdFromPublicKey(new Uint8Array(31))).toThrow(code(ErrorCode.BAD_KEY))
  })
})
