// The browser/Node side of the signaling contract: create or join trees, hear
// about placement changes, exchange WebRTC signals with neighbours, and come
// back as the same peer after a dropped connection.
import { EventEmitter } from 'eventemitter3'
import { io as connectSocket, type Socket } from 'socket.io-client'
import * as v from 'valibot'
import {
  HelloSchema,
  PlacementSchema,
  RelayedSignalSchema,
  SIGNALING_LIMITS,
  SIGNALING_PROTOCOL_VERSION,
  SignalingErrorCode,
  TreeEndedSchema,
  sourceProofMessage,
  type Ack,
  type ClientToServerEvents,
  type JoinResult,
  type LinkHints,
  type Placement,
  type RelayedSignal,
  type ReportReason,
  type ResumeTicket,
  type ServerToClientEvents,
  type TreeEnded
} from '../protocol/signaling.js'
import { base64urlEncode } from '../crypto/bytes.js'
import { signMessage } from '../crypto/ed25519.js'
import { treeIdFromPublicKey } from '../crypto/keys.js'

export type SignalingSocket = Socket<ServerToClientEvents, ClientToServerEvents>

/** Refusals of a rejoin that mean "retry shortly": the rejoin tries again (with backoff, up to rejoinRetryMs). */
const RETRY_REJOIN: ReadonlySet<string> = new Set([
  SignalingErrorCode.PARENT_PENDING,
  SignalingErrorCode.NO_SLOT,
  SignalingErrorCode.OVERLOADED,
  SignalingErrorCode.UNAVAILABLE,
  SignalingErrorCode.RATE_LIMITED
])

export interface SourceKey {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export interface SignalingClientOptions {
  /** socket.io-client options when the client opens its own connection. */
  reconnectionDelayMs?: number
  reconnectionDelayMaxMs?: number
  /** How long to wait for the server to answer a request. */
  requestTimeoutMs?: number
  /** How long creating or joining a tree waits for a first connection before ERR_SIGNAL_UNREACHABLE. Default 10 s. */
  connectTimeoutMs?: number
  /**
   * After the server restarted, how long a viewer keeps retrying a tree the
   * source has not re-created yet before it gives up with tree-ended. Default 30 s.
   */
  rejoinRetryMs?: number
}

/** What this peer holds on the data plane for one tree: sent with a rejoin so a restarted server can rebuild the edges. */
export type LinkHintsProvider = () => { parentId: string | null; childIds: string[] }

export interface SignalingClientEvents {
  placement: (placement: Placement) => void
  signal: (signal: RelayedSignal) => void
  'tree-ended': (ended: TreeEnded) => void
  /** After a reconnect, every tree this client was in has been rejoined (placement may differ). */
  resumed: (treeId: string, result: JoinResult) => void
  /** The connection dropped while this client is in trees; the data plane may keep flowing meanwhile. */
  'signaling-lost': () => void
  /** Reconnected, and every tree still held has been rejoined (or has ended with tree-ended). */
  'signaling-restored': () => void
  connect: () => void
  disconnect: (reason: string) => void
  error: (err: SignalingClientError) => void
}

export class SignalingClientError extends Error {
  readonly code: string
  readonly treeId: string | undefined
  constructor(code: string, message: string, treeId?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'SignalingClientError'
    this.code = code
    this.treeId = treeId
  }
}

interface Membership {
  role: 'source' | 'viewer'
  resume: ResumeTicket
  key?: SourceKey
  k?: number
  k1?: number
}

/**
 * One connection to a munro signaling server. Reconnection uses
 * socket.io-client's jittered exponential backoff; after each reconnect the
 * client rejoins its trees with its resume tickets (a source re-proves its key).
 */
export class SignalingClient extends EventEmitter<SignalingClientEvents> {
  readonly socket: SignalingSocket
  private readonly ownsSocket: boolean
  private readonly reconnectDelayMs: number
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private readonly memberships = new Map<string, Membership>()
  /** Trees with a create/join in flight: placements pushed before the ack are kept, not dropped. */
  private readonly joining = new Set<string>()
  /** The newest placement per tree (by version): a push may overtake the ack it follows. */
  private readonly latest = new Map<string, Placement>()
  /**
   * Trees being rejoined after a reconnect: the server may have restarted and counts placement versions afresh, so
   * the next placement is taken whatever its version. Until then `placementOf` keeps answering with the last one
   * (link hints read during the rejoin are often built from it).
   */
  private readonly versionsRestart = new Set<string>()
  private readonly hints = new Map<string, LinkHintsProvider>()
  private readonly requestTimeoutMs: number
  private readonly connectTimeoutMs: number
  /** The server's URL, for error messages. */
  private readonly target: string
  /** Creates/joins waiting for a first connection; destroy() ends each wait. */
  private readonly connectWaits = new Set<() => void>()
  private readonly rejoinRetryMs: number
  /** The server instance this client last talked to (from server:hello). */
  private instance: string | undefined
  private wasConnected = false
  private lost = false
  private destroyed = false

  constructor(urlOrSocket: string | SignalingSocket, options: SignalingClientOptions = {}) {
    super()
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.target = typeof urlOrSocket === 'string' ? urlOrSocket : 'the given socket'
    this.rejoinRetryMs = options.rejoinRetryMs ?? 30_000
    this.reconnectDelayMs = options.reconnectionDelayMs ?? 500
    if (typeof urlOrSocket === 'string') {
      this.socket = connectSocket(urlOrSocket, {
        transports: ['websocket'],
        reconnectionDelay: options.reconnectionDelayMs ?? 500,
        reconnectionDelayMax: options.reconnectionDelayMaxMs ?? 5_000,
        randomizationFactor: 0.5
      })
      this.ownsSocket = true
    } else {
      this.socket = urlOrSocket
      this.ownsSocket = false
    }
    this.socket.on('connect', this.onConnect)
    this.socket.on('server:hello', this.onHello)
    this.socket.on('disconnect', this.onDisconnect)
    this.socket.on('placement', this.onPlacement)
    this.socket.on('signal', this.onSignal)
    this.socket.on('tree:ended', this.onTreeEnded)
    if (this.socket.connected) this.wasConnected = true
  }

  get connected(): boolean {
    return this.socket.connected
  }

  /** Creates a tree whose id is `key.publicKey` (or takes its source role back). */
  async createTree(key: SourceKey, fanout: { k?: number; k1?: number } = {}): Promise<JoinResult> {
    const treeId = treeIdFromPublicKey(key.publicKey)
    const result = await this.joined(treeId, () => this.proveAndCreate(treeId, key, fanout))
    this.memberships.set(treeId, { role: 'source', resume: result.resume, key, ...fanout })
    return result
  }

  async joinTree(treeId: string): Promise<JoinResult> {
    const result = await this.joined(treeId, () => this.request('tree:join', { version: SIGNALING_PROTOCOL_VERSION, treeId }, treeId))
    this.memberships.set(treeId, { role: 'viewer', resume: result.resume })
    return result
  }

  /** The newest placement this client knows for a tree. */
  placementOf(treeId: string): Placement | undefined {
    return this.latest.get(treeId)
  }

  /**
   * Tells the client how to ask the data plane which links it holds in a tree.
   * On a rejoin the answer goes to the server, which (after a restart) rebuilds
   * the edges that both ends claim. TreePeer calls this; null removes it.
   */
  setLinkHints(treeId: string, provider: LinkHintsProvider | null): void {
    if (provider) this.hints.set(treeId, provider)
    else this.hints.delete(treeId)
  }

  async leaveTree(treeId: string): Promise<void> {
    this.forget(treeId)
    await this.request('tree:leave', { treeId }, treeId)
  }

  async reportParent(treeId: string, parentId: string, reason: ReportReason): Promise<void> {
    await this.request('peer:report', { treeId, parentId, reason }, treeId)
  }

  async sendSignal(treeId: string, to: string, data: Record<string, unknown>): Promise<void> {
    await this.request('signal', { treeId, to, data }, treeId)
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.socket.off('connect', this.onConnect)
    this.socket.off('server:hello', this.onHello)
    this.socket.off('disconnect', this.onDisconnect)
    this.socket.off('placement', this.onPlacement)
    this.socket.off('signal', this.onSignal)
    this.socket.off('tree:ended', this.onTreeEnded)
    for (const cancel of [...this.connectWaits]) cancel()
    this.memberships.clear()
    this.latest.clear()
    this.versionsRestart.clear()
    this.hints.clear()
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    if (this.ownsSocket) this.socket.disconnect()
    this.removeAllListeners()
  }

  // ------------------------------------------------------------ internals

  /** Runs a create/join request and answers with the newest placement, whether it came as the ack or as a push. */
  private async joined(treeId: string, send: () => Promise<JoinResult>): Promise<JoinResult> {
    this.joining.add(treeId)
    try {
      await this.reachable(treeId)
      const result = await send()
      this.remember(result.placement)
      return { ...result, placement: this.latest.get(treeId)! }
    } finally {
      this.joining.delete(treeId)
    }
  }

  /**
   * Waits for a connection. socket.io keeps retrying a server that refuses or
   * does not answer; without this wait a request would sit in its send buffer
   * and fail as ERR_TIMEOUT, hiding the connection error.
   */
  private reachable(treeId: string): Promise<void> {
    if (this.socket.connected) return Promise.resolve()
    return new Promise((resolve, reject) => {
      let cause: Error | undefined
      const onError = (err: Error): void => {
        cause = err
      }
      const settle = (): void => {
        clearTimeout(timer)
        this.connectWaits.delete(cancel)
        this.socket.off('connect', onConnect)
        this.socket.off('connect_error', onError)
      }
      const cancel = (): void => {
        settle()
        reject(new SignalingClientError(SignalingErrorCode.DESTROYED, 'the signaling client was destroyed', treeId))
      }
      const onConnect = (): void => {
        settle()
        resolve()
      }
      const timer = setTimeout(() => {
        settle()
        const why = cause ? `: ${describeConnectError(cause)}` : ''
        reject(new SignalingClientError(SignalingErrorCode.SIGNAL_UNREACHABLE, `could not reach the signaling server at ${this.target} within ${this.connectTimeoutMs} ms${why}`, treeId, cause))
      }, this.connectTimeoutMs)
      this.connectWaits.add(cancel)
      this.socket.on('connect', onConnect)
      this.socket.on('connect_error', onError)
    })
  }

  private remember(placement: Placement): boolean {
    const known = this.latest.get(placement.treeId)
    if (known && known.version >= placement.version && !this.versionsRestart.has(placement.treeId)) return false
    this.versionsRestart.delete(placement.treeId)
    this.latest.set(placement.treeId, placement)
    return true
  }

  private async proveAndCreate(
    treeId: string,
    key: SourceKey,
    fanout: { k?: number; k1?: number },
    resume?: ResumeTicket,
    link?: LinkHints
  ): Promise<JoinResult> {
    const { challenge } = await this.request('tree:challenge', {}, treeId)
    const signature = base64urlEncode(await signMessage(key.secretKey, sourceProofMessage(treeId, challenge)))
    const extra = { ...(fanout.k !== undefined && { k: fanout.k }), ...(fanout.k1 !== undefined && { k1: fanout.k1 }), ...(resume && { resume }), ...(link && { link }) }
    return this.request('tree:create', { version: SIGNALING_PROTOCOL_VERSION, treeId, challenge, signature, ...extra }, treeId)
  }

  private request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
    treeId?: string
  ): Promise<AckBody<E>> {
    if (this.destroyed) return Promise.reject(new SignalingClientError(SignalingErrorCode.DESTROYED, 'the signaling client was destroyed', treeId))
    // socket.io's typed emit cannot express "ack with timeout" generically; the shape is checked below.
    const timed = this.socket.timeout(this.requestTimeoutMs) as unknown as {
      emit(event: string, payload: unknown, cb: (err: Error | null, res: Ack<{ placement?: unknown }>) => void): void
    }
    return new Promise((resolve, reject) => {
      timed.emit(event, payload, (err, res) => {
        if (err) return reject(new SignalingClientError(SignalingErrorCode.TIMEOUT, `no answer to ${event} within ${this.requestTimeoutMs} ms`, treeId))
        if (!res || typeof res !== 'object' || typeof res.ok !== 'boolean') {
          return reject(new SignalingClientError(SignalingErrorCode.BAD_PAYLOAD, `malformed answer to ${event}`, treeId))
        }
        if (!res.ok) return reject(new SignalingClientError(String(res.error?.code), String(res.error?.message), treeId))
        if ('placement' in res && !v.is(PlacementSchema, res.placement)) {
          return reject(new SignalingClientError(SignalingErrorCode.BAD_PAYLOAD, `answer to ${event} carries an invalid placement`, treeId))
        }
        resolve(res as unknown as AckBody<E>)
      })
    })
  }

  private readonly onConnect = (): void => {
    this.emit('connect')
  }

  /** The server says who it is on every connection: the moment to rejoin, knowing whether it restarted. */
  private readonly onHello = (payload: unknown): void => {
    const parsed = v.safeParse(HelloSchema, payload)
    if (!parsed.success) return
    const restarted = this.instance !== undefined && this.instance !== parsed.output.instance
    this.instance = parsed.output.instance
    if (!this.wasConnected) {
      this.wasConnected = true
      return
    }
    const rejoins = [...this.memberships].map(([treeId, membership]) => this.rejoin(treeId, membership, restarted))
    void Promise.all(rejoins).then(() => {
      if (this.destroyed || !this.lost || !this.socket.connected) return
      this.lost = false
      this.emit('signaling-restored')
    })
  }

  private async rejoin(treeId: string, membership: Membership, restarted: boolean): Promise<void> {
    this.versionsRestart.add(treeId)
    const give = Date.now() + this.rejoinRetryMs
    for (let delay = 250; ; delay = Math.min(delay * 2, 2_000)) {
      // Read on every try: links may have come up (or gone) while the server had us wait.
      const link = this.linkHints(treeId)
      try {
        const result = await this.joined(treeId, () =>
          membership.role === 'source' && membership.key
            ? this.proveAndCreate(treeId, membership.key, { k: membership.k, k1: membership.k1 }, membership.resume, link)
            : this.request('tree:join', { version: SIGNALING_PROTOCOL_VERSION, treeId, resume: membership.resume, ...(link && { link }) }, treeId).catch(
                (err: SignalingClientError) => {
                  // The ticket expired or the server cannot vouch for it: join afresh rather than give up.
                  if (err.code !== SignalingErrorCode.BAD_RESUME) throw err
                  return this.request('tree:join', { version: SIGNALING_PROTOCOL_VERSION, treeId }, treeId)
                }
              )
        )
        if (this.destroyed || !this.memberships.has(treeId)) return
        membership.resume = result.resume
        this.emit('resumed', treeId, result)
        return
      } catch (err) {
        if (this.destroyed || !this.memberships.has(treeId) || !this.socket.connected) return
        const e = err as SignalingClientError
        // After a restart the source (or this peer's parent) may simply not be back yet, and a busy server says
        // "retry shortly": keep trying for a while (the data plane still flows). Giving up here would leave the
        // peer out of its tree for good: every later signal of it refused, its links never replaced.
        const pending = (e.code === SignalingErrorCode.TREE_NOT_FOUND && restarted) || RETRY_REJOIN.has(e.code)
        if (pending && Date.now() < give) {
          // The last wait ends at the deadline, for one final try there.
          await new Promise((r) => setTimeout(r, Math.min(delay, give - Date.now())))
          continue
        }
        if (e.code === SignalingErrorCode.TREE_NOT_FOUND) {
          // The tree ended while we were away.
          this.forget(treeId)
          this.emit('tree-ended', { treeId, reason: 'source-gone' })
          return
        }
        this.emit('error', new SignalingClientError(e.code ?? SignalingErrorCode.INTERNAL, `could not rejoin tree: ${e.message}`, treeId))
        return
      }
    }
  }

  /** What the data plane holds, in the wire shape; nothing if no provider is set or it throws. */
  private linkHints(treeId: string): LinkHints | undefined {
    const provider = this.hints.get(treeId)
    if (!provider) return undefined
    try {
      const { parentId, childIds } = provider()
      return { parent: parentId, children: childIds.slice(0, SIGNALING_LIMITS.maxFanout) }
    } catch {
      return undefined
    }
  }

  private forget(treeId: string): boolean {
    this.latest.delete(treeId)
    this.versionsRestart.delete(treeId)
    this.hints.delete(treeId)
    return this.memberships.delete(treeId)
  }

  private readonly onDisconnect = (reason: string): void => {
    this.emit('disconnect', reason)
    // socket.io-client does not reconnect by itself when the server closed the connection
    // (a graceful shutdown before a restart, say): reconnect as after a network drop.
    if (reason === 'io server disconnect' && this.ownsSocket && !this.destroyed) {
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = null
        if (!this.destroyed) this.socket.connect()
      }, this.reconnectDelayMs * (0.5 + Math.random()))
    }
    if (this.destroyed || this.lost || this.memberships.size === 0) return
    this.lost = true
    this.emit('signaling-lost')
  }

  private readonly onPlacement = (payload: unknown): void => {
    const parsed = v.safeParse(PlacementSchema, payload)
    if (!parsed.success) return
    const { treeId } = parsed.output
    if (!this.memberships.has(treeId) && !this.joining.has(treeId)) return
    if (this.remember(parsed.output) && this.memberships.has(treeId)) this.emit('placement', parsed.output)
  }

  private readonly onSignal = (payload: unknown): void => {
    const parsed = v.safeParse(RelayedSignalSchema, payload)
    if (parsed.success && this.memberships.has(parsed.output.treeId)) this.emit('signal', parsed.output)
  }

  private readonly onTreeEnded = (payload: unknown): void => {
    const parsed = v.safeParse(TreeEndedSchema, payload)
    if (!parsed.success || !this.forget(parsed.output.treeId)) return
    this.emit('tree-ended', parsed.output)
  }
}

/** socket.io's "websocket error" carries the transport's own error (ECONNREFUSED, a TLS failure, …) in `description`. */
function describeConnectError(err: Error): string {
  const description = (err as Error & { description?: unknown }).description
  const inner = description instanceof Error ? description : (description as { error?: unknown } | undefined)?.error
  return inner instanceof Error && inner.message && inner.message !== err.message ? `${err.message} (${inner.message})` : err.message
}

type AckBody<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[1] extends (res: infer R) => void
  ? Extract<R, { ok: true }>
  : never
