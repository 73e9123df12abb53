// The links to our children: each offer from a child the placement lists
// starts a session (ChildSession) that serves it from the shared buffer, at
// the pace ChildAdmission allows. Signals that follow a deferred offer wait
// with it, so its connection is built whole when its turn comes.
import type { SignalData } from '../transport/peer-link.js'
import { ChildAdmission } from './child-admission.js'
import { ChildSession } from './child-session.js'
import type { Link } from './link.js'
import type { StreamBuffer } from './stream-buffer.js'

export interface ChildLinksOptions {
  buffer: StreamBuffer
  treeKey: Uint8Array
  keepaliveMs: number
  createLink: (childId: string) => Link
  /** A session ended: its link's byte counts, for the peer's totals. */
  onClosed: (bytesIn: number, bytesOut: number) => void
  onLagged: () => void
  /** An offer was dropped because a newer one from the same child overtook it. */
  onOfferDropped: () => void
  /** A child asked for chunks before the oldest we hold: true when we fetch them (see ChildSession). */
  backfill: (index: number) => boolean
}

type Signal = SignalData | Record<string, unknown>
/** Signals held per deferred offer (the offer and its trickled candidates). */
const MAX_DEFERRED_SIGNALS = 32

export class ChildLinks {
  private readonly sessions = new Map<string, ChildSession>()
  private readonly deferred = new Map<string, { signals: Signal[]; timer: ReturnType<typeof setTimeout> }>()
  private readonly admission = new ChildAdmission()
  /** When the placement first named each child it still names: a newcomer is served from then on. */
  private readonly listedAt = new Map<string, number>()
  private destroyed = false

  constructor(private readonly options: ChildLinksOptions) {}

  get all(): Iterable<ChildSession> {
    return this.sessions.values()
  }

  /** Whether every child in `childIds` has a session whose handshake came in. */
  allStarted(childIds: readonly string[]): boolean {
    return childIds.every((id) => this.sessions.get(id)?.started === true)
  }

  /** The earliest position a child waits at while we hold nothing (we have just joined, it came to us). */
  awaited(): { index: number; epoch: number } | undefined {
    let earliest: { index: number; epoch: number } | undefined
    for (const session of this.sessions.values()) {
      const at = session.awaited
      if (at && (!earliest || at.index < earliest.index)) earliest = at
    }
    return earliest
  }

  /** Signaling data from child `childId` (one the placement lists). */
  signal(childId: string, data: Signal): void {
    if (this.destroyed) return
    const waiting = this.deferred.get(childId)
    if ((data as { type?: unknown }).type === 'offer') {
      if (waiting) {
        // A newer offer overtakes the one waiting: only the newest can still connect.
        clearTimeout(waiting.timer)
        this.deferred.delete(childId)
        this.options.onOfferDropped()
      }
      const delay = this.admission.offerDelay(childId, Date.now())
      if (delay === 0) return this.accept(childId, [data])
      const timer = setTimeout(() => {
        const entry = this.deferred.get(childId)
        this.deferred.delete(childId)
        if (entry) this.accept(childId, entry.signals)
      }, delay)
      this.deferred.set(childId, { signals: [data], timer })
      return
    }
    if (waiting) {
      if (waiting.signals.length < MAX_DEFERRED_SIGNALS) waiting.signals.push(data)
      return
    }
    this.sessions.get(childId)?.link.signal(data)
  }

  /** Ends the sessions (and waiting offers) of children the placement no longer lists. */
  retain(childIds: readonly string[]): void {
    const now = Date.now()
    for (const id of this.listedAt.keys()) if (!childIds.includes(id)) this.listedAt.delete(id)
    for (const id of childIds) if (!this.listedAt.has(id)) this.listedAt.set(id, now)
    for (const [id, session] of this.sessions) if (!childIds.includes(id)) session.destroy()
    for (const [id, entry] of this.deferred) {
      if (childIds.includes(id)) continue
      clearTimeout(entry.timer)
      this.deferred.delete(id)
    }
  }

  pump(): void {
    for (const session of this.sessions.values()) session.pump()
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const entry of this.deferred.values()) clearTimeout(entry.timer)
    this.deferred.clear()
    this.listedAt.clear()
    for (const session of [...this.sessions.values()]) session.destroy()
  }

  private accept(childId: string, signals: Signal[]): void {
    if (this.destroyed) return
    this.sessions.get(childId)?.destroy()
    this.admission.offerTaken(childId, Date.now())
    const { buffer, treeKey, keepaliveMs } = this.options
    const session = new ChildSession(childId, this.options.createLink(childId), buffer, {
      treeKey,
      keepaliveMs,
      listedAt: this.listedAt.get(childId),
      resumeFloor: (requested) => this.admission.resumeFloor(childId, requested, buffer, Date.now()),
      backfill: this.options.backfill,
      onClose: (s) => {
        this.options.onClosed(s.link.bytesReceived, s.link.bytesSent)
        const next = s.nextIndex
        if (next !== undefined) this.admission.sessionEnded(childId, { epoch: buffer.epoch, next, unconfirmedBytes: s.unconfirmedBytes }, Date.now())
        if (this.sessions.get(childId) === s) this.sessions.delete(childId)
      },
      onLagged: () => this.options.onLagged()
    })
    this.sessions.set(childId, session)
    try {
      for (const data of signals) session.link.signal(data)
    } catch {
      // Malformed signal data from a child: PeerLink destroys its own link; nothing else to do.
    }
  }
}
