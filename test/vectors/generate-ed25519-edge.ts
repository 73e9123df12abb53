// Regenerates ed25519-edge.json: edge-case encodings on which ed25519
// implementations disagree, each with the verdict our policy gives (see
// src/crypto/ed25519.ts). Deterministic; run with
//   node --import tsx test/vectors/generate-ed25519-edge.ts > test/vectors/ed25519-edge.json
// `cofactored` records what a cofactored ZIP-215 verifier (noble's default)
// says, to show why each case is an edge case; it is informational only.
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { bytesToHex, concatBytes, hexToBytes } from '../../src/crypto/bytes.js'

ed.hashes.sha512 ??= sha512
const { Point } = ed
const L = (1n << 252n) + 27742317777372353535851937790883648493n
const P = (1n << 255n) - 19n
const enc = new TextEncoder()

const le = (b: Uint8Array): bigint => {
  let n = 0n
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!)
  return n
}
const toLE = (n: bigint): Uint8Array => hexToBytes(n.toString(16).padStart(64, '0')).reverse()
const hashScalar = (...parts: Uint8Array[]): bigint => le(sha512(concatBytes(...parts))) % L
const withSign = (b: Uint8Array, sign: boolean): Uint8Array => {
  const c = b.slice()
  c[31] = (c[31]! & 0x7f) | (sign ? 0x80 : 0)
  return c
}

// An order-8 point: the torsion part [L]Q of a point Q decoded from a small y.
function order8(): InstanceType<typeof Point> {
  for (let y = 2n; ; y++) {
    let q
    try {
      q = Point.fromBytes(toLE(y))
    } catch {
      continue
    }
    const t = q.multiply(L / 2n, false).double().add(q)
    if (!t.multiply(4n, false).is0()) return t
  }
}
const T8 = order8()
const torsion = Array.from({ length: 8 }, (_, i) => (i === 0 ? Point.ZERO : T8.multiply(BigInt(i), false)))

const seed = hexToBytes('1f'.repeat(32))
const { scalar: a, pointBytes: pk, point: A } = ed.utils.getExtendedPublicKey(seed)

interface Vector {
  name: string
  why: string
  publicKey: string
  message: string
  signature: string
  expected: boolean
  cofactored: boolean
}
const out: Vector[] = []
function add(name: string, why: string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, expected: boolean): void {
  let cofactored = false
  try {
    cofactored = ed.verify(signature, message, publicKey)
  } catch {
    cofactored = false
  }
  out.push({ name, why, publicKey: bytesToHex(publicKey), message: bytesToHex(message), signature: bytesToHex(signature), expected, cofactored })
}

// Signs with an arbitrary R point for key (scalar a, bytes pkBytes): S = r + k*a.
function signWithR(rScalar: bigint, R: Uint8Array, pkBytes: Uint8Array, scalar: bigint, msg: Uint8Array): Uint8Array {
  const k = hashScalar(R, pkBytes, msg)
  return concatBytes(R, toLE((rScalar + k * scalar) % L))
}

const msg = enc.encode('munro edge case')
const r0 = hashScalar(enc.encode('nonce 0'))
const R0 = Point.BASE.multiply(r0).toBytes()
const valid = signWithR(r0, R0, pk, a, msg)
add('valid', 'honest signature', pk, msg, valid, true)

// S not reduced.
const s = le(valid.subarray(32))
add('S + L', 'non-canonical S (S >= L): malleable copy of a valid signature', pk, msg, concatBytes(R0, toLE(s + L)), false)
add('S = L', 'S equal to the group order', pk, msg, concatBytes(R0, toLE(L)), false)
add('S top bits', 'S with the top bits set', pk, msg, concatBytes(R0, toLE(s | (7n << 253n))), false)

// R with a small-order component: cofactored accepts, cofactorless rejects.
for (const i of [1, 2, 4]) {
  const R = Point.BASE.multiply(r0).add(torsion[i]!).toBytes()
  add(`R + T${i}`, 'R has a small-order component (cofactored verifiers accept)', pk, msg, signWithR(r0, R, pk, a, msg), false)
}

// R = identity, S = k*a: the cofactorless equation holds exactly; only the key holder can make it.
{
  const R = Point.ZERO.toBytes()
  add('R = identity', 'small-order R that satisfies the exact equation: allowed (both backends agree)', pk, msg, signWithR(0n, R, pk, a, msg), true)
  const Rnc = toLE(P + 1n) // identity, y = p + 1 (non-canonical)
  add('R = identity, y = p+1', 'non-canonical R encoding: re-encoding never matches', pk, msg, signWithR(0n, Rnc, pk, a, msg), false)
}

// Small-order public keys: the classic "valid for every message" signatures.
torsion.forEach((T, i) => {
  const Abytes = T.toBytes()
  for (let n = 0; n < 64; n++) {
    const m = enc.encode(`small order ${i} ${n}`)
    for (const R of torsion) {
      const Rb = R.toBytes()
      const k = hashScalar(Rb, Abytes, m)
      // [0]B - [k]A == R ?
      if (Point.ZERO.subtract(T.multiply(k % 8n, false)).equals(R)) {
        add(`small-order A #${i}`, 'public key of small order, S = 0 signature that a cofactorless verifier without a key check accepts', Abytes, m, concatBytes(Rb, toLE(0n)), false)
        return
      }
    }
  }
  throw new Error('no small-order forgery found')
})
add('A = identity, sign bit', 'x = 0 with the sign bit set ("negative zero")', withSign(Point.ZERO.toBytes(), true), msg, concatBytes(Point.ZERO.toBytes(), toLE(0n)), false)
add('A = identity, y = p+1', 'non-canonical encoding of a small-order key', toLE(P + 1n), msg, concatBytes(Point.ZERO.toBytes(), toLE(0n)), false)

// Non-canonical encodings (y >= p) of points that are not of small order.
for (let y = 2n; y < 19n; y++) {
  let q
  try {
    q = Point.fromBytes(toLE(y))
  } catch {
    continue
  }
  if (q.isSmallOrder()) continue
  add(`A y = p+${y}`, 'non-canonical public key (OpenSSL reduces y mod p)', toLE(P + y), msg, valid, false)
}

// Mixed-order public key (prime-order + T8): cofactorless verdict depends on k mod 8; both backends agree.
{
  const Amixed = A.add(T8).toBytes()
  let found = 0
  for (let n = 0; found < 4 && n < 200; n++) {
    const m = enc.encode(`mixed ${n}`)
    const r = hashScalar(enc.encode(`mixed nonce ${n}`))
    const R = Point.BASE.multiply(r).toBytes()
    const k = hashScalar(R, Amixed, m)
    const expected = k % 8n === 0n
    if (expected || found < 2) {
      add(`mixed-order A #${n}`, `A = aB + T8; cofactorless holds iff k = 0 mod 8 (here ${expected})`, Amixed, m, signWithR(r, R, Amixed, a, m), expected)
      if (expected) found = Math.max(found, 2) + 1
      else found++
    }
  }
}

// Lengths and plain tampering.
add('pk 31 bytes', 'wrong public key length', pk.subarray(0, 31), msg, valid, false)
add('pk 33 bytes', 'wrong public key length', concatBytes(pk, new Uint8Array(1)), msg, valid, false)
add('sig 63 bytes', 'wrong signature length', pk, msg, valid.subarray(0, 63), false)
add('sig 65 bytes', 'wrong signature length', pk, msg, concatBytes(valid, new Uint8Array(1)), false)
const flipped = valid.slice()
flipped[5]! ^= 1
add('R bit flip', 'tampered R', pk, msg, flipped, false)
add('message changed', 'tampered message', pk, enc.encode('munro edge casf'), valid, false)

process.stdout.write(JSON.stringify({ generator: 'test/vectors/generate-ed25519-edge.ts', vectors: out }, null, 2) + '\n')
