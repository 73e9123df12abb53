// Validation of untrusted payloads: type and length of every field, every
// count capped, unknown fields refused. One failed check gives one coded error.
// The packet's size was checked before it was parsed (packet-guard.ts).
import * as v from 'valibot'
import { SIGNALING_PROTOCOL_VERSION, SignalingErrorCode } from '../src/protocol/signaling.js'
import { SignalingError } from './errors.js'

export function parsePayload<S extends v.GenericSchema>(schema: S, payload: unknown): v.InferOutput<S> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new SignalingError(SignalingErrorCode.BAD_PAYLOAD, 'payload must be an object')
  }
  if (Object.hasOwn(payload, 'version')) {
    const version = (payload as { version: unknown }).version
    if (version !== SIGNALING_PROTOCOL_VERSION) {
      // Never String(version): a hostile object's toString could be anything.
      const shown = typeof version === 'number' ? String(version) : `of type ${version === null ? 'null' : typeof version}`
      throw new SignalingError(SignalingErrorCode.UNSUPPORTED_VERSION, `protocol version ${shown} is not supported; this server speaks ${SIGNALING_PROTOCOL_VERSION}`)
    }
  }
  const result = v.safeParse(schema, payload)
  if (!result.success) {
    const issue = result.issues[0]
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? ''
    throw new SignalingError(SignalingErrorCode.BAD_PAYLOAD, path ? `${path}: ${issue.message}` : issue.message)
  }
  return result.output
}
