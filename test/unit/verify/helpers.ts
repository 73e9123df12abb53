// Builds signed streams for the verifier tests.
import { generateKeyPair, type KeyPair } from '../../../src/crypto/keys.js'
import { StreamSigner, type SignedInit, type SignedMunro, type StreamSignerOptions } from '../../../src/sign/munro-signer.js'
import { type ChunkFrame, type MunroFrame, decodeFrame } from '../../../src/wire/frames.js'

export const NOW = 1_700_000_000_000

export interface TestMessage {
  bytes: Uint8Array
  startPoint?: boolean
  init?: boolean
}

/** Deterministic message bytes. */
export function messageBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let s = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    out[i] = s & 255
  }
  return out
}

/**
 * Signs `messages` with one signer (munros closed by span, then a final
 * flush). `frames` is everything in the order the source emitted it.
 */
export async function signStream(
  messages: TestMessage[],
  options: Partial<StreamSignerOptions> & { keys?: KeyPair } = {}
): Promise<{ keys: KeyPair; munros: SignedMunro[]; inits: SignedInit[]; frames: Uint8Array[] }> {
  const keys = options.keys ?? generateKeyPair()
  const signer = new StreamSigner({ munroDeadlineMs: Infinity, now: () => NOW, epoch: 1, ...options, ...keys })
  const munros: SignedMunro[] = []
  const inits: SignedInit[] = []
  const frames: Uint8Array[] = []
  signer.on('munro', (m) => (munros.push(m), frames.push(...m.frames)))
  signer.on('init', (i) => (inits.push(i), frames.push(i.bytes)))
  for (const m of messages) {
    if (m.init) signer.writeInit(m.bytes)
    else signer.write(m.bytes, { startPoint: m.startPoint })
  }
  signer.flush()
  await signer.settled()
  signer.destroy()
  return { keys, munros, inits, frames }
}

/** Decodes frame bytes, asserting success and type. */
export function munroOf(bytes: Uint8Array): MunroFrame {
  const r = decodeFrame(bytes)
  if (!r.ok || r.frame.type !== 2) throw new Error('not a munro frame')
  return r.frame
}
export function chunkOf(bytes: Uint8Array): ChunkFrame {
  const r = decodeFrame(bytes)
  if (!r.ok || r.frame.type !== 3) throw new Error('not a chunk frame')
  return r.frame
}

/** Deterministic Fisher-Yates shuffle. */
export function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice()
  let s = seed >>> 0 || 7
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
