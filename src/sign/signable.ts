// The exact bytes a munro signature covers. Shared by the signer and the
// verifier so the two can never drift apart. Canonical and fixed-size, never
// JSON: a domain tag (so a munro signature can never be confused with any
// other signature made with the tree key, e.g. a signaling challenge), the
// tree key, and every field that positions the munro in the stream, so a
// signature cannot be replayed at another index, length or time.
//
//   "munro/v1/munro\0" (15) || treeKey (32) || u64 start || u32 count
//   || u32 span || u64 timestamp || root (32)                 = 103 bytes
import { ErrorCode, MunroError } from '../errors.js'
import { writeU64 } from '../crypto/bytes.js'

const TAG = new TextEncoder().encode('munro/v1/munro\0')

/** Length of the signable bytes of a munro. */
export const MUNRO_SIGNABLE_BYTES = TAG.length + 32 + 8 + 4 + 4 + 8 + 32

/** The fields of a munro that its signature covers. */
export interface MunroFields {
  start: number
  count: number
  span: number
  timestamp: number
  root: Uint8Array
}

/** Builds the signable bytes of a munro of the tree `treeKey` (32-byte public key). */
export function munroSignable(treeKey: Uint8Array, munro: MunroFields): Uint8Array {
  if (treeKey.length !== 32 || munro.root.length !== 32) {
    throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'munroSignable: tree key and root must be 32 bytes')
  }
  const out = new Uint8Array(MUNRO_SIGNABLE_BYTES)
  const view = new DataView(out.buffer)
  let o = 0
  out.set(TAG, o)
  o += TAG.length
  out.set(treeKey, o)
  o += 32
  writeU64(view, o, munro.start)
  o += 8
  view.setUint32(o, munro.count)
  o += 4
  view.setUint32(o, munro.span)
  o += 4
  writeU64(view, o, munro.timestamp)
  o += 8
  out.set(munro.root, o)
  return out
}
