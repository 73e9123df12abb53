// What a parent owes each child id across reconnects (issue 7, defect 9).
// Each offer from a child builds a new RTCPeerConnection and each handshake
// may ask to resume anywhere in the window, so a child that reconnects in a
// loop could make us re-send the whole window again and again and starve its
// siblings. Two rules bound that, per child id:
// - at most one new connection per OFFER_INTERVAL_MS: a later offer waits for
//   its turn, and an offer overtaken by a newer one while waiting is dropped
//   (counted);
// - a new session resumes where the last one stopped, less what it still
//   had in our send buffer (free: an honest child may have lost it in the
//   close); anything further back is paid from a rewind budget that refills
//   slowly (REWIND_BUDGET). An honest child that dropped frames it had not
//   verified yet gets them again; one that asks for the window on every
//   reconnect runs dry and gets only what is new.
// Pure bookkeeping over bounded maps; the caller owns timers and links.
import type { StreamBuffer } from './stream-buffer.js'

export const OFFER_INTERVAL_MS = 1_000
/** Bytes a child may make us re-send beyond what was in flight: refills at `bytesPerSecond`, up to `maxBytes`. */
export const REWIND_BUDGET = { bytesPerSecond: 128 * 1024, maxBytes: 4 * 1024 * 1024 }
/** Child ids remembered; the oldest is forgotten first. */
const MAX_REMEMBERED = 256

interface Served {
  /** The source session the indices below belong to. */
  epoch: number
  /** The next index the ended session would have sent. */
  next: number
  /** Bytes it had handed the link that may not have arrived. */
  unconfirmedBytes: number
  /** Rewind budget left, in bytes, as of `at` (ms). */
  budget: number
  at: number
}

export class ChildAdmission {
  private readonly lastOfferAt = new Map<string, number>()
  private readonly served = new Map<string, Served>()

  /** How long an offer from `childId` arriving at `now` must wait before it is taken (0: now). */
  offerDelay(childId: string, now: number): number {
    const last = this.lastOfferAt.get(childId)
    return last === undefined ? 0 : Math.max(0, last + OFFER_INTERVAL_MS - now)
  }

  /** An offer from `childId` was taken at `now`. */
  offerTaken(childId: string, now: number): void {
    remember(this.lastOfferAt, childId, now)
  }

  /** A session with `childId` ended at `now`. */
  sessionEnded(childId: string, ended: { epoch: number; next: number; unconfirmedBytes: number }, now: number): void {
    const previous = this.served.get(childId)
    remember(this.served, childId, { ...ended, budget: previous ? budgetAt(previous, now) : REWIND_BUDGET.maxBytes, at: now })
  }

  /**
   * The earliest index a new session with `childId` may resume from when it
   * asks for `requested`, if an earlier session served it; what is re-sent
   * beyond the in-flight bytes is taken from its budget.
   */
  resumeFloor(childId: string, requested: number, buffer: StreamBuffer, now: number): number | undefined {
    const served = this.served.get(childId)
    if (!served || served.epoch !== buffer.epoch) return undefined
    const budget = budgetAt(served, now)
    let floor = served.next
    let free = served.unconfirmedBytes
    let spent = 0
    while (floor > requested) {
      const size = buffer.getChunk(floor - 1)?.frame.byteLength
      if (size === undefined) break
      if (free >= size) free -= size
      else if (spent + size <= budget) spent += size
      else break
      floor--
    }
    served.budget = budget - spent
    served.at = now
    return floor
  }
}

function budgetAt(served: Served, now: number): number {
  return Math.min(REWIND_BUDGET.maxBytes, served.budget + ((now - served.at) / 1000) * REWIND_BUDGET.bytesPerSecond)
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as string)
}
