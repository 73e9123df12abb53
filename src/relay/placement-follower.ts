// Which placement from the server is current, and which signals can be
// delivered under it. A push can overtake an ack, so an older placement than
// the one held is ignored; after a reconnect the server may count afresh, so
// that one is taken regardless. A signal from a peer the placement does not
// name yet waits (bounded) for the placement that names it.
import type { Placement, RelayedSignal } from '../protocol/signaling.js'

const MAX_PENDING_SIGNALS = 64

export interface PlacementChange {
  previous: Placement | null
  placement: Placement
  parentChanged: boolean
  childrenChanged: boolean
}

export class PlacementFollower {
  placement: Placement | null = null
  private readonly pending: RelayedSignal[] = []

  constructor(private readonly treeId: string) {}

  /** Takes `placement` if it is newer (or `force`); returns what changed, or null if ignored. */
  apply(placement: Placement, force: boolean): PlacementChange | null {
    if (placement.treeId !== this.treeId) return null
    if (!force && this.placement && placement.version <= this.placement.version) return null
    const previous = this.placement
    this.placement = placement
    return {
      previous,
      placement,
      parentChanged: previous?.parent !== placement.parent,
      childrenChanged: String(previous?.children) !== String(placement.children)
    }
  }

  /** Whether `peerId` is our parent, a child, or neither under the current placement. */
  roleOf(peerId: string): 'parent' | 'child' | null {
    if (!this.placement) return null
    if (peerId === this.placement.parent) return 'parent'
    return this.placement.children.includes(peerId) ? 'child' : null
  }

  /** Keeps a signal from a peer the placement does not name (yet). */
  hold(signal: RelayedSignal): void {
    this.pending.push(signal)
    if (this.pending.length > MAX_PENDING_SIGNALS) this.pending.shift()
  }

  /** Signals held so far, taken out; the caller holds back those still not deliverable. */
  takeHeld(): RelayedSignal[] {
    return this.pending.splice(0)
  }

  clear(): void {
    this.pending.length = 0
  }
}
