// A viewer: joins a tree by id and receives the source's messages, verified
// and in order. Thin: verification lives in verify/, relaying in relay/.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from './errors.js'
import { publicKeyFromTreeId } from './crypto/keys.js'
import { concatBytes } from './crypto/bytes.js'
import { ChunkVerifier } from './verify/verifier.js'
import type { ReassembledMessage } from './verify/reassembler.js'
import { decodeFrame, FrameType } from './wire/frames.js'
import { SignalingClient } from './signaling/signaling-client.js'
import type { Placement, TreeEnded } from './protocol/signaling.js'
import { Ingest } from './relay/ingest.js'
import type { ParentSession } from './relay/parent-session.js'
import { TreePeer } from './relay/tree-peer.js'
import { resolvePeerOptions, treePeerSettings, type PeerOptions, type PeerStats } from './peer-options.js'
import { collectStats, LatencyMeter } from './peer-stats.js'

export interface ViewerOptions extends PeerOptions {
  /** Oldest signed timestamp accepted, relative to now. Default 10 minutes. */
  maxAgeMs?: number
  /** Furthest a signed timestamp may be ahead of this clock. Default 30 s. */
  maxFutureMs?: number
  /** Messages a `readable` stream holds for a slow reader before it errors with ERR_BUFFER_FULL. Default 1024. */
  readableHighWaterMark?: number
}

/** One message as the source wrote it. */
export interface MunroMessage {
  data: Uint8Array
  /** Index of its first chunk in the stream. */
  index: number
  startPoint: boolean
  init: boolean
}

export interface RejectedChunk {
  code: string
  message: string
  /** The parent that sent it. */
  parentId: string
  /**
   * True when the frame was forged or corrupt: the parent was reported and
   * replaced. False when it was genuine but unusable here (e.g. older than
   * `maxAgeMs`): it is dropped and the parent kept.
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
  'chunk-rejected': (rejected: RejectedChunk) => void
  /** The parent went silent past `stallMs`; it has been reported and will be replaced. */
  stall: (parentId: string) => void
  'tree-ended': (ended: TreeEnded) => void
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
  private readonly ingest: Ingest<ParentSession>
  private readonly latency = new LatencyMeter()
  private readonly statsTimer: ReturnType<typeof setInterval> | null
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
    // A parent always sends a munro before its chunks, so a chunk of an unknown munro is an error, not early.
    this.verifier = new ChunkVerifier({ publicKey: treeKey, maxAgeMs: options.maxAgeMs ?? 600_000, maxFutureMs: options.maxFutureMs, maxPendingChunks: 0 })
    this.peer = new TreePeer({
      signaling,
      treeId,
      treeKey,
      ...treePeerSettings(o),
      onParentData: (frame, bytes, from) => this.ingest.push(frame, bytes, from),
      resumeHint: () => this.ingest.firstVerifiedIndex
    })
    this.ingest = new Ingest<ParentSession>({
      verifier: this.verifier,
      buffer: this.peer.buffer,
      maxMessageBytes: o.maxMessageBytes,
      onStored: (from) => {
        from.noteProgress()
        this.peer.pumpChildren()
      },
      onProgress: (from) => from.noteProgress(),
      onMunroStored: () => this.peer.pumpChildren(),
      onMessage: this.onMessage,
      onRejected: this.onRejected,
      onLatency: (ms) => this.latency.add(ms),
      isLive: (from) => from.isOpen
    })
    this.peer.on('parent-changed', (id) => this.emit('parent-changed', id))
    this.peer.on('parent-connected', (id) => this.emit('parent-connected', id))
    this.peer.on('children-changed', (ids) => this.emit('children-changed', ids))
    this.peer.on('parent-failed', (id, failure) => {
      if (failure.kind === 'stall') this.emit('stall', id)
    })
    // A failed rejoin after a signaling reconnect, for example.
    signaling.on('error', (err) => this.emit('error', err))
    this.peer.on('tree-ended', this.onTreeEnded)
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
    let first: { startPoint: boolean; init: boolean } | undefined
    for (let i = index; ; i++) {
      const chunk = this.peer.buffer.getChunk(i)
      if (!chunk || (i === index && !chunk.messageStart)) return undefined
      const decoded = decodeFrame(chunk.frame)
      if (!decoded.ok || decoded.frame.type !== FrameType.CHUNK) return undefined
      parts.push(decoded.frame.payload)
      first ??= { startPoint: chunk.startPoint, init: chunk.init }
      if (chunk.messageEnd) break
    }
    return { data: concatBytes(...parts), index, ...first! }
  }

  stats(): PeerStats {
    return collectStats('viewer', this.treeId, this.peer, {
      chunksVerified: this.ingest.chunksVerified,
      chunksRejected: this.ingest.chunksRejected,
      messages: this.delivered,
      latencyMs: this.latency.read()
    })
  }

  /** Leaves the tree (the server re-attaches our children elsewhere) and closes every link. Idempotent. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.statsTimer) clearInterval(this.statsTimer)
    void this.signaling.leaveTree(this.treeId).catch(() => undefined).finally(() => this.signaling.destroy())
    this.closeStreams()
    this.ingest.destroy()
    this.verifier.destroy()
    this.peer.destroy()
    this.removeAllListeners()
  }

  private readonly onMessage = (m: ReassembledMessage): void => {
    if (this.destroyed) return
    const message: MunroMessage = { data: m.bytes, index: m.index, startPoint: m.startPoint, init: m.init }
    this.delivered++
    for (const c of this.streams) {
      if ((c.desiredSize ?? 1) <= 0) {
        this.streams.delete(c)
        c.error(new MunroError(ErrorCode.BUFFER_FULL, `the reader fell ${this.readableHighWaterMark} messages behind`))
      } else c.enqueue(message)
    }
    this.emit('message', message)
  }

  private readonly onRejected = (from: ParentSession, code: string, message: string, blame: boolean): void => {
    this.emit('chunk-rejected', { code, message, parentId: from.peerId, reported: blame })
    // The parent is dropped and reported; frames it already queued are dropped with it.
    if (blame) from.fail({ kind: 'invalid', code })
  }

  private readonly onTreeEnded = (ended: TreeEnded): void => {
    this.closeStreams()
    this.emit('tree-ended', ended)
  }

  private closeStreams(): void {
    for (const c of this.streams) c.close()
    this.streams.clear()
  }
}
