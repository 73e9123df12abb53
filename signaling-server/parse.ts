// Validation of untrusted payloads: type and length of every field, every
// count capped, unknown fields refused. One failed check gives one coded error.
import * as v from 'valibot'
import { SIGNALING_PROTOCOL_VERSION, SignalingErrorCode } from '../src/protocol/signaling.js'
import { SignalingError } from './errors.js'

export function parsePayload<S extends v.GenericSchema>(schema: S, payload: unknown, maxBytes: number): v.InferOutput<S> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new SignalingError(SignalingErrorCode.BAD_PAYLOAD, 'payload must be an object')
  }
  let size: number
  try {
    size = Buffer.byteLength(JSON.stringify(payload))
  } catch {
    throw new SignalingError(SignalingErrorCode.BAD_PAYLOAD, 'payload is not serializable')
  }
  if (size > maxBytes) {
    throw new SignalingError(SignalingErrorCode.PAYLOAD_TOO_LARGE, `payload is ${size} bytes; the limit is ${maxBytes}`)
  }
  const version = (payload as { version?: unknown }).version
  if ('version' in payload && version !== SIGNALING_PROTOCOL_VERSION) {
    throw new SignalingError(
      SignalingErrorCode.UNSUPPORTED_VERSION,
      `protocol version ${String(version)} is not supported; this server speaks ${SIGNALING_PROTOCOL_VERSION}`
    )
  }
  const result = v.safeParse(schema, payload)
  if (!result.success) {
    const issue = result.issues[0]
    const path = issue.path?.map((p) => String(p.key)).join('.') ?? ''
    throw new SignalingError(SignalingErrorCode.BAD_PAYLOAD, path ? `${path}: ${issue.message}` : issue.message)
  }
  return result.output
}
