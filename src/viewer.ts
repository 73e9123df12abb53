// A viewer: joins a tree by id and receives the source's messages, verified
// and in order. Thin: verification lives in verify/, relaying in relay/.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from './errors.js'
import { publicKeyFromTreeId } from './crypto/keys.js'
import { concatBytes } from './crypto/bytes.js'
import { ChunkVerifier } from './verify/verifier.js'
import type { Gap } from './verify/reassembler.js'
import { decodeFrame, FrameType } from './wire/frames.js'
import { SignalingClient } from './signaling/signaling-client.js'
import type { Placement, TreeEnded } from './protocol/signaling.js'
import { VerifyPipeline, type MunroMessage, type PipelineRejection } from './relay/verify-pipeline.js'
import type { ParentSession } from './relay/parent-session.js'
import { TreePeer } from './relay/tree-peer.js'
import { resolvePeerOptions, treePeerSettings, type PeerOptions, type PeerStats } from './peer-options.js'
import { collectStats, LatencyMeter } from './peer-stats.js'

export type { MunroMessage } from './relay/verify-pipeline.js'

export interface ViewerOptions extends PeerOptions {
  /**
   * How far a munro's signed timestamp may lag behind the newest one this
   * viewer verified (judged against the stream, never against this machine's
   * clock, which may be off). Default 120 000 ms.
   */
  maxAgeMs?: number
  /** Messages a `readable` stream holds for a slow reader before it errors with ERR_BUFFER_FULL. Default 1024. */
  readableHighWaterMark?: number
}

export interface RejectedChunk {
  code: string
  message: string
  /** The parent that sent it. */
  parentId: string
  /**
   * True when the frame was forged or corrupt: the parent was reported and
   * replaced. False when it was genuine but unusable here (an older source
   * session, too far behind the stream), dropped with the parent kept, or
   * when the parent sent faster than this peer verifies (ERR_QUEUE_FULL), and
   * the link was restarted where the stream stands.
   */
  reported: boolean
}

export interface ViewerEvents {
  joined: (placement: Placement) => void
  'parent-changed': (parentId: string | null) => void
  /** The data channel to the parent is open. */
  'parent-connected': (parentId: string) => void
  'children-changed': (children: string[]) => void
  message: (message: MunroMessage) => void
  /** The stream skipped forward; the next message has `gap: true`. Wait for a start point. */
  gap: (gap: Gap) => void
  'chunk-rejected': (rejected: RejectedChunk) => void
  /** The parent went silent past `stallMs`; it has been reported and will be replaced. */
  stall: (parentId: string) => void
  'tree-ended': (ended: TreeEnded) => void
  /** The signaling server is unreachable; WebRTC links keep carrying the stream meanwhile. */
  'signaling-lost': () => void
  /** Signaling is back and this viewer has rejoined its tree (same id and place when the server allows). */
  'signaling-restored': () => void
  stats: (stats: PeerStats) => void
  error: (err: Error) => void
}

/** Joins the tree `treeId` (the source's public key) and resolves once placed. */
export async function joinTree(treeId: string, options: ViewerOptions): Promise<MunroViewer> {
  const treeKey = publicKeyFromTreeId(treeId)
  const signaling = new SignalingClient(options.signal, { connectTimeoutMs: options.connectTimeoutMs })
  try {
    const joined = await signaling.joinTree(treeId)
    const viewer = new MunroViewer(signaling, treeId, treeKey, options)
    viewer.start(joined.placement)
    return viewer
  } catch (err) {
    signaling.destroy()
    throw err
  }
}

export class MunroViewer extends EventEmitter<ViewerEvents> {
  private readonly peer: TreePeer
  private readonly verifier: ChunkVerifier
  private readonly pipeline: VerifyPipeline<ParentSession>
  private readonly latency = new LatencyMeter()
  private statsTimer: ReturnType<typeof setInterval> | null
  private readonly streams = new Set<ReadableStreamDefaultController<MunroMessage>>()
  private readonly readableHighWaterMark: number
  private delivered = 0
  private destroyed = false

  /** Use joinTree(). */
  constructor(
    private readonly signaling: SignalingClient,
    readonly treeId: string,
    treeKey: Uint8Array,
    options: ViewerOptions
  ) {
    super()
    const o = resolvePeerOptions(options)
    this.readableHighWaterMark = options.readableHighWaterMark ?? 1024
    this.verifier = new ChunkVerifier({ publicKey: treeKey, maxAgeMs: options.maxAgeMs })
    this.peer = new TreePeer({
      signaling,
      treeId,
      treeKey,
      ...treePeerSettings(o),
      onParentData: (frame, bytes, from) => this.pipeline.push(frame, bytes, from),
      resumeHint: () => this.pipeline.firstVerifiedIndex,
      // A parent brings progress only with new verified data (not repeats or keepalives).
      position: () => this.pipeline.progressMark
    })
    this.pipeline = new VerifyPipeline<ParentSession>({ verifier: this.verifier, buffer: this.peer.buffer, maxMessageBytes: o.maxMessageBytes })
    this.pipeline.on('stored', () => this.peer.pumpChildren())
    this.pipeline.on('message', this.onMessage)
    this.pipeline.on('gap', (gap) => this.emit('gap', gap))
    this.pipeline.on('rejected', this.onRejected)
    this.pipeline.on('error', (err) => this.emit('error', err instanceof Error ? err : new Error(String(err))))
    this.peer.on('parent-changed', (id) => this.emit('parent-changed', id))
    this.peer.on('parent-connected', (id) => this.emit('parent-connected', id))
    this.peer.on('children-changed', (ids) => this.emit('children-changed', ids))
    this.peer.on('parent-failed', (id, failure) => {
      if (failure.kind === 'stall') this.emit('stall', id)
      // Verification failures reach the app through the pipeline (onRejected); a frame that does not even decode never
      // gets there, but is the same evidence against the parent, reported the same way.
      if (failure.kind === 'invalid' && failure.undecodable !== undefined) {
        this.emit('chunk-rejected', { code: failure.code, message: failure.undecodable, parentId: id, reported: true })
      }
    })
    // A failed rejoin after a signaling reconnect, for example.
    signaling.on('error', (err) => this.emit('error', err))
    signaling.on('signaling-lost', () => this.emit('signaling-lost'))
    signaling.on('signaling-restored', () => this.emit('signaling-restored'))
    this.peer.on('tree-ended', this.onTreeEnded)
    // A closing tab leaves at once: the server otherwise holds a peer whose socket dropped in place for its
    // detach grace (it may only be a blip), and children whose links died with the tab would wait that long.
    globalThis.addEventListener?.('pagehide', this.onPageHide)
    this.statsTimer = o.statsIntervalMs > 0 ? setInterval(() => this.emit('stats', this.stats()), o.statsIntervalMs) : null
  }

  /** @internal called by joinTree() once the server placed us. */
  start(placement: Placement): void {
    this.peer.applyPlacement(placement)
    this.emit('joined', placement)
  }

  get placement(): Placement | null {
    return this.peer.placement
  }

  /**
   * The stream of messages from now on. Each call gives an independent stream;
   * one whose reader falls `readableHighWaterMark` messages behind errors with
   * ERR_BUFFER_FULL rather than hold memory without bound.
   */
  get readable(): ReadableStream<MunroMessage> {
    let controller!: ReadableStreamDefaultController<MunroMessage>
    return new ReadableStream<MunroMessage>(
      {
        start: (c) => {
          controller = c
          if (this.destroyed) c.close()
          else this.streams.add(c)
        },
        cancel: () => {
          this.streams.delete(controller)
        }
      },
      { highWaterMark: this.readableHighWaterMark }
    )
  }

  /** Async iteration over messages: `for await (const m of viewer.messages()) …` */
  async *messages(): AsyncGenerator<MunroMessage, void, undefined> {
    const reader = this.readable.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        yield value
      }
    } finally {
      await reader.cancel().catch(() => undefined)
    }
  }

  /** The message starting at chunk `index`, if it is still in this peer's buffer. */
  get(index: number): MunroMessage | undefined {
    const parts: Uint8Array[] = []
    let first: { startPoint: boolean; timestamp: number } | undefined
    for (let i = index; ; i++) {
      const chunk = this.peer.buffer.getChunk(i)
      if (!chunk || (i === index && !chunk.messageStart)) return undefined
      const decoded = decodeFrame(chunk.frame)
      if (!decoded.ok || decoded.frame.type !== FrameType.CHUNK) return undefined
      parts.push(decoded.frame.payload)
      first ??= { startPoint: chunk.startPoint, timestamp: this.peer.buffer.getMunro(chunk.munroStart)?.timestamp ?? 0 }
      if (chunk.messageEnd) break
    }
    return { data: concatBytes(...parts), index, init: false, gap: false, ...first! }
  }

  stats(): PeerStats {
    return collectStats('viewer', this.treeId, this.peer, {
      chunksVerified: this.pipeline.chunksVerified,
      chunksRejected: this.pipeline.chunksRejected,
      messages: this.delivered,
      latencyMs: this.latency.read()
    })
  }

  /** Leaves the tree (the server re-attaches our children elsewhere) and closes every link. Idempotent. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    globalThis.removeEventListener?.('pagehide', this.onPageHide)
    this.stopStats()
    void this.signaling.leaveTree(this.treeId).catch(() => undefined).finally(() => this.signaling.destroy())
    this.closeStreams()
    this.pipeline.destroy()
    this.verifier.destroy()
    this.peer.destroy()
    this.removeAllListeners()
  }

  private readonly onPageHide = (): void => this.destroy()

  private readonly onMessage = (message: MunroMessage): void => {
    if (this.destroyed) return
    // Apparent latency: includes any offset between the source's clock and ours.
    if (!message.init) this.latency.add(Date.now() - message.timestamp)
    this.delivered++
    for (const c of this.streams) {
      if ((c.desiredSize ?? 1) <= 0) {
        this.streams.delete(c)
        c.error(new MunroError(ErrorCode.BUFFER_FULL, `the reader fell ${this.readableHighWaterMark} messages behind`))
      } else c.enqueue(message)
    }
    this.emit('message', message)
  }

  private readonly onRejected = ({ source, kind, code, message }: PipelineRejection<ParentSession>): void => {
    this.emit('chunk-rejected', { code, message, parentId: source.peerId, reported: kind === 'invalid' })
    // Forged data: the parent is dropped and reported; frames it already queued are dropped with it.
    if (kind === 'invalid') source.fail({ kind: 'invalid', code })
    // We could not keep up and dropped frames: reconnect, resuming where the buffer ends.
    if (kind === 'overload') source.fail({ kind: 'closed', code })
  }

  private stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer)
    this.statsTimer = null
  }

  private readonly onTreeEnded = (ended: TreeEnded): void => {
    this.stopStats()
    this.closeStreams()
    this.emit('tree-ended', ended)
  }

  private closeStreams(): void {
    for (const c of this.streams) c.close()
    this.streams.clear()
  }
}
