// Byte helpers shared by the crypto and wire layers: strict base64url, hex,
// concatenation, comparison and big-endian u64 fields. Pure: runs unchanged
// in browsers and Node, no Buffer, no atob.
import { ErrorCode, MunroError } from '../errors.js'

/** Largest integer a u64 field may carry: JS numbers stay exact up to 2^53 - 1. */
export const MAX_SAFE_U64 = Number.MAX_SAFE_INTEGER

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
// Reverse table: char code -> 6-bit value, or -1 for anything outside the alphabet.
const DECODE = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

// ------------------------------------------------------------ base64url

/** Encodes bytes as unpadded base64url (RFC 4648 §5). */
export function base64urlEncode(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]!
  }
  return out
}

/**
 * Decodes unpadded base64url. Strict, so that every byte string has exactly
 * one accepted text form (ids compare as strings): no padding, no whitespace,
 * no standard-alphabet `+` `/`, and the unused low bits of the last character
 * must be zero. Throws MunroError ERR_BAD_ENCODING otherwise.
 */
export function base64urlDecode(text: string): Uint8Array {
  if (typeof text !== 'string') throw new MunroError(ErrorCode.BAD_ENCODING, `base64url: expected a string, got ${typeof text}`)
  const tail = text.length % 4
  if (tail === 1) throw new MunroError(ErrorCode.BAD_ENCODING, `base64url: impossible length ${text.length}`)
  const out = new Uint8Array(((text.length - tail) / 4) * 3 + (tail === 0 ? 0 : tail - 1))
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    const v = c < 128 ? DECODE[c]! : -1
    if (v < 0) throw new MunroError(ErrorCode.BAD_ENCODING, `base64url: invalid character at ${i}`)
    acc = ((acc << 6) | v) & 0xffffff
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  // Leftover bits (2 or 4) must be zero, or two strings would decode alike.
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) {
    throw new MunroError(ErrorCode.BAD_ENCODING, 'base64url: non-zero padding bits (not canonical)')
  }
  return out
}

// ------------------------------------------------------------ hex (vectors, logs)

/** Encodes bytes as lowercase hex. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16)
  return out
}

/** Decodes even-length hex (either case). Throws MunroError ERR_BAD_ENCODING on anything else. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new MunroError(ErrorCode.BAD_ENCODING, 'hex: expected an even-length string of hex digits')
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

// ------------------------------------------------------------ arrays

/** Returns a new array holding the given arrays one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Byte-wise equality. Not constant-time: only for public data (hashes, signatures). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// ------------------------------------------------------------ u64 (big-endian)

/**
 * Reads a big-endian u64 at `offset`. Returns -1 when the value exceeds
 * 2^53 - 1 (not representable exactly), so decoders can reject without throwing.
 */
export function readU64(view: DataView, offset: number): number {
  const hi = view.getUint32(offset)
  if (hi > 0x1fffff) return -1
  return hi * 0x1_0000_0000 + view.getUint32(offset + 4)
}

/** Writes `value` (an integer in 0..2^53-1) as a big-endian u64 at `offset`. */
export function writeU64(view: DataView, offset: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MunroError(ErrorCode.INVALID_ARGUMENT, `u64: expected an integer in 0..2^53-1, got ${value}`)
  }
  view.setUint32(offset, Math.floor(value / 0x1_0000_0000))
  view.setUint32(offset + 4, value >>> 0)
}

/** True when `value` is an integer in 0..2^53-1. */
export function isU64(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** A DataView over exactly the bytes of `bytes` (respects its offset into a larger buffer). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
