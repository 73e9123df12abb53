// Ed25519 signing and verification with one verdict on every runtime.
//
// Two backends: WebCrypto (native, ~10x faster; Chromium >= 137, Node >= 20)
// and @noble/ed25519 (pure JS, everywhere). Implementations of ed25519 differ
// on edge cases, so the *policy* is ours and is applied before either backend
// is asked (RFC 8032 §5.1.7 with these decisions):
//
//  1. Lengths: public key 32 bytes, signature 64 bytes; anything else is false.
//  2. S must be canonical: S < L. (Malleability; some verifiers only check the top bits.)
//  3. The public key A must be a canonical encoding (y < p; no "negative zero"
//     x = 0 with the sign bit set) of a point that is not of small order. Small-order
//     keys make one signature valid for many messages; non-canonical ones are
//     reduced mod p by OpenSSL but refused by strict decoders.
//  4. The equation is the cofactorless one, checked byte-wise: encode([S]B - [k]A)
//     must equal the 32 R bytes, with k = SHA-512(R || A || M) over the bytes as
//     received. This rejects non-canonical R encodings and R with a small-order
//     component, as OpenSSL (Node) and BoringSSL (Chromium) do. Mixed-order
//     public keys (prime-order point + torsion) are allowed: both backends
//     compute the same cofactorless equation, so they still agree.
//
// The noble path implements rule 4 itself (noble's own verify is cofactored).
// The WebCrypto path is used only after a one-time probe shows the runtime is
// cofactorless and accepts a known-good vector (see ed25519-probe.ts); otherwise
// noble is used. Bad keys or signatures never throw: they verify as false.
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { ErrorCode, MunroError } from '../errors.js'
import { base64urlEncode, bytesToHex, concatBytes, equalBytes, hexToBytes } from './bytes.js'
import {
  PROBE_PUBLIC_KEY_HEX,
  PROBE_TORSION_MESSAGE,
  PROBE_TORSION_SIGNATURE_HEX,
  PROBE_VALID_SIGNATURE_HEX
} from './ed25519-probe.js'

// noble's synchronous API needs a SHA-512; wire in noble's own if nobody did.
if (!ed.hashes.sha512) ed.hashes.sha512 = sha512

/** Group order L = 2^252 + 27742317777372353535851937790883648493. */
const L = (1n << 252n) + 27742317777372353535851937790883648493n
/** Field prime p = 2^255 - 19. */
const P = (1n << 255n) - 19n
const KEY_CACHE_MAX = 1024

type Bytes = Uint8Array<ArrayBuffer>

// ------------------------------------------------------------ policy checks

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!)
  return n
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array
}

/** L as 32 little-endian bytes, for rule 2 without bigint arithmetic on every verification. */
const L_BYTES = (() => {
  const out = new Uint8Array(32)
  for (let i = 0, n = L; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn)
  return out
})()

/** Rule 2: the S half of a signature is below the group order (little-endian compare, top byte first). */
function hasCanonicalS(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!
    const l = L_BYTES[i]!
    if (s !== l) return s < l
  }
  return false // S === L
}

/** Rule 3: decodes A strictly; null when not canonical, not on the curve, or of small order. */
function decodeUsablePoint(publicKey: Uint8Array): ed.Point | null {
  if (publicKey.length !== 32) return null
  const y = leToBigint(publicKey) & ((1n << 255n) - 1n)
  if (y >= P) return null
  try {
    // Strict decoding (zip215 = false) also rejects x = 0 with the sign bit set.
    const point = ed.Point.fromBytes(publicKey, false)
    return point.isSmallOrder() ? null : point
  } catch {
    return null
  }
}

interface KeyEntry {
  /** Decoded point, or null when the key fails rule 3. */
  point: ed.Point | null
  /** Imported WebCrypto key, created on first WebCrypto use. */
  webKey?: Promise<CryptoKey | null>
}

// Public keys repeat (one per tree), and decoding one costs a square root;
// the signaling server sees many trees, so the cache is bounded (LRU by Map order).
const keyCache = new Map<string, KeyEntry>()

function keyEntry(publicKey: Uint8Array): KeyEntry {
  const id = bytesToHex(publicKey)
  let entry = keyCache.get(id)
  if (entry) {
    keyCache.delete(id)
  } else {
    entry = { point: decodeUsablePoint(publicKey) }
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!)
  }
  keyCache.set(id, entry)
  return entry
}

/**
 * True when `publicKey` is 32 bytes encoding a usable ed25519 key: canonical,
 * on the curve, and not of small order (rule 3 above).
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return isBytes(publicKey) && publicKey.length === 32 && keyEntry(publicKey).point !== null
}

// ------------------------------------------------------------ noble backend

/** Rule 4 with noble's point arithmetic: encode([S]B - [k]A) === R. Inputs pre-checked. */
function cofactorlessVerify(A: ed.Point, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32)
  const s = leToBigint(signature.subarray(32, 64))
  const k = leToBigint(sha512(concatBytes(r, publicKey, message))) % L
  // multiply(n, false) is variable-time and accepts n = 0: fine, all inputs are public.
  const sB = ed.Point.BASE.multiply(s, false)
  const kA = A.multiply(k, false)
  return equalBytes(sB.subtract(kA).toBytes(), r)
}

/**
 * Verifies with @noble/ed25519 under the policy above. Synchronous; ~1 ms.
 * Returns false (never throws) for bad keys, signatures or argument types.
 */
export function verifyWithNoble(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!isBytes(publicKey) || !isBytes(message) || !isBytes(signature)) return false
    if (publicKey.length !== 32 || signature.length !== 64 || !hasCanonicalS(signature)) return false
    const { point } = keyEntry(publicKey)
    return point !== null && cofactorlessVerify(point, publicKey, message, signature)
  } catch {
    return false
  }
}

// ------------------------------------------------------------ WebCrypto backend

function subtle(): SubtleCrypto | undefined {
  return globalThis.crypto?.subtle
}

function importVerifyKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  const s = subtle()
  if (!s) return Promise.resolve(null)
  return s.importKey('raw', publicKey.slice() as Bytes, { name: 'Ed25519' }, false, ['verify']).catch(() => null)
}

/**
 * Verifies with the runtime's WebCrypto Ed25519 under the policy above (rules
 * 1-3 are checked here; rule 4 is the backend's own, see the probe). Returns
 * false for bad keys or signatures. Rejects with MunroError
 * ERR_UNSUPPORTED_RUNTIME when the runtime has no WebCrypto Ed25519.
 */
export async function verifyWithWebCrypto(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array
): Promise<boolean> {
  const s = subtle()
  if (!s) throw new MunroError(ErrorCode.UNSUPPORTED_RUNTIME, 'WebCrypto is not available (insecure context?)')
  if (!isBytes(publicKey) || !isBytes(message) || !isBytes(signature)) return false
  if (publicKey.length !== 32 || signature.length !== 64 || !hasCanonicalS(signature)) return false
  const entry = keyEntry(publicKey)
  if (entry.point === null) return false
  const key = await (entry.webKey ??= importVerifyKey(publicKey))
  if (!key) throw new MunroError(ErrorCode.UNSUPPORTED_RUNTIME, 'WebCrypto cannot import an Ed25519 public key')
  try {
    return await s.verify('Ed25519', key, signature as Bytes, message as Bytes)
  } catch {
    return false
  }
}

let probeResult: Promise<boolean> | undefined

/** Runs the backend probe once: a known-good vector must pass, the torsion vector must fail. */
async function probeWebCrypto(): Promise<boolean> {
  const s = subtle()
  if (!s) return false
  try {
    const key = await s.importKey('raw', hexToBytes(PROBE_PUBLIC_KEY_HEX) as Bytes, { name: 'Ed25519' }, false, ['verify'])
    const good = await s.verify('Ed25519', key, hexToBytes(PROBE_VALID_SIGNATURE_HEX) as Bytes, new Uint8Array(0))
    const torsion = await s.verify(
      'Ed25519',
      key,
      hexToBytes(PROBE_TORSION_SIGNATURE_HEX) as Bytes,
      new TextEncoder().encode(PROBE_TORSION_MESSAGE)
    )
    return good && !torsion
  } catch {
    return false
  }
}

/** Which backend `verifySignature` and `signMessage` use on this runtime (probed once). */
export async function ed25519Backend(): Promise<'webcrypto' | 'noble'> {
  return (await (probeResult ??= probeWebCrypto())) ? 'webcrypto' : 'noble'
}

// ------------------------------------------------------------ public API

/**
 * Verifies an ed25519 signature under the policy above, with WebCrypto when
 * the runtime has a conforming one and noble otherwise; both give the same
 * verdict. Resolves to false (never rejects) for any bad input.
 */
export async function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    if (!isBytes(publicKey) || !isBytes(message) || !isBytes(signature)) return false
    if (publicKey.length !== 32 || signature.length !== 64 || !hasCanonicalS(signature)) return false
    const entry = keyEntry(publicKey)
    if (entry.point === null) return false
    if (await (probeResult ??= probeWebCrypto())) {
      const key = await (entry.webKey ??= importVerifyKey(publicKey))
      if (key) {
        try {
          return await subtle()!.verify('Ed25519', key, signature as Bytes, message as Bytes)
        } catch {
          // A runtime that refuses this call: fall through to noble, same policy.
        }
      }
    }
    return cofactorlessVerify(entry.point, publicKey, message, signature)
  } catch {
    return false
  }
}

/** Derives the 32-byte public key of a 32-byte secret key (RFC 8032 §5.1.5). */
export function derivePublicKey(secretKey: Uint8Array): Uint8Array {
  assertSecretKey(secretKey)
  return ed.getPublicKey(secretKey)
}

function assertSecretKey(secretKey: Uint8Array): void {
  if (!isBytes(secretKey) || secretKey.length !== 32) {
    const got = isBytes(secretKey) ? `${secretKey.length} bytes` : typeof secretKey
    throw new MunroError(ErrorCode.BAD_KEY, `ed25519: secret key must be 32 bytes, got ${got}`)
  }
}

interface SigningEntry {
  /** Copy of the secret key, to notice a caller mutating the array we keyed on. */
  copy: Uint8Array
  key: Promise<CryptoKey | null>
}
const signingKeys = new WeakMap<Uint8Array, SigningEntry>()

function importSigningKey(secretKey: Uint8Array): Promise<CryptoKey | null> {
  const s = subtle()
  if (!s) return Promise.resolve(null)
  // WebCrypto has no raw import for Ed25519 private keys; JWK needs x as well.
  const jwk: JsonWebKey = {
    kty: 'OKP',
    crv: 'Ed25519',
    d: base64urlEncode(secretKey),
    x: base64urlEncode(derivePublicKey(secretKey))
  }
  return s.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']).catch(() => null)
}

/**
 * Signs `message` with a 32-byte secret key (pure Ed25519, deterministic, so
 * both backends produce identical bytes). Throws MunroError ERR_BAD_KEY for a
 * malformed secret key.
 */
export async function signMessage(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  assertSecretKey(secretKey)
  if (!isBytes(message)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'ed25519: message must be a Uint8Array')
  if (await ed25519Backend() === 'webcrypto') {
    let entry = signingKeys.get(secretKey)
    if (!entry || !equalBytes(entry.copy, secretKey)) {
      entry = { copy: secretKey.slice(), key: importSigningKey(secretKey) }
      signingKeys.set(secretKey, entry)
    }
    const key = await entry.key
    if (key) {
      try {
        return new Uint8Array(await subtle()!.sign('Ed25519', key, message as Bytes))
      } catch {
        // Fall back to noble below.
      }
    }
  }
  return ed.sign(message, secretKey)
}
