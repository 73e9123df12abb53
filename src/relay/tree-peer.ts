// One peer's place in one tree. It puts the parts together: the server's
// placement (PlacementFollower) says who our parent and children are; the
// parent link (ParentLink, with its blame policy) and the child links
// (ChildLinks, with their admission rules) carry verified frames through the
// shared StreamBuffer; signals from the server go to whichever link they
// belong to.
//
// Signaling can go away while the data plane is fine (a server restart, a
// dropped socket): nothing here tears a link down because the socket dropped.
// The links we hold are offered to the signaling client as hints, so that a
// restarted server can rebuild the tree from them, and a placement after the
// reconnect keeps every link whose peer it still names.
import { EventEmitter } from 'eventemitter3'
import { SignalingErrorCode, type Placement, type RelayedSignal, type ReportReason, type TreeEnded } from '../protocol/signaling.js'
import type { SignalingClient } from '../signaling/signaling-client.js'
import type { WebRtcImplementation } from '../transport/peer-link.js'
import type { ChunkFrame, InitFrame, MunroFrame, ResumePoint } from '../wire/frames.js'
import { ChildLinks } from './child-links.js'
import { webRtcLinks, type Link, type LinkFactory } from './link.js'
import { ParentLink } from './parent-link.js'
import type { ParentFailure, ParentSession } from './parent-session.js'
import { PlacementFollower } from './placement-follower.js'
import { StreamBuffer } from './stream-buffer.js'

export interface TreePeerOptions {
  signaling: SignalingClient
  treeId: string
  treeKey: Uint8Array
  wrtc?: WebRtcImplementation
  iceServers?: RTCIceServer[]
  /** Keep at least this much of the stream for repair. */
  windowMs: number
  maxBufferBytes: number
  keepaliveMs: number
  stallMs: number
  connectTimeoutMs: number
  /** Only for viewers: where frames from the parent go. */
  onParentData?: (frame: MunroFrame | ChunkFrame | InitFrame, bytes: Uint8Array, from: ParentSession) => void
  /** A verified stream position to resume from while the buffer is still empty. */
  resumeHint?: () => number | undefined
  /** The verified stream position; a parent brings progress when it changes. Default: the buffer's end. */
  position?: () => number
  /** How links are made. Default: WebRTC (PeerLink); tests pass fakes. */
  createLink?: LinkFactory
}

export interface TreePeerEvents {
  placement: (placement: Placement) => void
  'parent-changed': (parentId: string | null) => void
  'children-changed': (children: string[]) => void
  /** The parent connection opened and the handshake went out. */
  'parent-connected': (parentId: string) => void
  'parent-failed': (parentId: string, failure: ParentFailure) => void
  'tree-ended': (ended: TreeEnded) => void
}

export interface LinkCounters {
  reconnects: number
  laggedChildren: number
  /** Offers from a child overtaken by a newer one while waiting for their turn (defect 9). */
  droppedOffers: number
  /** Sessions with our parent opened again to fetch what a child asked for before our oldest chunk (see backfill). */
  backfills: number
}

/** A shed signal is sent again after 100, 200, 400, 800 ms, then given up (the link's connect timeout takes over). */
const SIGNAL_RETRIES = 4
const SIGNAL_RETRY_MS = 100
const RETRYABLE_SIGNAL_ERRORS: ReadonlySet<string> = new Set([SignalingErrorCode.OVERLOADED, SignalingErrorCode.UNAVAILABLE])

export class TreePeer extends EventEmitter<TreePeerEvents> {
  readonly buffer: StreamBuffer
  private readonly follower: PlacementFollower
  private readonly parent: ParentLink
  private readonly children: ChildLinks
  private hadParent = false
  private closedBytesIn = 0
  private closedBytesOut = 0
  private destroyed = false
  /** Signals the server shed, waiting to be sent again. */
  private readonly signalRetries = new Set<ReturnType<typeof setTimeout>>()
  /** The tree ended: no more links, placements or reports. */
  private ended = false
  private readonly eventCounts = { laggedChildren: 0, droppedOffers: 0, backfills: 0 }

  constructor(private readonly options: TreePeerOptions) {
    super()
    this.buffer = new StreamBuffer({ windowMs: options.windowMs, maxBytes: options.maxBufferBytes })
    this.follower = new PlacementFollower(options.treeId)
    const createLink = options.createLink ?? webRtcLinks(options)
    const onClosed = (bytesIn: number, bytesOut: number) => {
      this.closedBytesIn += bytesIn
      this.closedBytesOut += bytesOut
    }
    this.parent = new ParentLink({
      treeKey: options.treeKey,
      stallMs: options.stallMs,
      createLink: (id) => this.signalled(createLink(true, id), id),
      resumePoint: () => this.resumePoint(),
      holdHandshake: () => this.holdHandshake(),
      position: options.position ?? (() => (this.buffer.isEmpty ? -1 : this.buffer.endIndex)),
      onData: (frame, bytes, from) => options.onParentData?.(frame, bytes, from),
      report: (id, reason) => this.report(id, reason),
      onClosed
    })
    this.parent.on('connected', (id) => this.emit('parent-connected', id))
    this.parent.on('failed', (id, failure) => this.emit('parent-failed', id, failure))
    this.children = new ChildLinks({
      buffer: this.buffer,
      treeKey: options.treeKey,
      keepaliveMs: options.keepaliveMs,
      createLink: (id) => this.signalled(createLink(false, id), id),
      onClosed,
      onLagged: () => this.eventCounts.laggedChildren++,
      onOfferDropped: () => this.eventCounts.droppedOffers++,
      backfill: (index) => this.backfill(index)
    })
    const s = options.signaling
    s.on('placement', this.onPlacement)
    s.on('signal', this.onSignal)
    s.on('resumed', this.onResumed)
    s.on('tree-ended', this.onTreeEnded)
    s.setLinkHints(options.treeId, () => this.linkHints())
  }

  get placement(): Placement | null {
    return this.follower.placement
  }

  get parentId(): string | null {
    return this.follower.placement?.parent ?? null
  }

  get parentConnected(): boolean {
    return this.parent.isOpen
  }

  get counters(): LinkCounters {
    return { reconnects: this.parent.reconnects, ...this.eventCounts }
  }

  /** Bytes in and out over every link this peer has had. */
  traffic(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.closedBytesIn
    let bytesOut = this.closedBytesOut
    const links = [...[...this.children.all].map((c) => c.link), ...(this.parent.current ? [this.parent.current.link] : [])]
    for (const link of links) {
      bytesIn += link.bytesReceived
      bytesOut += link.bytesSent
    }
    return { bytesIn, bytesOut }
  }

  /**
   * Follows a placement from the server. Older ones than what we have are
   * ignored (a push can overtake an ack); `force` takes it regardless, after a
   * reconnect, when the server may have restarted its count.
   */
  applyPlacement(placement: Placement, force = false): void {
    if (this.destroyed || this.ended) return
    const change = this.follower.apply(placement, force)
    if (!change) return
    this.emit('placement', placement)
    if (change.parentChanged) this.emit('parent-changed', placement.parent)
    this.parent.follow(placement.parent)
    this.children.retain(placement.children)
    if (change.childrenChanged) this.emit('children-changed', placement.children)
    for (const signal of this.follower.takeHeld()) this.route(signal)
  }

  /** New data entered the buffer: every child gets what it has not had. */
  pumpChildren(): void {
    this.children.pump()
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    const s = this.options.signaling
    s.off('placement', this.onPlacement)
    s.off('signal', this.onSignal)
    s.off('resumed', this.onResumed)
    s.off('tree-ended', this.onTreeEnded)
    for (const timer of this.signalRetries) clearTimeout(timer)
    this.signalRetries.clear()
    this.closeLinks()
    this.removeAllListeners()
  }

  private closeLinks(): void {
    this.parent.destroy()
    this.children.destroy()
    this.follower.clear()
  }

  /**
   * What we hold, for a restarted server to rebuild the tree from: the parent we
   * follow and the children our placement lists, their links open or still being
   * established. Listing only open links lost the edges whose link was connecting
   * at the rejoin (missing from both ends' hints); a claim about a peer that is
   * gone costs nothing, since the server keeps an edge only if both ends claim it.
   */
  private linkHints(): { parentId: string | null; childIds: string[] } {
    return { parentId: this.parentId, childIds: [...(this.follower.placement?.children ?? [])] }
  }

  /**
   * Where the next parent should start. Our first parent picks (its latest
   * start point), unless children already wait for an earlier position. After that, with data: right after our last chunk. Without
   * any (the first parent failed before delivering): from the first verified
   * position we saw, or everything the new parent holds, so nothing is lost.
   */
  private resumePoint(): ResumePoint {
    if (!this.buffer.isEmpty) return { kind: 'index', index: this.buffer.backfillFrom ?? this.buffer.endIndex, epoch: this.buffer.epoch }
    // Children already wait for a position (we took a departed parent's slot before holding anything):
    // start there, or what they missed since their old parent left would be skipped for all of them.
    const awaited = this.children.awaited()
    if (awaited) {
      this.hadParent = true
      return { kind: 'index', ...awaited }
    }
    if (!this.hadParent) {
      this.hadParent = true
      return { kind: 'latest' }
    }
    // No session seen yet (epoch -1): ask for session 0 from the start; a sender on another session starts it afresh.
    return { kind: 'index', index: this.options.resumeHint?.() ?? 0, epoch: Math.max(0, this.buffer.epoch) }
  }

  /**
   * A child asked for chunks from `index`, before the oldest we hold: we took
   * its departed parent's slot while it was frozen, and we started later than
   * where it stopped. Our parent may still have them (our buffer started late;
   * the window did not drop them): a new session with it asks from there, and
   * the chunks we already hold come again as repeats. The child's cursor waits
   * meanwhile; what our parent cannot send becomes a gap for it.
   */
  private backfill(index: number): boolean {
    if (!this.parentId || !this.buffer.requestBackfill(index)) return false
    this.eventCounts.backfills++
    this.parent.restart()
    return true
  }

  /**
   * A peer that holds nothing yet and was placed with children (it took a
   * departed parent's slot) lets them say where they stopped before it asks
   * its own parent where to start (briefly: see HANDSHAKE_HOLD_MS).
   */
  private holdHandshake(): boolean {
    const children = this.follower.placement?.children ?? []
    return !this.hadParent && this.buffer.isEmpty && children.length > 0 && !this.children.allStarted(children)
  }

  private report(parentId: string, reason: ReportReason): void {
    if (this.ended) return
    this.options.signaling.reportParent(this.options.treeId, parentId, reason).catch(() => {
      // The parent may already be gone from the tree, or signaling is away; the next placement says where to go.
    })
  }

  // ------------------------------------------------------------ signaling

  private signalled<L extends Link>(link: L, remoteId: string): L {
    link.on('signal', (data) => this.sendSignal(remoteId, data as unknown as Record<string, unknown>, 0))
    return link
  }

  private sendSignal(remoteId: string, data: Record<string, unknown>, attempt: number): void {
    if (this.destroyed || this.ended) return
    this.options.signaling.sendSignal(this.options.treeId, remoteId, data).catch((err: { code?: string }) => {
      // A busy server sheds signals (ERR_OVERLOADED) rather than let pings starve, and one that cannot reach its
      // shared store (ERR_UNAVAILABLE, Redis away for a moment) cannot check the neighbour; a lost offer or candidate
      // would leave the link hanging until connectTimeoutMs, so try again shortly: shedding becomes delay, not loss.
      if (RETRYABLE_SIGNAL_ERRORS.has(err?.code ?? '') && attempt < SIGNAL_RETRIES) {
        const timer = setTimeout(() => {
          this.signalRetries.delete(timer)
          this.sendSignal(remoteId, data, attempt + 1)
        }, SIGNAL_RETRY_MS * 2 ** attempt)
        this.signalRetries.add(timer)
        return
      }
      // The server keeps a peer whose socket dropped in place for its detach grace, in case only its socket blipped.
      // If our link to that parent is down too, it is gone (a closed tab): ask to be moved now instead of waiting out
      // the grace. Otherwise the neighbour left meanwhile, or signaling is away; the link times out or is replaced.
      if (err?.code === SignalingErrorCode.PEER_ABSENT && remoteId === this.parentId) this.report(remoteId, 'unresponsive')
    })
  }

  private readonly onSignal = (signal: RelayedSignal): void => {
    if (signal.treeId !== this.options.treeId || this.destroyed || this.ended) return
    this.route(signal)
  }

  private route(signal: RelayedSignal): void {
    const role = this.follower.roleOf(signal.from)
    if (role === null) return this.follower.hold(signal)
    try {
      if (role === 'parent') this.parent.signal(signal.from, signal.data)
      else this.children.signal(signal.from, signal.data)
    } catch {
      // Malformed signal data from a neighbour: its link is destroyed by PeerLink; nothing else to do.
    }
  }

  private readonly onPlacement = (placement: Placement): void => this.applyPlacement(placement)

  private readonly onResumed = (treeId: string, result: { placement: Placement }): void => {
    if (treeId !== this.options.treeId) return
    const before = this.parentId
    this.applyPlacement(result.placement, true)
    // While signaling was away (or the server had detached us) the server refused our offers, so a link to the
    // same parent that is still connecting waits for an answer that cannot come, until connectTimeoutMs, while
    // the window moves on. Start it over now. A new parent got a new link from applyPlacement already.
    if (before !== null && this.parentId === before && !this.parent.isOpen) this.parent.restart()
  }

  private readonly onTreeEnded = (ended: TreeEnded): void => {
    if (ended.treeId !== this.options.treeId || this.ended) return
    this.ended = true
    this.closeLinks()
    this.emit('tree-ended', ended)
  }
}
