// Every byte layout the source signs with the tree key, in one place (as
// hypercore's caps.js), imported by the signer and by every verifier so the
// two sides can never drift apart. Canonical and fixed-layout, never JSON:
// each starts with its own domain tag (so a signature of one kind can never
// pass as another, nor as the signaling challenge proof), then the tree key
// and every field that places the signed thing in the stream: the session
// (epoch), the position, the time. A signature therefore cannot be replayed
// at another index, length, time or source session.
//
//   munro:  "munro/v2/munro\0" (15) || treeKey (32) || u64 epoch || u64 start
//           || u32 count || u32 span || u64 timestamp || root (32)      = 111 bytes
//   init:   "munro/v2/init\0"  (14) || treeKey (32) || u64 epoch || u32 seq
//           || u64 atIndex || u64 timestamp || u32 length || payload   = 78 + payload
//
// (The signaling server's source proof is built by protocol/signaling.ts; its
// text tag "munro-signal/v…" cannot collide with these binary tags.)
import { ErrorCode, MunroError } from '../errors.js'
import { writeU64 } from '../crypto/bytes.js'
import type { InitFrame, MunroFrame } from './frames.js'

const MUNRO_TAG = new TextEncoder().encode('munro/v2/munro\0')
const INIT_TAG = new TextEncoder().encode('munro/v2/init\0')

/** Length of the signable bytes of a munro. */
export const MUNRO_SIGNABLE_BYTES = MUNRO_TAG.length + 32 + 8 + 8 + 4 + 4 + 8 + 32
const INIT_SIGNABLE_HEAD = INIT_TAG.length + 32 + 8 + 4 + 8 + 8 + 4

/** The fields of a munro that its signature covers. */
export type MunroFields = Omit<MunroFrame, 'type' | 'signature'>
/** The fields of an init message that its signature covers. */
export type InitFields = Omit<InitFrame, 'type' | 'signature'>

/** A signable of `size` bytes starting with `tag` and the tree key; returns where the fields go. */
function begin(tag: Uint8Array, treeKey: Uint8Array, size: number, what: string): { out: Uint8Array; view: DataView; at: number } {
  if (treeKey.length !== 32) throw new MunroError(ErrorCode.INVALID_ARGUMENT, `${what}: tree key must be 32 bytes`)
  const out = new Uint8Array(size)
  out.set(tag, 0)
  out.set(treeKey, tag.length)
  return { out, view: new DataView(out.buffer), at: tag.length + 32 }
}

/** Builds the signable bytes of a munro of the tree `treeKey` (32-byte public key). */
export function munroSignable(treeKey: Uint8Array, munro: MunroFields): Uint8Array {
  if (munro.root.length !== 32) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'munroSignable: root must be 32 bytes')
  const { out, view, at } = begin(MUNRO_TAG, treeKey, MUNRO_SIGNABLE_BYTES, 'munroSignable')
  writeU64(view, at, munro.epoch)
  writeU64(view, at + 8, munro.start)
  view.setUint32(at + 16, munro.count)
  view.setUint32(at + 20, munro.span)
  writeU64(view, at + 24, munro.timestamp)
  out.set(munro.root, at + 32)
  return out
}

/** Builds the signable bytes of an init message of the tree `treeKey`. */
export function initSignable(treeKey: Uint8Array, init: InitFields): Uint8Array {
  const { out, view, at } = begin(INIT_TAG, treeKey, INIT_SIGNABLE_HEAD + init.payload.length, 'initSignable')
  writeU64(view, at, init.epoch)
  view.setUint32(at + 8, init.seq)
  writeU64(view, at + 12, init.atIndex)
  writeU64(view, at + 20, init.timestamp)
  view.setUint32(at + 28, init.payload.length)
  out.set(init.payload, INIT_SIGNABLE_HEAD)
  return out
}
