// Tree keys: a tree is named by its source's ed25519 public key. The tree id
// is that key in base64url (43 characters), the form the signaling server and
// URLs carry; the wire carries the raw 32 bytes.
import * as ed from '@noble/ed25519'
import { ErrorCode, MunroError } from '../errors.js'
import { base64urlDecode, base64urlEncode, equalBytes } from './bytes.js'
import { derivePublicKey, isValidPublicKey } from './ed25519.js'

/** A source's signing key pair. Keep `secretKey` on the source only. */
export interface KeyPair {
  /** 32-byte ed25519 seed (RFC 8032 "private key"). */
  secretKey: Uint8Array
  /** 32-byte ed25519 public key; also the tree's identity. */
  publicKey: Uint8Array
}

/** JSON-able form of a KeyPair: both halves as unpadded base64url. */
export interface ExportedKeyPair {
  secretKey: string
  publicKey: string
}

/** Length of a tree id: base64url of 32 bytes. */
export const TREE_ID_LENGTH = 43

/** Generates a fresh key pair from the runtime's CSPRNG (crypto.getRandomValues). */
export function generateKeyPair(): KeyPair {
  const secretKey = ed.utils.randomSecretKey()
  return { secretKey, publicKey: derivePublicKey(secretKey) }
}

/** Exports a key pair to its JSON-able form. */
export function exportKeyPair(pair: KeyPair): ExportedKeyPair {
  checkPair(pair.secretKey, pair.publicKey)
  return { secretKey: base64urlEncode(pair.secretKey), publicKey: base64urlEncode(pair.publicKey) }
}

/**
 * Imports an exported key pair. Throws MunroError ERR_BAD_ENCODING for bad
 * base64url, ERR_BAD_KEY for wrong lengths or a public key that is not the
 * secret key's own (a swapped or corrupted file must not sign under another tree).
 */
export function importKeyPair(exported: ExportedKeyPair): KeyPair {
  if (typeof exported !== 'object' || exported === null) {
    throw new MunroError(ErrorCode.BAD_KEY, 'importKeyPair: expected { secretKey, publicKey }')
  }
  const pair = { secretKey: base64urlDecode(exported.secretKey), publicKey: base64urlDecode(exported.publicKey) }
  checkPair(pair.secretKey, pair.publicKey)
  return pair
}

function checkPair(secretKey: Uint8Array, publicKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new MunroError(ErrorCode.BAD_KEY, 'key pair: secret key must be 32 bytes')
  }
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new MunroError(ErrorCode.BAD_KEY, 'key pair: public key must be 32 bytes')
  }
  if (!equalBytes(derivePublicKey(secretKey), publicKey)) {
    throw new MunroError(ErrorCode.BAD_KEY, 'key pair: public key does not belong to the secret key')
  }
}

/** The tree id of a public key. Throws MunroError ERR_BAD_KEY if the key is not usable. */
export function treeIdFromPublicKey(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || !isValidPublicKey(publicKey)) {
    throw new MunroError(ErrorCode.BAD_KEY, 'treeIdFromPublicKey: expected a 32-byte usable ed25519 public key')
  }
  return base64urlEncode(publicKey)
}

/**
 * The public key a tree id names. Throws MunroError ERR_BAD_TREE_ID unless the
 * id is 43 canonical base64url characters encoding a usable ed25519 key
 * (canonical, not of small order), since no signature could ever verify under
 * anything else.
 */
export function publicKeyFromTreeId(treeId: string): Uint8Array {
  if (typeof treeId !== 'string' || treeId.length !== TREE_ID_LENGTH) {
    throw new MunroError(ErrorCode.BAD_TREE_ID, `tree id must be ${TREE_ID_LENGTH} base64url characters`)
  }
  let key: Uint8Array
  try {
    key = base64urlDecode(treeId)
  } catch (err) {
    throw new MunroError(ErrorCode.BAD_TREE_ID, 'tree id is not canonical base64url', { cause: err })
  }
  if (!isValidPublicKey(key)) throw new MunroError(ErrorCode.BAD_TREE_ID, 'tree id is not a usable ed25519 public key')
  return key
}
