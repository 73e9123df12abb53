// Decoder fuzz: random bytes and mutations of valid frames. The decoder must
// never throw, and whatever it accepts must re-encode to the very same bytes
// (one encoding per frame), within the declared bounds.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { equalBytes } from '../../../src/crypto/bytes.js'
import { FrameType, decodeFrame, encodeFrame } from '../../../src/wire/frames.js'
import { MAX_FRAME_BYTES } from '../../../src/wire/limits.js'
import { arbFrame } from './frame-arbitraries.js'

// Small deterministic PRNG (xorshift32) so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 0x1_0000_0000
  }
}

function check(bytes: Uint8Array): boolean {
  let result
  try {
    result = decodeFrame(bytes)
  } catch (err) {
    throw new Error(`decoder threw on ${Buffer.from(bytes).toString('hex').slice(0, 80)}: ${String(err)}`)
  }
  if (!result.ok) {
    expect(typeof result.code).toBe('string')
    return false
  }
  const again = encodeFrame(result.frame)
  if (!equalBytes(again, bytes)) throw new Error(`accepted a non-canonical encoding: ${Buffer.from(bytes).toString('hex').slice(0, 80)}`)
  if (result.frame.type === FrameType.CHUNK) expect(result.frame.payload.length).toBeLessThan(MAX_FRAME_BYTES)
  return true
}

describe('decoder fuzz', () => {
  it('survives 100,000+ random and mutated frames', () => {
    const random = rng(0x6d756e72)
    const seeds = fc.sample(arbFrame, { numRuns: 500, seed: 42 }).map((f) => encodeFrame(f))
    let total = 0
    let accepted = 0
    const started = performance.now()
    // 1. Pure random bytes, biased towards a valid header so bodies get exercised.
    for (let i = 0; i < 30_000; i++) {
      const len = Math.floor(random() ** 3 * 300)
      const bytes = new Uint8Array(len)
      for (let j = 0; j < len; j++) bytes[j] = (random() * 256) | 0
      if (len > 0 && random() < 0.8) bytes[0] = 1
      if (len > 1 && random() < 0.8) bytes[1] = 1 + ((random() * 6) | 0)
      if (check(bytes)) accepted++
      total++
    }
    // 2. Mutations of valid frames: flips, truncations, extensions, splices.
    for (let i = 0; i < 80_000; i++) {
      const base = seeds[(random() * seeds.length) | 0]!
      let bytes = base.slice()
      const op = (random() * 5) | 0
      if (op === 0) {
        const n = 1 + ((random() * 4) | 0)
        for (let k = 0; k < n; k++) bytes[(random() * bytes.length) | 0]! ^= 1 + ((random() * 255) | 0)
      } else if (op === 1) {
        bytes = bytes.subarray(0, (random() * bytes.length) | 0)
      } else if (op === 2) {
        const extra = new Uint8Array(1 + ((random() * 40) | 0))
        for (let k = 0; k < extra.length; k++) extra[k] = (random() * 256) | 0
        const grown = new Uint8Array(bytes.length + extra.length)
        grown.set(bytes)
        grown.set(extra, bytes.length)
        bytes = grown
      } else if (op === 3) {
        // Overwrite one u32 with an edge value (lengths, spans, counts).
        const edges = [0, 1, 0x7fffffff, 0xffffffff, 1024, 2048, MAX_FRAME_BYTES]
        if (bytes.length >= 6) new DataView(bytes.buffer).setUint32((random() * (bytes.length - 4)) | 0, edges[(random() * edges.length) | 0]!)
      } else {
        const other = seeds[(random() * seeds.length) | 0]!
        const cut = (random() * Math.min(bytes.length, other.length)) | 0
        const spliced = new Uint8Array(other.length)
        spliced.set(bytes.subarray(0, cut))
        spliced.set(other.subarray(cut), cut)
        bytes = spliced
      }
      if (check(bytes)) accepted++
      total++
    }
    const ms = performance.now() - started
    expect(total).toBeGreaterThanOrEqual(100_000)
    // Some mutations stay valid (payload bytes); most must not.
    expect(accepted).toBeGreaterThan(0)
    expect(accepted).toBeLessThan(total)
    expect(ms).toBeLessThan(30_000)
  })
})
