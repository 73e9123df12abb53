// Every tunable of one signaling server, with the defaults users get.
import { SIGNALING_LIMITS } from '../src/protocol/signaling.js'

export interface SignalingLimits {
  k: number
  k1: number
  maxK: number
  maxK1: number
  /** How long a disconnected source may take to come back before its tree ends. */
  sourceGraceMs: number
  /** How long a disconnected viewer keeps its place (and children) before it is detached. */
  detachGraceMs: number
  /** How long a departed peer's resume ticket stays valid; also how long after a tree is (re)created tickets from before a restart are honoured. */
  resumeTtlMs: number
  /** After a restart, how long a returning peer whose claimed parent is not back yet is asked to retry rather than placed elsewhere. */
  rebuildWindowMs: number
  maxResumeTickets: number
  challengeTtlMs: number
  maxPendingChallenges: number
  maxTreesPerConnection: number
  /** Events per second per connection (every event, known or not). */
  messagesPerSecond: number
  messageBurst: number
  /** Largest raw packet, checked before parsing; a larger one closes the connection. */
  maxPayloadBytes: number
  /** Bytes queued towards one connection before it is disconnected as a reader that does not read. */
  maxQueuedBytes: number
  /** Abusive events (unknown, rate-limited, malformed) a connection may send in a burst before it is disconnected; refills at one per second. */
  abuseBurst: number
  /** Signals relayed per second by the whole server; beyond it signals are refused with ERR_OVERLOADED. */
  signalsPerSecond: number
  /** Event-loop lag (ms) beyond which every signal is refused until the loop catches up. */
  maxLagMs: number
  /** Distinct addresses whose invalid-data reports evict a relay (see the README's security model). */
  evictAfterReports: number
  /** How long a reporter must have been in the tree before its invalid-data report counts. */
  reportTenureMs: number
  /** How long a counted report stays counted. */
  reportWindowMs: number
}

export const DEFAULT_LIMITS: SignalingLimits = {
  k: 4,
  k1: 10,
  maxK: 16,
  maxK1: SIGNALING_LIMITS.maxFanout,
  sourceGraceMs: 10_000,
  detachGraceMs: 3_000,
  resumeTtlMs: 30_000,
  rebuildWindowMs: 10_000,
  maxResumeTickets: 100_000,
  challengeTtlMs: 30_000,
  maxPendingChallenges: 4,
  maxTreesPerConnection: 4,
  messagesPerSecond: 50,
  messageBurst: 200,
  maxPayloadBytes: SIGNALING_LIMITS.maxPayloadBytes,
  maxQueuedBytes: 512 * 1024,
  abuseBurst: 50,
  signalsPerSecond: 10_000,
  maxLagMs: 100,
  evictAfterReports: 3,
  reportTenureMs: 5_000,
  reportWindowMs: 60_000
}

export function resolveLimits(options: Partial<SignalingLimits>): SignalingLimits {
  const limits = { ...DEFAULT_LIMITS }
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SignalingLimits)[]) {
    const value = options[key]
    if (value === undefined) continue
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${String(value)}`)
    limits[key] = value
  }
  if (limits.maxK > SIGNALING_LIMITS.maxFanout || limits.maxK1 > SIGNALING_LIMITS.maxFanout) {
    throw new RangeError(`maxK and maxK1 must be at most ${SIGNALING_LIMITS.maxFanout}`)
  }
  if (limits.maxPayloadBytes > SIGNALING_LIMITS.maxPayloadBytes) {
    throw new RangeError(`maxPayloadBytes must be at most ${SIGNALING_LIMITS.maxPayloadBytes}`)
  }
  limits.k = Math.min(limits.k, limits.maxK)
  limits.k1 = Math.min(limits.k1, limits.maxK1)
  return limits
}
