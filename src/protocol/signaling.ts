// The signaling contract: the one module that both the browser SDK and the
// signaling server import. Types say what each side may send; the valibot
// schemas are what each side actually enforces on what it receives.
import * as v from 'valibot'
import { base64urlDecode } from '../crypto/bytes.js'

export const SIGNALING_PROTOCOL_VERSION = 1

/** Limits both sides agree on. The server may be configured lower, never higher. */
export const SIGNALING_LIMITS = {
  /** Largest serialized payload of one signaling event, in bytes. */
  maxPayloadBytes: 16 * 1024,
  /** Largest k or k1 a tree may ask for. */
  maxFanout: 64,
  /** Base64url of a 32-byte ed25519 public key. */
  treeIdLength: 43,
  /** Base64url of a 64-byte ed25519 signature. */
  signatureLength: 86,
  /** Base64url of a 32-byte random challenge. */
  challengeLength: 43,
  /** Base64url of 16 random bytes. */
  peerIdLength: 22,
  /** Base64url of 32 random bytes. */
  resumeTokenLength: 43
} as const

/** Stable error codes. Callers branch on these, never on message text. */
export const SignalingErrorCode = {
  BAD_PAYLOAD: 'ERR_BAD_PAYLOAD',
  PAYLOAD_TOO_LARGE: 'ERR_PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  UNSUPPORTED_VERSION: 'ERR_UNSUPPORTED_VERSION',
  UNKNOWN_EVENT: 'ERR_UNKNOWN_EVENT',
  NO_CHALLENGE: 'ERR_NO_CHALLENGE',
  BAD_SIGNATURE: 'ERR_BAD_SIGNATURE',
  TREE_EXISTS: 'ERR_TREE_EXISTS',
  TREE_NOT_FOUND: 'ERR_TREE_NOT_FOUND',
  TREE_LIMIT: 'ERR_TREE_LIMIT',
  TREE_FULL: 'ERR_TREE_FULL',
  ALREADY_IN_TREE: 'ERR_ALREADY_IN_TREE',
  NOT_IN_TREE: 'ERR_NOT_IN_TREE',
  NOT_A_NEIGHBOUR: 'ERR_NOT_A_NEIGHBOUR',
  NOT_YOUR_PARENT: 'ERR_NOT_YOUR_PARENT',
  BAD_RESUME: 'ERR_BAD_RESUME',
  /** The tree's source is disconnected (its grace period runs): signals to it cannot be delivered. */
  SOURCE_ABSENT: 'ERR_SOURCE_ABSENT',
  /** That neighbour is disconnected for a moment (its resume grace runs). */
  PEER_ABSENT: 'ERR_PEER_ABSENT',
  /** After a server restart: the parent this peer claims is not back yet; retry shortly (the tree is being rebuilt). */
  PARENT_PENDING: 'ERR_PARENT_PENDING',
  /** Every peer with a free slot is disconnected for a moment; retry shortly. */
  NO_SLOT: 'ERR_NO_SLOT',
  /** The server is shedding signals to stay responsive; retry shortly. */
  OVERLOADED: 'ERR_OVERLOADED',
  /** The store the server processes share (Redis) is unreachable for a moment; retry shortly. */
  UNAVAILABLE: 'ERR_UNAVAILABLE',
  /** Counted only (the connection is closed): too much queued towards a client that does not read. */
  SLOW_READER: 'ERR_SLOW_READER',
  /** Counted only (the connection is closed): too many unknown, rate-limited or malformed events. */
  ABUSE: 'ERR_ABUSE',
  INTERNAL: 'ERR_INTERNAL',
  TIMEOUT: 'ERR_TIMEOUT',
  DISCONNECTED: 'ERR_DISCONNECTED',
  /** Client side: no connection to the signaling server within connectTimeoutMs; `cause` is the last connection error. */
  SIGNAL_UNREACHABLE: 'ERR_SIGNAL_UNREACHABLE',
  DESTROYED: 'ERR_DESTROYED'
} as const
export type SignalingErrorCode = (typeof SignalingErrorCode)[keyof typeof SignalingErrorCode]

// ---------------------------------------------------------------- primitives

const base64url = (length: number, what: string) =>
  v.pipe(
    v.string(`${what} must be a string`),
    v.length(length, `${what} must be ${length} base64url characters`),
    v.regex(/^[A-Za-z0-9_-]+$/, `${what} must be base64url`),
    v.check(isCanonicalBase64url, `${what} must be canonical base64url (zero padding bits)`)
  )

function isCanonicalBase64url(text: string): boolean {
  try {
    base64urlDecode(text)
    return true
  } catch {
    return false
  }
}

export const TreeIdSchema = base64url(SIGNALING_LIMITS.treeIdLength, 'treeId')
export const PeerIdSchema = base64url(SIGNALING_LIMITS.peerIdLength, 'peerId')
const FanoutSchema = v.pipe(
  v.number('fan-out must be a number'),
  v.integer('fan-out must be an integer'),
  v.minValue(1, 'fan-out must be at least 1'),
  v.maxValue(SIGNALING_LIMITS.maxFanout, `fan-out must be at most ${SIGNALING_LIMITS.maxFanout}`)
)

// ------------------------------------------------------- client to server

/**
 * What a rejoining peer says it holds: its parent and children on the data
 * plane. A restarted server rebuilds an edge only when both ends claim it.
 */
export const LinkHintsSchema = v.strictObject({
  parent: v.nullable(PeerIdSchema),
  children: v.pipe(v.array(PeerIdSchema), v.maxLength(SIGNALING_LIMITS.maxFanout))
})
export type LinkHints = v.InferOutput<typeof LinkHintsSchema>

export const ResumeSchema = v.strictObject({
  peerId: PeerIdSchema,
  token: base64url(SIGNALING_LIMITS.resumeTokenLength, 'resume token')
})
export type ResumeTicket = v.InferOutput<typeof ResumeSchema>

// Field notes are line comments: JSDoc on an inferred field shows up once per
// use in TypeDoc, which then warns that the comment is declared several times.
export const CreateTreeSchema = v.strictObject({
  version: v.literal(SIGNALING_PROTOCOL_VERSION, 'unsupported protocol version'),
  treeId: TreeIdSchema,
  challenge: base64url(SIGNALING_LIMITS.challengeLength, 'challenge'),
  signature: base64url(SIGNALING_LIMITS.signatureLength, 'signature'),
  k: v.optional(FanoutSchema),
  k1: v.optional(FanoutSchema),
  // The source's last ticket: after a server restart it keeps its peer id, so its children's claims still name it.
  resume: v.optional(ResumeSchema),
  // The source's children on the data plane, sent with a rejoin (see LinkHintsSchema).
  link: v.optional(LinkHintsSchema)
})
export type CreateTreeRequest = v.InferOutput<typeof CreateTreeSchema>

export const JoinTreeSchema = v.strictObject({
  version: v.literal(SIGNALING_PROTOCOL_VERSION, 'unsupported protocol version'),
  treeId: TreeIdSchema,
  resume: v.optional(ResumeSchema),
  link: v.optional(LinkHintsSchema)
})
export type JoinTreeRequest = v.InferOutput<typeof JoinTreeSchema>

export const LeaveTreeSchema = v.strictObject({ treeId: TreeIdSchema })
export type LeaveTreeRequest = v.InferOutput<typeof LeaveTreeSchema>

export const ReportReason = { UNRESPONSIVE: 'unresponsive', INVALID_DATA: 'invalid-data' } as const
export type ReportReason = (typeof ReportReason)[keyof typeof ReportReason]

export const ReportParentSchema = v.strictObject({
  treeId: TreeIdSchema,
  parentId: PeerIdSchema,
  reason: v.picklist([ReportReason.UNRESPONSIVE, ReportReason.INVALID_DATA], 'reason must be "unresponsive" or "invalid-data"')
})
export type ReportParentRequest = v.InferOutput<typeof ReportParentSchema>

/**
 * Opaque WebRTC signaling data (SDP or ICE candidate), relayed untouched. A
 * plain object only: arrays and binary would be relayed as `{"0":…}`. Its size
 * is bounded by the packet size, checked before parsing.
 */
export const SignalDataSchema = v.pipe(
  v.custom<Record<string, unknown>>(isPlainObject, 'signal data must be a plain object'),
  v.check((value) => Object.keys(value).length <= 32, 'signal data has too many fields')
)

function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

export const SendSignalSchema = v.strictObject({
  treeId: TreeIdSchema,
  to: PeerIdSchema,
  data: SignalDataSchema
})
export type SendSignalRequest = v.InferOutput<typeof SendSignalSchema>

// ------------------------------------------------------- server to client

// Placement and TreeEnded are written out (not inferred from their schemas) so
// the API reference shows their fields; `satisfies` keeps each schema checking
// every field its type promises.

/** Where the server placed a peer in a tree. */
export interface Placement {
  treeId: string
  peerId: string
  /** null for the source. */
  parent: string | null
  /** 0 for the source, 1 for its children, and so on. */
  depth: number
  children: string[]
  /**
   * Increases with every placement the server sends. A push and an ack can
   * arrive in either order; the client keeps whichever is newer.
   */
  version: number
}

export const PlacementSchema = v.strictObject({
  treeId: TreeIdSchema,
  peerId: PeerIdSchema,
  parent: v.nullable(PeerIdSchema),
  depth: v.pipe(v.number(), v.integer(), v.minValue(0)),
  children: v.pipe(v.array(PeerIdSchema), v.maxLength(SIGNALING_LIMITS.maxFanout)),
  version: v.pipe(v.number(), v.integer(), v.minValue(0))
}) satisfies v.GenericSchema<unknown, Placement>

export const RelayedSignalSchema = v.strictObject({
  treeId: TreeIdSchema,
  from: PeerIdSchema,
  data: SignalDataSchema
})
export type RelayedSignal = v.InferOutput<typeof RelayedSignalSchema>

/** Why the server ended a peer's membership of a tree. */
export interface TreeEnded {
  treeId: string
  /**
   * source-gone: the source stayed away past its grace period; source-left: it said goodbye;
   * evicted: this peer's children proved it sent bad data; displaced: another connection
   * resumed this peer with its current ticket.
   */
  reason: 'source-gone' | 'source-left' | 'evicted' | 'displaced'
}

export const TreeEndedSchema = v.strictObject({
  treeId: TreeIdSchema,
  reason: v.picklist(['source-gone', 'source-left', 'evicted', 'displaced'])
}) satisfies v.GenericSchema<unknown, TreeEnded>

export const ChallengeSchema = v.strictObject({ challenge: base64url(SIGNALING_LIMITS.challengeLength, 'challenge') })

// ---------------------------------------------------------------- acks

export interface SignalingErrorBody {
  code: SignalingErrorCode
  message: string
}
export type Ack<T> = ({ ok: true } & T) | { ok: false; error: SignalingErrorBody }

export const ErrorAckSchema = v.strictObject({
  ok: v.literal(false),
  error: v.strictObject({ code: v.string(), message: v.string() })
})

export interface JoinResult {
  placement: Placement
  resume: ResumeTicket
  /** The fan-out the tree really uses (the server clamps requests to its maximums). */
  tree: { k: number; k1: number }
}

// ------------------------------------------------------- typed event maps

export interface ClientToServerEvents {
  'tree:challenge': (payload: Record<string, never>, ack: (res: Ack<{ challenge: string }>) => void) => void
  'tree:create': (payload: CreateTreeRequest, ack: (res: Ack<JoinResult>) => void) => void
  'tree:join': (payload: JoinTreeRequest, ack: (res: Ack<JoinResult>) => void) => void
  'tree:leave': (payload: LeaveTreeRequest, ack: (res: Ack<object>) => void) => void
  'peer:report': (payload: ReportParentRequest, ack: (res: Ack<object>) => void) => void
  signal: (payload: SendSignalRequest, ack: (res: Ack<object>) => void) => void
}

/** Sent once on every connection: a new instance id means the server restarted (its trees are being rebuilt). */
export const HelloSchema = v.strictObject({ instance: v.pipe(v.string(), v.minLength(1), v.maxLength(64)) })
export type Hello = v.InferOutput<typeof HelloSchema>

export interface ServerToClientEvents {
  'server:hello': (payload: Hello) => void
  placement: (payload: Placement) => void
  signal: (payload: RelayedSignal) => void
  'tree:ended': (payload: TreeEnded) => void
}

/** The bytes a source signs to prove it holds the tree's key when creating or reclaiming it. */
export function sourceProofMessage(treeId: string, challenge: string): Uint8Array {
  return new TextEncoder().encode(`munro-signal/v${SIGNALING_PROTOCOL_VERSION}/source-proof\n${treeId}\n${challenge}`)
}
