// The source of a tree: signs what the application writes and feeds it to
// its children. Thin: signing lives in sign/, relaying in relay/.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from './errors.js'
import { generateKeyPair, treeIdFromPublicKey, type KeyPair } from './crypto/keys.js'
import { StreamSigner, type SignedMunro } from './sign/munro-signer.js'
import type { MessageFlags } from './sign/chunker.js'
import { SignalingClient } from './signaling/signaling-client.js'
import type { Placement, TreeEnded } from './protocol/signaling.js'
import { TreePeer } from './relay/tree-peer.js'
import { toBufferedChunk } from './relay/stream-buffer.js'
import { resolvePeerOptions, treePeerSettings, type PeerOptions, type PeerStats } from './peer-options.js'
import { collectStats } from './peer-stats.js'

export interface SourceOptions extends PeerOptions {
  /** The tree's key pair; its public key is the tree id. Default: a new one. */
  keyPair?: KeyPair
  /** Most children of the source. Default: the server's. */
  k1?: number
  /** Most children of any viewer. Default: the server's. */
  k?: number
  /** Chunks per signed munro (a power of two). Default 32. */
  munroSpan?: number
  /** Sign an unfinished munro after this long, bounding latency at low bitrates. Default 50 ms. */
  munroDeadlineMs?: number
  /**
   * While the application writes nothing, sign an empty heartbeat chunk this
   * often, so viewers can tell a quiet stream from a parent that withholds
   * data. Keep it well under the viewers' `stallMs`. Default 500 ms.
   */
  heartbeatMs?: number
  /**
   * Re-sign the latest init message this often, so its signed timestamp stays
   * inside what viewers accept (`maxAgeMs`, default 10 min) for late joiners.
   * Viewers see the init message again each time. Default 60 000 ms.
   */
  initRefreshMs?: number
}

export interface SourceEvents {
  'children-changed': (children: string[]) => void
  stats: (stats: PeerStats) => void
  /** The server ended the tree (e.g. this source left). */
  'tree-ended': (ended: TreeEnded) => void
  error: (err: Error) => void
}

export type WriteFlags = MessageFlags

/** Creates a tree on the signaling server and resolves once this page/process is its source. */
export async function createSource(options: SourceOptions): Promise<MunroSource> {
  const keyPair = options.keyPair ?? generateKeyPair()
  const signaling = new SignalingClient(options.signal, { connectTimeoutMs: options.connectTimeoutMs })
  try {
    const joined = await signaling.createTree(keyPair, { k: options.k, k1: options.k1 })
    return new MunroSource(signaling, keyPair, joined.placement, options)
  } catch (err) {
    signaling.destroy()
    throw err
  }
}

export class MunroSource extends EventEmitter<SourceEvents> {
  readonly treeId: string
  readonly publicKey: Uint8Array
  private readonly signer: StreamSigner
  private readonly peer: TreePeer
  private readonly statsTimer: ReturnType<typeof setInterval> | null
  private readonly heartbeatTimer: ReturnType<typeof setInterval>
  private wroteSinceHeartbeat = false
  private lastInit: { bytes: Uint8Array; at: number } | null = null
  private messagesWritten = 0
  private destroyed = false

  /** Use createSource(). */
  constructor(
    private readonly signaling: SignalingClient,
    keyPair: KeyPair,
    placement: Placement,
    options: SourceOptions
  ) {
    super()
    const o = resolvePeerOptions(options)
    this.treeId = treeIdFromPublicKey(keyPair.publicKey)
    this.publicKey = keyPair.publicKey
    this.signer = new StreamSigner({
      secretKey: keyPair.secretKey,
      publicKey: keyPair.publicKey,
      maxMessageBytes: o.maxMessageBytes,
      munroSpan: options.munroSpan,
      munroDeadlineMs: options.munroDeadlineMs
    })
    this.peer = new TreePeer({
      signaling,
      treeId: this.treeId,
      treeKey: keyPair.publicKey,
      ...treePeerSettings(o)
    })
    this.signer.on('munro', this.onSigned)
    this.signer.on('error', (err) => this.emit('error', err))
    this.peer.on('children-changed', (children) => this.emit('children-changed', children))
    // A failed rejoin after a signaling reconnect, for example.
    signaling.on('error', (err) => this.emit('error', err))
    this.peer.on('tree-ended', (ended) => this.emit('tree-ended', ended))
    this.peer.applyPlacement(placement)
    this.statsTimer = o.statsIntervalMs > 0 ? setInterval(() => this.emit('stats', this.stats()), o.statsIntervalMs) : null
    const initRefreshMs = options.initRefreshMs ?? 60_000
    this.heartbeatTimer = setInterval(() => {
      if (this.lastInit && Date.now() - this.lastInit.at >= initRefreshMs) this.write(this.lastInit.bytes, { init: true })
      if (!this.wroteSinceHeartbeat) this.signer.heartbeat()
      this.wroteSinceHeartbeat = false
    }, options.heartbeatMs ?? 500)
  }

  get children(): string[] {
    return this.peer.placement?.children ?? []
  }

  /**
   * Writes one application message (bytes or text). It is chunked, signed
   * within `munroDeadlineMs` and relayed to every viewer in order.
   * Flags: `startPoint` marks where a late joiner may begin (e.g. a keyframe),
   * `init` an initialization segment every newcomer receives first.
   */
  write(data: Uint8Array | string, flags?: WriteFlags): void {
    if (this.destroyed) throw new MunroError(ErrorCode.DESTROYED, 'write after destroy')
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    if (!(bytes instanceof Uint8Array)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'write() takes a Uint8Array or a string')
    this.signer.write(bytes, flags)
    if (flags?.init) this.lastInit = { bytes: bytes.slice(), at: Date.now() }
    this.wroteSinceHeartbeat = true
    this.messagesWritten++
  }

  /** Signs what is pending now instead of waiting for the munro deadline. */
  flush(): void {
    this.signer.flush()
  }

  /** A WritableStream of messages, for `readable.pipeTo(source.writable)`. */
  get writable(): WritableStream<Uint8Array | string> {
    return new WritableStream({ write: (chunk) => this.write(chunk) })
  }

  stats(): PeerStats {
    return collectStats('source', this.treeId, this.peer, {
      chunksVerified: 0,
      chunksRejected: 0,
      messages: this.messagesWritten,
      latencyMs: null
    })
  }

  /** Ends the tree for everyone (the server tells every viewer), closes every link. Idempotent. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    if (this.statsTimer) clearInterval(this.statsTimer)
    clearInterval(this.heartbeatTimer)
    this.signer.destroy()
    void this.signaling.leaveTree(this.treeId).catch(() => undefined).finally(() => this.signaling.destroy())
    this.peer.destroy()
    this.removeAllListeners()
  }

  private readonly onSigned = (signed: SignedMunro): void => {
    const now = Date.now()
    const buffer = this.peer.buffer
    buffer.addMunro({ start: signed.munro.start, count: signed.munro.count, timestamp: signed.munro.timestamp, frame: signed.munroBytes })
    for (const { frame, bytes } of signed.chunks) buffer.add(toBufferedChunk(frame, bytes, now))
    this.peer.pumpChildren()
  }
}
