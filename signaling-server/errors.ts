import { SignalingErrorCode, type SignalingErrorBody } from '../src/protocol/signaling.js'
import { RegistryError } from './registry/tree-registry.js'

/** An error the server reports to the client as `{ ok: false, error: { code, message } }`. */
export class SignalingError extends Error {
  readonly code: SignalingErrorCode
  constructor(code: SignalingErrorCode, message: string) {
    super(message)
    this.name = 'SignalingError'
    this.code = code
  }
}

const knownCodes = new Set<string>(Object.values(SignalingErrorCode))

/** Turns anything thrown in a handler into an error body; unknown failures become ERR_INTERNAL. */
export function toErrorBody(err: unknown): SignalingErrorBody {
  if ((err instanceof SignalingError || err instanceof RegistryError) && knownCodes.has(err.code)) {
    return { code: err.code as SignalingErrorCode, message: err.message }
  }
  return { code: SignalingErrorCode.INTERNAL, message: 'internal server error' }
}
