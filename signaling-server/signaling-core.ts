// The socket handlers: who may create, join, leave, report and signal, and
// who is told what afterwards. Tree shape lives behind TreeRegistry; this file
// only keeps per-connection state (memberships, challenges, resume tickets).
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Server, Socket } from 'socket.io'
import type { Logger } from 'pino'
import {
  CreateTreeSchema,
  JoinTreeSchema,
  LeaveTreeSchema,
  ReportParentSchema,
  SendSignalSchema,
  SignalingErrorCode,
  sourceProofMessage,
  type Ack,
  type ClientToServerEvents,
  type JoinResult,
  type Placement,
  type ServerToClientEvents,
  type TreeEnded
} from '../src/protocol/signaling.js'
import { base64urlDecode, base64urlEncode } from '../src/crypto/bytes.js'
import { verifySignature } from '../src/crypto/ed25519.js'
import { SignalingError, toErrorBody } from './errors.js'
import { parsePayload } from './parse.js'
import { TokenBucket } from './rate-limit.js'
import { KeyedSerialQueue } from './serial.js'
import type { ServerMetrics } from './metrics.js'
import type { ChangeSet, TreeRegistry } from './registry/tree-registry.js'
import type * as v from 'valibot'

export interface SignalingLimits {
  k: number
  k1: number
  maxK: number
  maxK1: number
  sourceGraceMs: number
  resumeTtlMs: number
  maxResumeTickets: number
  challengeTtlMs: number
  maxPendingChallenges: number
  maxTreesPerConnection: number
  messagesPerSecond: number
  messageBurst: number
  maxPayloadBytes: number
  /** Distinct children reporting the same parent before it is evicted from the tree. */
  evictAfterReports: number
}

type IoServer = Server<ClientToServerEvents, ServerToClientEvents>
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents>

interface ConnectionState {
  /** treeId -> this connection's peerId in that tree. */
  memberships: Map<string, string>
  /** challenge -> expiry time. */
  challenges: Map<string, number>
  bucket: TokenBucket
  /** Set on disconnect: a request still awaiting (a signature check, say) must not bind this connection anymore. */
  closed: boolean
}

interface PeerRecord {
  socket: IoSocket
  treeId: string
  peerId: string
  /** Secret that lets this peer resume its identity after a reconnect. */
  token: Uint8Array
}

interface SourceRecord {
  peerId: string
  socket: IoSocket | null
  graceTimer: ReturnType<typeof setTimeout> | null
  k: number
  k1: number
}

/** Kept for a peer that disconnected, so it can come back as itself. */
interface ResumeTicketRecord {
  token: Uint8Array
  treeId: string
  lastParent: string | null
  expiryTimer: ReturnType<typeof setTimeout>
}

const KNOWN_EVENTS = new Set<string>(['tree:challenge', 'tree:create', 'tree:join', 'tree:leave', 'peer:report', 'signal'])

const randomId = (bytes: number) => base64urlEncode(randomBytes(bytes))

export class SignalingCore {
  private readonly peers = new Map<string, PeerRecord>()
  private readonly sources = new Map<string, SourceRecord>()
  private readonly tickets = new Map<string, ResumeTicketRecord>()
  private readonly connections = new Map<IoSocket, ConnectionState>()
  private readonly serial = new KeyedSerialQueue()
  private destroyed = false
  /** Orders placements: a client applies one only if it is newer than what it has. */
  private placementVersion = 0

  constructor(
    private readonly io: IoServer,
    private readonly registry: TreeRegistry,
    private readonly limits: SignalingLimits,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger
  ) {
    io.on('connection', this.onConnection)
  }

  get peerCount(): number {
    return this.peers.size
  }

  get treeCount(): number {
    return this.sources.size
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.io.off('connection', this.onConnection)
    for (const source of this.sources.values()) if (source.graceTimer) clearTimeout(source.graceTimer)
    for (const ticket of this.tickets.values()) clearTimeout(ticket.expiryTimer)
    this.tickets.clear()
  }

  // ------------------------------------------------------------ connection

  private readonly onConnection = (socket: IoSocket): void => {
    const state: ConnectionState = {
      memberships: new Map(),
      challenges: new Map(),
      bucket: new TokenBucket(this.limits.messagesPerSecond, this.limits.messageBurst),
      closed: false
    }
    this.connections.set(socket, state)
    this.metrics.connections.set(this.connections.size)

    socket.use((packet, next) => {
      const [event] = packet
      const ack = packet[packet.length - 1]
      const reject = (code: SignalingErrorCode, message: string) => {
        this.metrics.rejected.inc({ code })
        if (typeof ack === 'function') ack({ ok: false, error: { code, message } })
      }
      if (typeof event !== 'string' || !KNOWN_EVENTS.has(event)) return reject(SignalingErrorCode.UNKNOWN_EVENT, `unknown event ${JSON.stringify(String(event)).slice(0, 64)}`)
      if (!state.bucket.take()) return reject(SignalingErrorCode.RATE_LIMITED, `more than ${this.limits.messagesPerSecond} messages per second`)
      next()
    })

    this.handle(socket, 'tree:challenge', null, async () => this.issueChallenge(state))
    this.handle(socket, 'tree:create', CreateTreeSchema, (req) => this.createTree(socket, state, req))
    this.handle(socket, 'tree:join', JoinTreeSchema, (req) => this.joinTree(socket, state, req))
    this.handle(socket, 'tree:leave', LeaveTreeSchema, (req) => this.leaveTree(state, req.treeId))
    this.handle(socket, 'peer:report', ReportParentSchema, (req) => this.reportParent(state, req))
    this.handle(socket, 'signal', SendSignalSchema, async (req) => this.relaySignal(state, req))

    socket.on('disconnect', () => {
      state.closed = true
      this.connections.delete(socket)
      if (this.destroyed) return
      this.metrics.connections.set(this.connections.size)
      for (const [treeId, peerId] of state.memberships) {
        void this.serial.run(treeId, () => this.onPeerGone(treeId, peerId, socket)).catch((err) => this.log.error({ err, treeId }, 'cleanup after disconnect failed'))
      }
      state.memberships.clear()
    })
  }

  /** Wires one event: validate, run, ack. Nothing a client sends can throw past here. */
  private handle<S extends v.GenericSchema>(
    socket: IoSocket,
    event: keyof ClientToServerEvents,
    schema: S | null,
    run: (payload: v.InferOutput<S>) => Promise<object>
  ): void {
    socket.on(event, (async (payload: unknown, ack: unknown) => {
      const reply = typeof ack === 'function' ? (ack as (res: Ack<object>) => void) : () => {}
      try {
        const parsed = schema ? parsePayload(schema, payload, this.limits.maxPayloadBytes) : payload
        reply({ ok: true, ...(await run(parsed)) })
      } catch (err) {
        const error = toErrorBody(err)
        if (error.code === SignalingErrorCode.INTERNAL) this.log.error({ err, event }, 'handler failed')
        this.metrics.rejected.inc({ code: error.code })
        reply({ ok: false, error })
      }
    }) as never)
  }

  // ------------------------------------------------------------ source

  private issueChallenge(state: ConnectionState): { challenge: string } {
    const now = Date.now()
    for (const [c, expiry] of state.challenges) if (expiry <= now) state.challenges.delete(c)
    if (state.challenges.size >= this.limits.maxPendingChallenges) {
      // Oldest first: Map keeps insertion order.
      state.challenges.delete(state.challenges.keys().next().value as string)
    }
    const challenge = randomId(32)
    state.challenges.set(challenge, now + this.limits.challengeTtlMs)
    return { challenge }
  }

  private async createTree(socket: IoSocket, state: ConnectionState, req: v.InferOutput<typeof CreateTreeSchema>): Promise<JoinResult> {
    const expiry = state.challenges.get(req.challenge)
    state.challenges.delete(req.challenge)
    if (expiry === undefined || expiry <= Date.now()) {
      throw new SignalingError(SignalingErrorCode.NO_CHALLENGE, 'ask for a challenge with tree:challenge first; each is single-use and expires')
    }
    const publicKey = base64urlDecode(req.treeId)
    const signature = base64urlDecode(req.signature)
    if (!(await verifySignature(publicKey, sourceProofMessage(req.treeId, req.challenge), signature))) {
      throw new SignalingError(SignalingErrorCode.BAD_SIGNATURE, 'the signature does not prove possession of the tree key')
    }
    return this.serial.run(req.treeId, async () => {
      const existing = this.sources.get(req.treeId)
      if (existing) return this.reclaimSource(socket, state, req.treeId, existing)
      this.assertRoomForTree(state, req.treeId)
      const k = Math.min(req.k ?? this.limits.k, this.limits.maxK)
      const k1 = Math.min(req.k1 ?? this.limits.k1, this.limits.maxK1)
      const peerId = randomId(16)
      await this.registry.createTree(req.treeId, peerId, { k, k1 })
      this.sources.set(req.treeId, { peerId, socket, graceTimer: null, k, k1 })
      this.bind(socket, state, req.treeId, peerId, randomBytes(32))
      this.metrics.trees.set(this.sources.size)
      this.log.info({ treeId: req.treeId, k, k1 }, 'tree created')
      await this.unbindIfGone(socket, state, req.treeId, peerId)
      return this.joinResult(req.treeId, peerId, { k, k1 })
    })
  }

  /** The key holder is back (or on a second connection): it takes the source role over. */
  private async reclaimSource(socket: IoSocket, state: ConnectionState, treeId: string, source: SourceRecord): Promise<JoinResult> {
    if (source.socket === socket) throw new SignalingError(SignalingErrorCode.ALREADY_IN_TREE, 'this connection is already the source of that tree')
    this.assertRoomForTree(state, treeId)
    if (source.graceTimer) clearTimeout(source.graceTimer)
    source.graceTimer = null
    if (source.socket) this.connections.get(source.socket)?.memberships.delete(treeId)
    source.socket = socket
    this.bind(socket, state, treeId, source.peerId, randomBytes(32))
    await this.unbindIfGone(socket, state, treeId, source.peerId)
    this.log.info({ treeId }, 'source reclaimed')
    const view = await this.registry.query(treeId, source.peerId)
    await this.notify(treeId, { changed: view?.children ?? [], removed: [], reparented: 0 })
    return this.joinResult(treeId, source.peerId, source)
  }

  // ------------------------------------------------------------ viewers

  private async joinTree(socket: IoSocket, state: ConnectionState, req: v.InferOutput<typeof JoinTreeSchema>): Promise<JoinResult> {
    return this.serial.run(req.treeId, async () => {
      const source = this.sources.get(req.treeId)
      if (!source) throw new SignalingError(SignalingErrorCode.TREE_NOT_FOUND, 'no tree with that id on this server')
      this.assertRoomForTree(state, req.treeId)
      let peerId = randomId(16)
      let token: Uint8Array = randomBytes(32)
      let preferredParent: string | undefined
      if (req.resume) {
        const { id, secret, lastParent } = await this.redeemResume(req.treeId, req.resume.peerId, base64urlDecode(req.resume.token))
        peerId = id
        token = secret
        preferredParent = lastParent ?? undefined
      }
      const changes = await this.registry.place(req.treeId, peerId, preferredParent)
      this.bind(socket, state, req.treeId, peerId, token)
      await this.unbindIfGone(socket, state, req.treeId, peerId)
      await this.notify(req.treeId, changes, peerId)
      return this.joinResult(req.treeId, peerId, source)
    })
  }

  private async leaveTree(state: ConnectionState, treeId: string): Promise<object> {
    const peerId = state.memberships.get(treeId)
    if (!peerId) throw new SignalingError(SignalingErrorCode.NOT_IN_TREE, 'this connection is not in that tree')
    state.memberships.delete(treeId)
    return this.serial.run(treeId, async () => {
      const source = this.sources.get(treeId)
      if (source?.peerId === peerId) await this.endTree(treeId, 'source-left')
      else await this.detach(treeId, peerId)
      return {}
    })
  }

  private async reportParent(state: ConnectionState, req: v.InferOutput<typeof ReportParentSchema>): Promise<object> {
    const peerId = this.memberOf(state, req.treeId)
    return this.serial.run(req.treeId, async () => {
      const outcome = await this.registry.report(req.treeId, peerId, req.parentId, req.reason)
      this.metrics.reports.inc({ reason: req.reason })
      this.metrics.reparents.inc(outcome.reparented)
      await this.notify(req.treeId, outcome)
      const source = this.sources.get(req.treeId)
      if (outcome.reportsAgainstParent >= this.limits.evictAfterReports && source?.peerId !== req.parentId) {
        const accused = this.peers.get(req.parentId)
        this.log.warn({ treeId: req.treeId, peerId: req.parentId, reports: outcome.reportsAgainstParent }, 'evicting a peer its children keep reporting')
        await this.detach(req.treeId, req.parentId)
        if (accused) {
          this.connections.get(accused.socket)?.memberships.delete(req.treeId)
          accused.socket.emit('tree:ended', { treeId: req.treeId, reason: 'evicted' })
        }
      }
      return {}
    })
  }

  private relaySignal(state: ConnectionState, req: v.InferOutput<typeof SendSignalSchema>): Promise<object> {
    const from = this.memberOf(state, req.treeId)
    return this.serial.run(req.treeId, async () => {
      const view = await this.registry.query(req.treeId, from)
      if (!view || (view.parent !== req.to && !view.children.includes(req.to))) {
        throw new SignalingError(SignalingErrorCode.NOT_A_NEIGHBOUR, 'signals go only to your current parent or children')
      }
      const target = this.peers.get(req.to)
      if (!target) throw new SignalingError(SignalingErrorCode.NOT_A_NEIGHBOUR, 'that peer is not connected right now')
      target.socket.emit('signal', { treeId: req.treeId, from, data: req.data })
      this.metrics.signals.inc()
      return {}
    })
  }

  // ------------------------------------------------------------ churn

  /** A connection went away without saying goodbye. */
  private async onPeerGone(treeId: string, peerId: string, socket: IoSocket): Promise<void> {
    const source = this.sources.get(treeId)
    if (source?.peerId === peerId) {
      if (source.socket !== socket) return
      source.socket = null
      this.log.info({ treeId, graceMs: this.limits.sourceGraceMs }, 'source disconnected; waiting for it to come back')
      source.graceTimer = setTimeout(() => {
        void this.serial.run(treeId, () => this.endTree(treeId, 'source-gone')).catch((err) => this.log.error({ err, treeId }, 'ending tree failed'))
      }, this.limits.sourceGraceMs)
      source.graceTimer.unref?.()
      return
    }
    const record = this.peers.get(peerId)
    if (!record || record.socket !== socket) return
    const view = await this.registry.query(treeId, peerId)
    await this.detach(treeId, peerId)
    this.keepTicket(peerId, { token: record.token, treeId, lastParent: view?.parent ?? null })
  }

  /** Checks a resume ticket against a departed peer, or a live one whose old connection has not timed out yet. */
  private async redeemResume(treeId: string, peerId: string, token: Uint8Array): Promise<{ id: string; secret: Uint8Array; lastParent: string | null }> {
    const ticket = this.tickets.get(peerId)
    const live = this.peers.get(peerId)
    const expected = ticket?.token ?? live?.token
    const sameTree = (ticket?.treeId ?? live?.treeId) === treeId
    if (!expected || !sameTree || token.length !== expected.length || !timingSafeEqual(token, expected)) {
      throw new SignalingError(SignalingErrorCode.BAD_RESUME, 'resume ticket unknown, expired or not for this tree')
    }
    let lastParent = ticket?.lastParent ?? null
    if (live) {
      lastParent = (await this.registry.query(treeId, peerId))?.parent ?? null
      this.connections.get(live.socket)?.memberships.delete(treeId)
      await this.detach(treeId, peerId)
    }
    this.dropTicket(peerId)
    return { id: peerId, secret: expected, lastParent }
  }

  private async detach(treeId: string, peerId: string): Promise<void> {
    this.peers.delete(peerId)
    const changes = await this.registry.remove(treeId, peerId)
    this.metrics.departures.inc()
    this.metrics.reparents.inc(changes.reparented)
    this.metrics.peers.set(this.peers.size)
    await this.notify(treeId, changes)
  }

  private async endTree(treeId: string, reason: TreeEnded['reason']): Promise<void> {
    const source = this.sources.get(treeId)
    // A grace timer may fire after a reclaim queued ahead of it: the source is back.
    if (!source || (reason === 'source-gone' && source.socket !== null)) return
    if (source.graceTimer) clearTimeout(source.graceTimer)
    this.sources.delete(treeId)
    const members = await this.registry.deleteTree(treeId)
    for (const peerId of members) {
      const record = this.peers.get(peerId)
      this.peers.delete(peerId)
      this.dropTicket(peerId)
      if (!record) continue
      this.connections.get(record.socket)?.memberships.delete(treeId)
      record.socket.emit('tree:ended', { treeId, reason })
      this.metrics.departures.inc()
    }
    this.metrics.peers.set(this.peers.size)
    this.metrics.trees.set(this.sources.size)
    this.metrics.treesEnded.inc({ reason })
    this.log.info({ treeId, reason, peers: members.length }, 'tree ended')
  }

  // ------------------------------------------------------------ helpers

  private bind(socket: IoSocket, state: ConnectionState, treeId: string, peerId: string, token: Uint8Array): void {
    state.memberships.set(treeId, peerId)
    this.peers.set(peerId, { socket, treeId, peerId, token })
    this.metrics.joins.inc()
    this.metrics.peers.set(this.peers.size)
  }

  /**
   * The connection may have dropped while this request awaited (its disconnect
   * handler ran before the binding existed): undo as a disconnect would, so no
   * tree or peer is left bound to a dead socket.
   */
  private async unbindIfGone(socket: IoSocket, state: ConnectionState, treeId: string, peerId: string): Promise<void> {
    if (!state.closed) return
    state.memberships.delete(treeId)
    await this.onPeerGone(treeId, peerId, socket)
    throw new SignalingError(SignalingErrorCode.DISCONNECTED, 'the connection closed while the request was in progress')
  }

  private assertRoomForTree(state: ConnectionState, treeId: string): void {
    if (state.memberships.has(treeId)) throw new SignalingError(SignalingErrorCode.ALREADY_IN_TREE, 'this connection is already in that tree')
    if (state.memberships.size >= this.limits.maxTreesPerConnection) {
      throw new SignalingError(SignalingErrorCode.TREE_LIMIT, `a connection may be in at most ${this.limits.maxTreesPerConnection} trees`)
    }
  }

  private memberOf(state: ConnectionState, treeId: string): string {
    const peerId = state.memberships.get(treeId)
    if (!peerId) throw new SignalingError(SignalingErrorCode.NOT_IN_TREE, 'this connection is not in that tree')
    return peerId
  }

  private async joinResult(treeId: string, peerId: string, tree: { k: number; k1: number }): Promise<JoinResult> {
    const placement = await this.placementOf(treeId, peerId)
    const record = this.peers.get(peerId)
    if (!placement || !record) throw new SignalingError(SignalingErrorCode.INTERNAL, 'placed peer not found')
    return { placement, resume: { peerId, token: base64urlEncode(record.token) }, tree: { k: tree.k, k1: tree.k1 } }
  }

  private keepTicket(peerId: string, ticket: Omit<ResumeTicketRecord, 'expiryTimer'>): void {
    this.dropTicket(peerId)
    if (this.tickets.size >= this.limits.maxResumeTickets) {
      // Map iterates in insertion order: the first entry is the oldest ticket.
      this.dropTicket(this.tickets.keys().next().value as string)
    }
    const expiryTimer = setTimeout(() => this.tickets.delete(peerId), this.limits.resumeTtlMs)
    expiryTimer.unref?.()
    this.tickets.set(peerId, { ...ticket, expiryTimer })
  }

  private dropTicket(peerId: string): void {
    const ticket = this.tickets.get(peerId)
    if (!ticket) return
    clearTimeout(ticket.expiryTimer)
    this.tickets.delete(peerId)
  }

  private async placementOf(treeId: string, peerId: string): Promise<Placement | undefined> {
    const view = await this.registry.query(treeId, peerId)
    return view && { treeId, peerId, parent: view.parent, depth: view.depth, children: view.children, version: ++this.placementVersion }
  }

  /** Tells every peer whose placement changed where it now is. */
  private async notify(treeId: string, changes: ChangeSet, except?: string): Promise<void> {
    for (const peerId of changes.changed) {
      if (peerId === except) continue
      const record = this.peers.get(peerId)
      if (!record) continue
      const placement = await this.placementOf(treeId, peerId)
      if (placement) record.socket.emit('placement', placement)
    }
  }
}
