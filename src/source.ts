// The source of a tree: signs what the application writes and feeds it to
// its children. Thin: signing lives in sign/, relaying in relay/.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from './errors.js'
import { generateKeyPair, treeIdFromPublicKey, type KeyPair } from './crypto/keys.js'
import { StreamSigner, type SignedInit, type SignedMunro } from './sign/munro-signer.js'
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
  /**
   * Wait this long after a write before signing, so that more writes share
   * one signature (less CPU at high message rates, more latency). Default 0:
   * what is written within one task is signed at the end of that task.
   */
  munroDeadlineMs?: number
  /**
   * While the application writes nothing, sign an empty heartbeat chunk this
   * often, so viewers can tell a quiet stream from a parent that withholds
   * data. Keep it well under the viewers' `stallMs`. Default 500 ms.
   */
  heartbeatMs?: number
  /**
   * This run's source session, signed into everything it sends. Viewers follow
   * a higher epoch than the one they have (a source restarted with its saved
   * key) and refuse lower ones. Default: Date.now() at start, so a restart is
   * newer as long as this machine's clock did not go back; an app that keeps
   * state can pass a counter instead.
   */
  epoch?: number
}

export interface SourceEvents {
  'children-changed': (children: string[]) => void
  stats: (stats: PeerStats) => void
  /** The server ended the tree (e.g. this source left). */
  'tree-ended': (ended: TreeEnded) => void
  /** The signaling server is unreachable; WebRTC links keep carrying the stream meanwhile. */
  'signaling-lost': () => void
  /** Signaling is back and the tree has been re-created (or resumed) on the server. */
  'signaling-restored': () => void
  error: (err: Error) => void
}

export interface WriteFlags {
  /** A late joiner may start here (e.g. a keyframe or a media segment start). */
  startPoint?: boolean
  /**
   * An initialization segment (codec setup): it travels outside the message
   * order, every newcomer gets the latest one before the data that follows
   * it, and viewers deliver it again only when a new one is written. At most
   * MAX_INIT_BYTES (16 286 bytes).
   */
  init?: boolean
}

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
      munroDeadlineMs: options.munroDeadlineMs,
      heartbeatMs: options.heartbeatMs ?? 500,
      epoch: options.epoch
    })
    this.peer = new TreePeer({
      signaling,
      treeId: this.treeId,
      treeKey: keyPair.publicKey,
      ...treePeerSettings(o)
    })
    // Everything this source signs belongs to its session.
    this.peer.buffer.reset(this.signer.epoch)
    this.signer.on('munro', this.onSigned)
    this.signer.on('init', this.onInit)
    this.signer.on('error', (err) => this.emit('error', err))
    this.peer.on('children-changed', (children) => this.emit('children-changed', children))
    // A failed rejoin after a signaling reconnect, for example.
    signaling.on('error', (err) => this.emit('error', err))
    signaling.on('signaling-lost', () => this.emit('signaling-lost'))
    signaling.on('signaling-restored', () => this.emit('signaling-restored'))
    this.peer.on('tree-ended', (ended) => this.emit('tree-ended', ended))
    this.peer.applyPlacement(placement)
    this.statsTimer = o.statsIntervalMs > 0 ? setInterval(() => this.emit('stats', this.stats()), o.statsIntervalMs) : null
  }

  get children(): string[] {
    return this.peer.placement?.children ?? []
  }

  /**
   * Writes one application message (bytes or text). It is chunked, signed
   * at the end of the current task (or after `munroDeadlineMs`) and relayed
   * to every viewer in order. The bytes are copied: reuse your buffer at once.
   * Flags: `startPoint` marks where a late joiner may begin (e.g. a keyframe),
   * `init` an initialization segment (see WriteFlags).
   */
  write(data: Uint8Array | string, flags?: WriteFlags): void {
    if (this.destroyed) throw new MunroError(ErrorCode.DESTROYED, 'write after destroy')
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    if (!(bytes instanceof Uint8Array)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'write() takes a Uint8Array or a string')
    if (flags?.init) this.signer.writeInit(bytes)
    else this.signer.write(bytes, { startPoint: flags?.startPoint })
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

  private readonly onInit = (signed: SignedInit): void => {
    this.peer.buffer.inits.add(signed.frame, signed.bytes)
    this.peer.pumpChildren()
  }
}
