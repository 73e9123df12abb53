// One peer's place in one tree: it follows the server's placement, keeps a
// WebRTC link up to its parent (it makes the offer) and accepts links from the
// children the server assigned to it, and moves verified frames from the
// former to the latter through the shared StreamBuffer.
import { EventEmitter } from 'eventemitter3'
import type { Placement, RelayedSignal, TreeEnded } from '../protocol/signaling.js'
import type { SignalingClient } from '../signaling/signaling-client.js'
import { PeerLink, type WebRtcImplementation } from '../transport/peer-link.js'
import type { ChunkFrame, MunroFrame, ResumePoint } from '../wire/frames.js'
import { ChildSession } from './child-session.js'
import { ParentSession, type ParentFailure } from './parent-session.js'
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
  onParentData?: (frame: MunroFrame | ChunkFrame, bytes: Uint8Array, from: ParentSession) => void
  /** A verified stream position to resume from while the buffer is still empty. */
  resumeHint?: () => number | undefined
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
}

const MAX_PENDING_SIGNALS = 64

export class TreePeer extends EventEmitter<TreePeerEvents> {
  readonly buffer: StreamBuffer
  placement: Placement | null = null
  private parent: ParentSession | null = null
  private readonly children = new Map<string, ChildSession>()
  /** Signals from peers that are not (yet) our neighbours: placement may lag a little. */
  private readonly pendingSignals: RelayedSignal[] = []
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private parentAttempts = 0
  private hadParent = false
  private closedBytesIn = 0
  private closedBytesOut = 0
  private destroyed = false
  /** The tree ended: no more links, placements or reports. */
  private ended = false
  readonly counters: LinkCounters = { reconnects: 0, laggedChildren: 0 }

  constructor(private readonly options: TreePeerOptions) {
    super()
    this.buffer = new StreamBuffer({ windowMs: options.windowMs, maxBytes: options.maxBufferBytes })
    options.signaling.on('placement', this.onPlacement)
    options.signaling.on('signal', this.onSignal)
    options.signaling.on('resumed', this.onResumed)
    options.signaling.on('tree-ended', this.onTreeEnded)
  }

  get parentId(): string | null {
    return this.placement?.parent ?? null
  }

  get parentConnected(): boolean {
    return this.parent?.isOpen ?? false
  }

  /** Bytes in and out over every link this peer has had. */
  traffic(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.closedBytesIn
    let bytesOut = this.closedBytesOut
    if (this.parent) {
      bytesIn += this.parent.link.bytesReceived
      bytesOut += this.parent.link.bytesSent
    }
    for (const c of this.children.values()) {
      bytesIn += c.link.bytesReceived
      bytesOut += c.link.bytesSent
    }
    return { bytesIn, bytesOut }
  }

  /**
   * Follows a placement from the server. Older ones than what we have are
   * ignored (a push can overtake an ack); `force` takes it regardless, after a
   * reconnect, when the server may have restarted its count.
   */
  applyPlacement(placement: Placement, force = false): void {
    if (this.destroyed || this.ended || placement.treeId !== this.options.treeId) return
    if (!force && this.placement && placement.version <= this.placement.version) return
    const previous = this.placement
    this.placement = placement
    this.emit('placement', placement)
    if (previous?.parent !== placement.parent) {
      this.emit('parent-changed', placement.parent)
      this.parentAttempts = 0
      this.connectParent()
    }
    for (const [id, session] of this.children) if (!placement.children.includes(id)) session.destroy()
    if (String(previous?.children) !== String(placement.children)) this.emit('children-changed', placement.children)
    this.replayPendingSignals()
  }

  /** New data entered the buffer: every child gets what it has not had. */
  pumpChildren(): void {
    for (const child of this.children.values()) child.pump()
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    const s = this.options.signaling
    s.off('placement', this.onPlacement)
    s.off('signal', this.onSignal)
    s.off('resumed', this.onResumed)
    s.off('tree-ended', this.onTreeEnded)
    this.closeLinks()
    this.removeAllListeners()
  }

  private closeLinks(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.retireParent()
    for (const child of [...this.children.values()]) child.destroy()
    this.pendingSignals.length = 0
  }

  // ------------------------------------------------------------ parent

  private connectParent(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
    this.retireParent()
    const parentId = this.placement?.parent
    if (!parentId || this.destroyed) return
    const link = this.newLink(true, parentId)
    const session = new ParentSession(parentId, link, {
      treeKey: this.options.treeKey,
      stallMs: this.options.stallMs,
      resumePoint: () => this.resumePoint(),
      onData: (frame, bytes) => this.options.onParentData?.(frame, bytes, session),
      onFailure: this.onParentFailure
    })
    link.once('open', () => {
      this.parentAttempts = 0
      this.emit('parent-connected', parentId)
    })
    this.parent = session
  }

  private retireParent(): void {
    if (!this.parent) return
    this.closedBytesIn += this.parent.link.bytesReceived
    this.closedBytesOut += this.parent.link.bytesSent
    this.parent.destroy()
    this.parent = null
  }

  /**
   * Where the next parent should start. Our first parent picks (its latest
   * start point). After that, with data: right after our last chunk. Without
   * any (the first parent failed before delivering): from the first verified
   * position we saw, or everything the new parent holds, so nothing is lost.
   */
  private resumePoint(): ResumePoint {
    if (!this.buffer.isEmpty) return { kind: 'index', index: this.buffer.endIndex }
    if (!this.hadParent) {
      this.hadParent = true
      return { kind: 'latest' }
    }
    return { kind: 'index', index: this.options.resumeHint?.() ?? 0 }
  }

  private readonly onParentFailure = (session: ParentSession, failure: ParentFailure): void => {
    if (session !== this.parent || this.destroyed || this.ended) return
    this.retireParent()
    this.counters.reconnects++
    this.parentAttempts++
    this.emit('parent-failed', session.peerId, failure)
    // Bad data or silence is the parent's fault: tell the server, which moves us.
    // A closed link may be the network's: retry once before blaming the parent.
    const blame = failure.kind !== 'closed' || this.parentAttempts >= 2
    if (blame) {
      const reason = failure.kind === 'invalid' ? 'invalid-data' : 'unresponsive'
      this.options.signaling.reportParent(this.options.treeId, session.peerId, reason).catch(() => {
        // The parent may already be gone from the tree; the next placement will say where to go.
      })
    }
    const delay = Math.min(2_000, 100 * 2 ** Math.min(this.parentAttempts, 5))
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (!this.parent && this.placement?.parent === session.peerId) this.connectParent()
    }, delay)
  }

  // ------------------------------------------------------------ children

  private acceptChild(peerId: string): ChildSession {
    this.children.get(peerId)?.destroy()
    const link = this.newLink(false, peerId)
    const session = new ChildSession(peerId, link, this.buffer, {
      treeKey: this.options.treeKey,
      keepaliveMs: this.options.keepaliveMs,
      onClose: (s) => {
        this.closedBytesIn += s.link.bytesReceived
        this.closedBytesOut += s.link.bytesSent
        if (this.children.get(s.peerId) === s) this.children.delete(s.peerId)
      },
      onLagged: () => {
        this.counters.laggedChildren++
      }
    })
    this.children.set(peerId, session)
    return session
  }

  // ------------------------------------------------------------ signaling

  private newLink(initiator: boolean, remoteId: string): PeerLink {
    const link = new PeerLink({
      initiator,
      wrtc: this.options.wrtc,
      iceServers: this.options.iceServers,
      connectTimeoutMs: this.options.connectTimeoutMs
    })
    link.on('signal', (data) => {
      this.options.signaling.sendSignal(this.options.treeId, remoteId, data as unknown as Record<string, unknown>).catch(() => {
        // The neighbour left meanwhile; the link will time out or be replaced.
      })
    })
    return link
  }

  private readonly onSignal = (signal: RelayedSignal): void => {
    if (signal.treeId !== this.options.treeId || this.destroyed) return
    if (!this.deliverSignal(signal)) {
      this.pendingSignals.push(signal)
      if (this.pendingSignals.length > MAX_PENDING_SIGNALS) this.pendingSignals.shift()
    }
  }

  /** Returns false if the sender is not a neighbour (yet). */
  private deliverSignal({ from, data }: RelayedSignal): boolean {
    const placement = this.placement
    if (!placement) return false
    try {
      if (from === placement.parent) {
        if (this.parent?.peerId === from) this.parent.link.signal(data)
        return true
      }
      if (!placement.children.includes(from)) return false
      // Each offer is a fresh connection attempt from that child.
      const session = data.type === 'offer' ? this.acceptChild(from) : this.children.get(from)
      session?.link.signal(data)
      return true
    } catch {
      // Malformed signal data from a neighbour: its link is destroyed by PeerLink; nothing else to do.
      return true
    }
  }

  private replayPendingSignals(): void {
    if (this.pendingSignals.length === 0) return
    const pending = this.pendingSignals.splice(0)
    for (const signal of pending) if (!this.deliverSignal(signal)) this.pendingSignals.push(signal)
  }

  private readonly onPlacement = (placement: Placement): void => this.applyPlacement(placement)

  private readonly onResumed = (treeId: string, result: { placement: Placement }): void => {
    if (treeId === this.options.treeId) this.applyPlacement(result.placement, true)
  }

  private readonly onTreeEnded = (ended: TreeEnded): void => {
    if (ended.treeId !== this.options.treeId || this.ended) return
    this.ended = true
    this.closeLinks()
    this.emit('tree-ended', ended)
  }
}
