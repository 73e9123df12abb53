// What a parent owes each child id across reconnects (issue 7, defect 9).
// Each offer from a child builds a new RTCPeerConnection and each handshake
// may ask to resume anywhere in the window, so a child that reconnects in a
// loop could make us re-send the whole window again and again and starve its
// siblings. Two rules bound that, per child id:
// - at most one new connection per OFFER_INTERVAL_MS: a later offer waits for
//   its turn, and an offer overtaken by a newer one while waiting is dropped
//   (counted);
// - a new session resumes no earlier than what the last one already served,
//   less what an honest child can have lost: the bytes still in our send
//   buffer when it ended, plus REWIND_ALLOWANCE_BYTES it may have received
//   but not yet verified (a child drops a closed parent's queued frames).
// Pure bookkeeping over bounded maps; the caller owns timers and links.
import type { StreamBuffer } from './stream-buffer.js'

export const OFFER_INTERVAL_MS = 1_000
/** 32 frames of 16 KiB: as far as a child's verification runs ahead of what it has stored. */
export const REWIND_ALLOWANCE_BYTES = 512 * 1024
/** Child ids remembered; the oldest is forgotten first. */
const MAX_REMEMBERED = 256

interface Served {
  /** The source session the indices below belong to. */
  epoch: number
  /** The next index the ended session would have sent. */
  next: number
  /** Bytes it had handed the link that may not have arrived. */
  unconfirmedBytes: number
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

  /** A session with `childId` ended. */
  sessionEnded(childId: string, served: Served): void {
    remember(this.served, childId, served)
  }

  /** The earliest index a new session with `childId` may resume from, if an earlier one served it. */
  resumeFloor(childId: string, buffer: StreamBuffer): number | undefined {
    const served = this.served.get(childId)
    if (!served || served.epoch !== buffer.epoch) return undefined
    let floor = served.next
    let lost = 0
    while (lost < served.unconfirmedBytes + REWIND_ALLOWANCE_BYTES) {
      const chunk = buffer.getChunk(floor - 1)
      if (!chunk) break
      lost += chunk.frame.byteLength
      floor--
    }
    return floor
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as string)
}
