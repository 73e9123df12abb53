import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import vectors from '../../vectors/merkle.json' with { type: 'json' }
import { bytesToHex, hexToBytes } from '../../../src/crypto/bytes.js'
import {
  MerkleTree,
  NATIVE_LEAF_HASH_MIN_BYTES,
  VerifiedTree,
  innerHash,
  leafHash,
  leafHashAsync,
  rootFromProof,
  spanDepth
} from '../../../src/crypto/merkle.js'
import { ErrorCode } from '../../../src/errors.js'

// An independent reference built on node:crypto, straight from the spec text.
function refLeaf(index: number, flags: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(10)
  head[0] = 0
  head.writeBigUInt64BE(BigInt(index), 1)
  head[9] = flags
  return createHash('sha256').update(head).update(payload).digest()
}
function refRoot(leaves: Buffer[], span: number): Buffer {
  let level = Array.from({ length: span }, (_, i) => leaves[i] ?? Buffer.alloc(32))
  while (level.length > 1) {
    const up: Buffer[] = []
    for (let i = 0; i < level.length; i += 2) up.push(createHash('sha256').update(Buffer.from([1])).update(level[i]!).update(level[i + 1]!).digest())
    level = up
  }
  return level[0]!
}

describe('merkle: committed vectors', () => {
  for (const tree of vectors.trees) {
    it(tree.name, () => {
      const leaves = tree.leaves.map((l) => leafHash(l.index, l.flags, hexToBytes(l.payload)))
      tree.leaves.forEach((l, p) => {
        expect(bytesToHex(leaves[p]!)).toBe(l.leafHash)
        expect(refLeaf(l.index, l.flags, hexToBytes(l.payload)).toString('hex')).toBe(l.leafHash)
      })
      const built = new MerkleTree(leaves, tree.span)
      expect(bytesToHex(built.root)).toBe(tree.root)
      expect(refRoot(leaves.map((h) => Buffer.from(h)), tree.span).toString('hex')).toBe(tree.root)
      tree.leaves.forEach((l, p) => {
        expect(bytesToHex(built.proof(p))).toBe(l.proof)
        expect(bytesToHex(rootFromProof(leaves[p]!, p, hexToBytes(l.proof)))).toBe(tree.root)
        expect(new VerifiedTree(tree.span, hexToBytes(tree.root)).verify(p, leaves[p]!, hexToBytes(l.proof))).toBe(true)
      })
    })
  }
})

describe('merkle: native and JS leaf hashes agree', () => {
  it('at every size class and index', async () => {
    for (const size of [0, 1, NATIVE_LEAF_HASH_MIN_BYTES - 1, NATIVE_LEAF_HASH_MIN_BYTES, 16_197]) {
      for (const index of [0, 2 ** 32 + 3, Number.MAX_SAFE_INTEGER]) {
        const payload = Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 255)
        const expected = refLeaf(index, 0x0b, payload).toString('hex')
        expect(bytesToHex(leafHash(index, 0x0b, payload))).toBe(expected)
        expect(bytesToHex(await leafHashAsync(index, 0x0b, payload))).toBe(expected)
      }
    }
    // Many at once: the native path reuses one scratch buffer, which must be safe.
    const payloads = Array.from({ length: 40 }, (_, i) => new Uint8Array(NATIVE_LEAF_HASH_MIN_BYTES + i * 997).fill(i))
    const hashes = await Promise.all(payloads.map((p, i) => leafHashAsync(i, 1, p)))
    hashes.forEach((h, i) => expect(bytesToHex(h)).toBe(refLeaf(i, 1, payloads[i]!).toString('hex')))
    const huge = new Uint8Array(100_000).fill(9)
    expect(bytesToHex(await leafHashAsync(3, 2, huge))).toBe(refLeaf(3, 2, huge).toString('hex'))
    await expect(leafHashAsync(-1, 0, new Uint8Array(5000))).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT })
  })
})

describe('merkle: domain separation', () => {
  it('a leaf hash differs from an inner hash over the same bytes', () => {
    const a = new Uint8Array(32).fill(1)
    const b = new Uint8Array(32).fill(2)
    const asLeaf = createHash('sha256').update(Buffer.from([0])).update(a).update(b).digest('hex')
    expect(bytesToHex(innerHash(a, b))).not.toBe(asLeaf)
  })

  it('index and flags are bound into the leaf', () => {
    const p = new Uint8Array([1, 2, 3])
    const base = bytesToHex(leafHash(5, 1, p))
    expect(bytesToHex(leafHash(6, 1, p))).not.toBe(base)
    expect(bytesToHex(leafHash(5, 3, p))).not.toBe(base)
  })
})

describe('merkle: VerifiedTree', () => {
  const arbTree = fc
    .record({ depth: fc.integer({ min: 0, max: 6 }), fill: fc.double({ min: 0.01, max: 1, noNaN: true }), seed: fc.nat() })
    .map(({ depth, fill, seed }) => {
      const span = 1 << depth
      const count = Math.max(1, Math.ceil(span * fill))
      const leaves = Array.from({ length: count }, (_, p) => leafHash(seed + p, p & 3, new Uint8Array([p, seed & 255])))
      return { span, count, leaves, tree: new MerkleTree(leaves, span) }
    })

  it('accepts every chunk in any order and stores what it proved', () => {
    fc.assert(
      fc.property(arbTree, fc.nat(), ({ span, count, leaves, tree }, shuffleSeed) => {
        const v = new VerifiedTree(span, tree.root)
        const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => ((a * 7919 + shuffleSeed) % 101) - ((b * 7919 + shuffleSeed) % 101))
        for (const p of order) {
          expect(v.verify(p, leaves[p]!, tree.proof(p))).toBe(true)
          expect(v.verify(p, leaves[p]!, tree.proof(p))).toBe(true) // again, from cache
        }
      })
    )
  })

  it('rejects any altered byte of leaf or proof, cached or not', () => {
    fc.assert(
      fc.property(arbTree, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), ({ span, count, leaves, tree }, pick, at, xor, warm) => {
        const v = new VerifiedTree(span, tree.root)
        const p = pick % count
        // Warm the cache with the other chunks first (or not).
        if (warm) for (let q = 0; q < count; q++) if (q !== p) v.verify(q, leaves[q]!, tree.proof(q))
        const leaf = leaves[p]!.slice()
        const proof = tree.proof(p)
        const total = 32 + proof.length
        const i = at % total
        if (i < 32) leaf[i]! ^= xor
        else proof[i - 32]! ^= xor
        expect(v.verify(p, leaf, proof)).toBe(false)
        // The failed attempt stored nothing: the genuine chunk still verifies.
        expect(v.verify(p, leaves[p]!, tree.proof(p))).toBe(true)
      })
    )
  })

  it('rejects a proof at the wrong position, swapped uncles, and wrong lengths', () => {
    const leaves = Array.from({ length: 8 }, (_, p) => leafHash(p, 0, new Uint8Array([p])))
    const tree = new MerkleTree(leaves, 8)
    const v = new VerifiedTree(8, tree.root)
    expect(v.verify(1, leaves[0]!, tree.proof(0))).toBe(false)
    const proof = tree.proof(3)
    const swapped = new Uint8Array(proof.length)
    swapped.set(proof.subarray(32, 64), 0)
    swapped.set(proof.subarray(0, 32), 32)
    swapped.set(proof.subarray(64), 64)
    expect(v.verify(3, leaves[3]!, swapped)).toBe(false)
    expect(v.verify(3, leaves[3]!, proof.subarray(0, 64))).toBe(false)
    expect(v.verify(8, leaves[3]!, proof)).toBe(false)
    expect(v.verify(3, leaves[3]!, proof)).toBe(true)
  })

  it('rejects bad spans and leaf counts', () => {
    expect(() => new MerkleTree([], 4)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(() => new MerkleTree([new Uint8Array(32)], 3)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }))
    expect(spanDepth(1)).toBe(0)
    expect(spanDepth(1024)).toBe(10)
  })
})
