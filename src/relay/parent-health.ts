// Whether to blame a parent that failed us, and when to try it again. Pure
// bookkeeping, no timers: TreePeer asks after every failed parent session.
//
// - Bad data is evidence: report `invalid-data` at once.
// - Silence (a stall) is reported as `unresponsive`, which the server answers
//   by moving us, never by evicting the parent: a frozen tab is not an attacker.
// - A closed link may be the network's fault, so one close is retried without
//   blame. But a close only clears the record when the session proved itself
//   (open for a stall time, and the verified stream end moved): a parent that
//   opens its channel and drops it before stallMs, again and again, is
//   reported after FLAP_LIMIT such sessions instead of being retried forever.
import type { ReportReason } from '../protocol/signaling.js'
import type { ParentFailure } from './parent-session.js'

/** Sessions in a row that did not prove themselves, ending in a close, before the parent is reported. */
export const FLAP_LIMIT = 2
const RETRY_BASE_MS = 200
const RETRY_MAX_MS = 2_000

export interface ParentVerdict {
  /** Tell the server about this parent, or not. */
  report: ReportReason | null
  /** Try the same parent again after this long, if the placement still names it. */
  retryInMs: number
}

export class ParentHealth {
  /** Consecutive failed sessions that did not prove the parent works. */
  private fruitless = 0

  /** A new parent: its predecessor's record does not count against it. */
  reset(): void {
    this.fruitless = 0
  }

  failed(failure: ParentFailure, proved: boolean): ParentVerdict {
    this.fruitless = proved ? 1 : this.fruitless + 1
    const retryInMs = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(this.fruitless - 1, 5))
    if (failure.kind === 'invalid') return { report: 'invalid-data', retryInMs }
    if (failure.kind === 'stall') return { report: 'unresponsive', retryInMs }
    const report = this.fruitless >= FLAP_LIMIT && this.fruitless % FLAP_LIMIT === 0 ? 'unresponsive' : null
    return { report, retryInMs }
  }
}
