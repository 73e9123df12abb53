// What the server does with a valid request: create, join, resume, leave,
// report and signal, and who is told what afterwards. Requests arrive already
// validated (handlers.ts). Tree shape lives behind TreeRegistry, tickets behind
// SessionStore, source proofs behind SourceAuth and eviction behind
// ReportPolicy, so each can move to a shared store; this class keeps only
// which connection holds which peer, and the grace timers.
import { randomBytes } from 'node:crypto'
import type { Server, Socket } from 'socket.io'
import type { Logger } from 'pino'
import {
  SignalingErrorCode,
  type ClientToServerEvents,
  type CreateTreeRequest,
  type JoinResult,
  type JoinTreeRequest,
  type LinkHints,
  type ReportParentRequest,
  type SendSignalRequest,
  type ServerToClientEvents,
  type TreeEnded
} from '../src/protocol/signaling.js'
import { base64urlEncode } from '../src/crypto/bytes.js'
import { SignalingError } from './errors.js'
import type { SignalingLimits } from './limits.js'
import type { ServerMetrics } from './metrics.js'
import type { ReportPolicy } from './report-policy.js'
import { KeyedSerialQueue } from './serial.js'
import type { GraceTimers, SessionStore } from './sessions.js'
import type { SourceAuth } from './source-auth.js'
import { RegistryError, type ChangeSet, type TreeRegistry } from './registry/tree-registry.js'

export type IoServer = Server<ClientToServerEvents, ServerToClientEvents>
export type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents>

/** One client connection as the service sees it. */
export interface Connection {
  readonly id: string
  readonly socket: IoSocket
  /** Its remote address: the report policy weighs reporters by address. */
  readonly address: string
  /** treeId -> this connection's peer id in that tree. */
  readonly memberships: Map<string, string>
  /** Set on disconnect: a request still awaiting must not bind this connection anymore. */
  closed: boolean
}

interface Binding {
  /** null while the peer is away (its connection dropped and its grace runs). */
  conn: Connection | null
  /** When this peer first joined (tenure for the report policy). */
  joinedAt: number
}

interface SourceState {
  peerId: string
  k: number
  k1: number
  /**
   * What rejoining peers said they hold, while the tree may be rebuilding after
   * a server restart (the first resumeTtlMs after it was created here); null after.
   */
  claims: Map<string, LinkHints> | null
  /** Until then (ms), a returning peer whose claimed parent is not back is asked to retry. */
  rebuildUntil: number
}

/**
 * What TreeService needs when other server processes serve the same trees
 * (signaling-server/redis). Without it, every peer of a tree is on this process.
 */
export interface ClusterHooks {
  /** Reaches a socket on any process, through its peer room. */
  io: IoServer
  /** Catches the registry up with changes made elsewhere (when a neighbour check misses). */
  refresh(treeId: string): Promise<void>
  /** Marks away a peer whose process died and takes over its expiry; false if another process holds it by now. */
  takeOver(treeId: string, peerId: string, deadProcessId: string): Promise<boolean>
}

export interface TreeServiceDeps {
  registry: TreeRegistry
  sessions: SessionStore
  auth: SourceAuth
  policy: ReportPolicy
  timers: GraceTimers
  limits: SignalingLimits
  metrics: ServerMetrics
  log: Logger
  cluster?: ClusterHooks
}

const randomId = () => base64urlEncode(randomBytes(16))
const keyOf = (treeId: string, peerId: string) => `${treeId}/${peerId}`
/** The socket.io room of one peer's connection, whichever process holds it. */
const roomOf = (treeId: string, peerId: string) => `p:${treeId}/${peerId}`

export class TreeService {
  /** `treeId/peerId` -> who holds that peer. */
  private readonly bindings = new Map<string, Binding>()
  private readonly sources = new Map<string, SourceState>()
  private readonly serial = new KeyedSerialQueue()

  constructor(private readonly d: TreeServiceDeps) {}

  get peerCount(): number {
    return this.bindings.size
  }

  get treeCount(): number {
    return this.sources.size
  }

  // ------------------------------------------------------------ source

  issueChallenge(conn: Connection): Promise<{ challenge: string }> {
    return this.d.auth.issueChallenge(conn.id).then((challenge) => ({ challenge }))
  }

  async createTree(conn: Connection, req: CreateTreeRequest): Promise<JoinResult> {
    const verdict = await this.d.auth.verifyProof(conn.id, req.treeId, req.challenge, req.signature)
    if (verdict === 'no-challenge') throw new SignalingError(SignalingErrorCode.NO_CHALLENGE, 'ask for a challenge with tree:challenge first; each is single-use and expires')
    if (verdict === 'bad-signature') throw new SignalingError(SignalingErrorCode.BAD_SIGNATURE, 'the signature does not prove possession of the tree key')
    const { treeId } = req
    return this.serial.run(treeId, async () => {
      const existing = await this.source(treeId)
      if (existing) return this.reclaimSource(conn, treeId, existing)
      this.assertRoomForTree(conn, treeId)
      const k = Math.min(req.k ?? this.d.limits.k, this.d.limits.maxK)
      const k1 = Math.min(req.k1 ?? this.d.limits.k1, this.d.limits.maxK1)
      // A genuine ticket this server never issued predates a restart: the source keeps its id, so its children's claims still name it.
      const restarted = req.resume !== undefined && (await this.d.sessions.check(treeId, req.resume)) === 'unknown'
      const peerId = restarted ? req.resume!.peerId : randomId()
      await this.d.registry.createTree(treeId, peerId, { k, k1 })
      const claims = new Map<string, LinkHints>()
      if (restarted && req.link) claims.set(peerId, req.link)
      this.sources.set(treeId, { peerId, k, k1, claims, rebuildUntil: restarted ? Date.now() + this.d.limits.rebuildWindowMs : 0 })
      this.d.timers.start(`recovery:${treeId}`, this.d.limits.resumeTtlMs, () => {
        const source = this.sources.get(treeId)
        if (source) source.claims = null
      })
      this.bind(conn, treeId, peerId, Date.now())
      this.d.metrics.trees.set(this.sources.size)
      this.d.log.info({ treeId, k, k1, restarted }, 'tree created')
      await this.unbindIfGone(conn, treeId, peerId)
      return this.joinResult(treeId, peerId, { k, k1 })
    })
  }

  /** The key holder is back (or on a second connection): it takes the source role over, keeping the tree. */
  private async reclaimSource(conn: Connection, treeId: string, source: SourceState): Promise<JoinResult> {
    const binding = this.bindings.get(keyOf(treeId, source.peerId))
    if (binding?.conn === conn) throw new SignalingError(SignalingErrorCode.ALREADY_IN_TREE, 'this connection is already the source of that tree')
    this.assertRoomForTree(conn, treeId)
    this.d.timers.cancel(`grace:${treeId}`)
    this.takePlace(conn, treeId, source.peerId, binding)
    const changes = await this.d.registry.setAway(treeId, source.peerId, false)
    this.d.log.info({ treeId }, 'source reclaimed')
    await this.unbindIfGone(conn, treeId, source.peerId)
    await this.notify(treeId, changes, source.peerId)
    return this.joinResult(treeId, source.peerId, source)
  }

  // ------------------------------------------------------------ viewers

  async joinTree(conn: Connection, req: JoinTreeRequest): Promise<JoinResult> {
    return this.serial.run(req.treeId, async () => {
      const source = await this.source(req.treeId)
      if (!source) throw new SignalingError(SignalingErrorCode.TREE_NOT_FOUND, 'no tree with that id on this server')
      this.assertRoomForTree(conn, req.treeId)
      if (req.resume) return this.resume(conn, source, req)
      const peerId = randomId()
      const changes = await this.d.registry.place(req.treeId, peerId)
      this.bind(conn, req.treeId, peerId, Date.now())
      await this.unbindIfGone(conn, req.treeId, peerId)
      await this.notify(req.treeId, changes, peerId)
      return this.joinResult(req.treeId, peerId, source)
    })
  }

  /**
   * A peer presents its ticket. The current ticket of a peer still in the tree
   * (away, or on a connection not yet timed out) takes that place back as it
   * is; the current ticket of a departed peer places it again, preferably
   * under its last parent; a genuine ticket from before a restart is honoured
   * while the tree rebuilds, and its link hints restore the edges both ends
   * confirm. Anything else (rotated, replayed, revoked, forged) is refused.
   */
  private async resume(conn: Connection, source: SourceState, req: JoinTreeRequest): Promise<JoinResult> {
    const { treeId } = req
    const { peerId } = req.resume!
    if (peerId === source.peerId) throw new SignalingError(SignalingErrorCode.BAD_RESUME, 'the source takes its role back with tree:create and its key')
    const check = await this.d.sessions.check(treeId, req.resume!)
    const binding = this.bindings.get(keyOf(treeId, peerId))
    // With other processes, the peer may be held (or away) on any of them: the registry knows.
    const inTree = this.d.cluster ? (await this.d.registry.query(treeId, peerId)) !== undefined : binding !== undefined
    if (check === 'current' && inTree) {
      this.takePlace(conn, treeId, peerId, binding)
      this.d.timers.cancel(`detach:${keyOf(treeId, peerId)}`)
      const changes = await this.d.registry.setAway(treeId, peerId, false)
      await this.unbindIfGone(conn, treeId, peerId)
      await this.notify(treeId, changes, peerId)
      return this.joinResult(treeId, peerId, source)
    }
    let preferredParent: string | undefined
    const restarted = check === 'unknown' && source.claims !== null
    if (check === 'current') preferredParent = (await this.d.sessions.lastParent(treeId, peerId)) ?? undefined
    else if (restarted) preferredParent = this.confirmedParent(source, treeId, peerId, req.link)
    else throw new SignalingError(SignalingErrorCode.BAD_RESUME, 'resume ticket unknown, expired, replayed or not for this tree')

    const changes = await this.d.registry.place(treeId, peerId, preferredParent)
    this.bind(conn, treeId, peerId, Date.now())
    if (restarted && req.link) mergeInto(changes, await this.adoptConfirmedChildren(source, treeId, peerId, req.link))
    await this.unbindIfGone(conn, treeId, peerId)
    await this.notify(treeId, changes, peerId)
    return this.joinResult(treeId, peerId, source)
  }

  /**
   * Records what a peer claims to hold; its parent counts only if that parent,
   * back already, claims it too. A parent not back yet is waited for (the peer
   * retries) during the rebuild window: placing the child elsewhere first could
   * take the very slot its parent needs.
   */
  private confirmedParent(source: SourceState, treeId: string, peerId: string, link: LinkHints | undefined): string | undefined {
    if (!link || !source.claims) return undefined
    source.claims.set(peerId, link)
    const parent = link.parent
    if (parent === null) return undefined
    if (!this.bindings.has(keyOf(treeId, parent))) {
      if (Date.now() < source.rebuildUntil) throw new SignalingError(SignalingErrorCode.PARENT_PENDING, 'the parent you claim is not back yet; retry shortly')
      return undefined
    }
    return source.claims.get(parent)?.children.includes(peerId) ? parent : undefined
  }

  /** Children that came back first and claim this peer as their parent move under it (fan-out and acyclicity checked by the registry). */
  private async adoptConfirmedChildren(source: SourceState, treeId: string, peerId: string, link: LinkHints): Promise<ChangeSet> {
    const changes: ChangeSet = { changed: [], removed: [], reparented: 0 }
    for (const childId of link.children) {
      if (source.claims?.get(childId)?.parent !== peerId || !this.bindings.has(keyOf(treeId, childId))) continue
      mergeInto(changes, await this.d.registry.move(treeId, childId, peerId))
    }
    return changes
  }

  async leaveTree(conn: Connection, treeId: string): Promise<object> {
    const peerId = this.memberOf(conn, treeId)
    conn.memberships.delete(treeId)
    return this.serial.run(treeId, async () => {
      if (this.bindings.get(keyOf(treeId, peerId))?.conn !== conn) return {}
      if ((await this.source(treeId))?.peerId === peerId) await this.endTree(treeId, 'source-left')
      else {
        await this.detach(treeId, peerId)
        await this.d.sessions.revoke(treeId, peerId)
      }
      return {}
    })
  }

  async reportParent(conn: Connection, req: ReportParentRequest): Promise<object> {
    const reporterId = this.memberOf(conn, req.treeId)
    const { treeId, parentId } = req
    return this.serial.run(treeId, async () => {
      const binding = this.bindings.get(keyOf(treeId, reporterId))
      if (binding?.conn !== conn) throw new SignalingError(SignalingErrorCode.NOT_IN_TREE, 'this connection is not in that tree')
      const changes = await this.d.registry.report(treeId, reporterId, parentId)
      this.d.metrics.reports.inc({ reason: req.reason })
      this.d.metrics.reparents.inc(changes.reparented)
      await this.notify(treeId, changes)
      const judged = await this.d.policy.judge({
        treeId,
        reporterId,
        reporterAddress: conn.address,
        reporterJoinedAt: binding.joinedAt,
        accusedId: parentId,
        accusedIsSource: (await this.source(treeId))?.peerId === parentId,
        reason: req.reason
      })
      if (judged.verdict !== 'evict') return {}
      const accused = this.bindings.get(keyOf(treeId, parentId))
      this.d.log.warn({ treeId, peerId: parentId }, 'evicting a relay that children with tenure report for invalid data')
      this.d.metrics.evictions.inc()
      await this.detach(treeId, parentId)
      await this.d.sessions.revoke(treeId, parentId)
      if (accused?.conn) {
        this.forgetMembership(accused.conn, treeId)
        accused.conn.socket.emit('tree:ended', { treeId, reason: 'evicted' })
      } else if (!accused) this.d.cluster?.io.to(roomOf(treeId, parentId)).emit('tree:ended', { treeId, reason: 'evicted' })
      return {}
    })
  }

  /**
   * No tree lock and, with Redis, no round trip: the neighbour check reads the
   * local replica, which follows every placement change; only a check that
   * misses (a placement made elsewhere an instant ago) catches up first.
   */
  async relaySignal(conn: Connection, req: SendSignalRequest): Promise<object> {
    const from = this.memberOf(conn, req.treeId)
    const { treeId, to } = req
    if (!(await this.isNeighbour(treeId, from, to))) {
      await this.d.cluster?.refresh(treeId)
      if (!this.d.cluster || !(await this.isNeighbour(treeId, from, to))) {
        throw new SignalingError(SignalingErrorCode.NOT_A_NEIGHBOUR, 'signals go only to your current parent or children')
      }
    }
    const target = await this.d.registry.query(treeId, to)
    if (!target) throw new SignalingError(SignalingErrorCode.NOT_A_NEIGHBOUR, 'that peer is not in the tree')
    if (target.away) {
      if (target.parent === null) throw new SignalingError(SignalingErrorCode.SOURCE_ABSENT, 'the source is disconnected; its grace period runs')
      throw new SignalingError(SignalingErrorCode.PEER_ABSENT, 'that peer is disconnected for a moment')
    }
    this.emitTo(treeId, to, 'signal', { treeId, from, data: req.data })
    this.d.metrics.signals.inc()
    return {}
  }

  private async isNeighbour(treeId: string, from: string, to: string): Promise<boolean> {
    const view = await this.d.registry.query(treeId, from)
    return view !== undefined && (view.parent === to || view.children.includes(to))
  }

  // ------------------------------------------------------------ churn

  /** The connection closed: each of its peers keeps its place for a grace period. */
  disconnected(conn: Connection): void {
    conn.closed = true
    this.d.auth.forgetConnection(conn.id)
    for (const [treeId, peerId] of conn.memberships) {
      void this.serial.run(treeId, () => this.goAway(treeId, peerId, conn)).catch((err) => this.d.log.error({ err, treeId }, 'cleanup after disconnect failed'))
    }
    conn.memberships.clear()
  }

  private async goAway(treeId: string, peerId: string, conn: Connection): Promise<void> {
    const key = keyOf(treeId, peerId)
    const binding = this.bindings.get(key)
    if (!binding || binding.conn !== conn) return
    binding.conn = null
    try {
      await this.d.registry.setAway(treeId, peerId, true)
    } catch (err) {
      // Removed meanwhile by another process (evicted, expired, tree ended): nothing left to hold.
      if (isGone(err)) return void this.bindings.delete(key)
      throw err
    }
    await this.startGrace(treeId, peerId)
  }

  /**
   * The process holding these peers died (its lease expired): they are away
   * from now, and this process runs their grace, as if their connections had
   * dropped here. Their children stay attached until the grace ends; then
   * they are re-attached as for any departure.
   */
  async orphaned(treeId: string, peerIds: string[], deadProcessId: string): Promise<void> {
    await this.serial.run(treeId, async () => {
      for (const peerId of peerIds) {
        try {
          if (await this.d.cluster!.takeOver(treeId, peerId, deadProcessId)) await this.startGrace(treeId, peerId)
        } catch (err) {
          if (!isGone(err)) throw err
        }
      }
    })
  }

  /** Another process ended a tree: tell the connections this one holds. */
  endedElsewhere(treeId: string, reason: TreeEnded['reason'], members: string[]): void {
    this.d.timers.cancel(`grace:${treeId}`)
    this.d.timers.cancel(`recovery:${treeId}`)
    this.sources.delete(treeId)
    for (const peerId of members) {
      const key = keyOf(treeId, peerId)
      const binding = this.bindings.get(key)
      if (!binding) continue
      this.bindings.delete(key)
      this.d.timers.cancel(`detach:${key}`)
      if (!binding.conn) continue
      this.forgetMembership(binding.conn, treeId)
      binding.conn.socket.emit('tree:ended', { treeId, reason })
    }
    this.d.metrics.peers.set(this.bindings.size)
    this.d.metrics.trees.set(this.sources.size)
  }

  /**
   * Redis lost its data and the tree was written back from some process's
   * replica: peers this process holds that the surviving log lacks (placed
   * through another process just before the loss) are placed again, and the
   * tree itself is created again if no replica survived but the source is here.
   */
  async reconcile(treeId: string): Promise<void> {
    await this.serial.run(treeId, async () => {
      const source = this.sources.get(treeId)
      if (!(await this.d.registry.info(treeId))) {
        if (!source || !this.bindings.has(keyOf(treeId, source.peerId))) return
        await this.d.registry.createTree(treeId, source.peerId, source)
      }
      const changes: ChangeSet = { changed: [], removed: [], reparented: 0 }
      for (const [key, binding] of this.bindings) {
        if (!key.startsWith(`${treeId}/`)) continue
        const peerId = key.slice(treeId.length + 1)
        if (await this.d.registry.query(treeId, peerId)) continue
        mergeInto(changes, await this.d.registry.place(treeId, peerId))
        if (!binding.conn) await this.d.registry.setAway(treeId, peerId, true)
      }
      await this.notify(treeId, changes)
    })
  }

  private async startGrace(treeId: string, peerId: string): Promise<void> {
    const key = keyOf(treeId, peerId)
    if ((await this.source(treeId))?.peerId === peerId) {
      this.d.log.info({ treeId, graceMs: this.d.limits.sourceGraceMs }, 'source disconnected; waiting for it to come back')
      this.d.timers.start(`grace:${treeId}`, this.d.limits.sourceGraceMs, () => this.later(treeId, () => this.endTree(treeId, 'source-gone')))
      return
    }
    this.d.timers.start(`detach:${key}`, this.d.limits.detachGraceMs, () => this.later(treeId, () => this.expireAway(treeId, peerId)))
  }

  /** An away viewer did not come back in time: detach it, keeping its ticket for a later resume. */
  private async expireAway(treeId: string, peerId: string): Promise<void> {
    if (this.bindings.get(keyOf(treeId, peerId))?.conn) return
    // Back meanwhile, here or on another process, or already gone.
    const view = await this.d.registry.query(treeId, peerId).catch(() => undefined)
    if (!view?.away) return
    try {
      await this.detach(treeId, peerId)
    } catch (err) {
      if (isGone(err)) return
      throw err
    }
    await this.d.sessions.keep(treeId, peerId, view?.parent ?? null)
  }

  private async detach(treeId: string, peerId: string): Promise<void> {
    this.bindings.delete(keyOf(treeId, peerId))
    this.d.timers.cancel(`detach:${keyOf(treeId, peerId)}`)
    const changes = await this.d.registry.remove(treeId, peerId)
    await this.d.policy.peerLeft(treeId, peerId)
    this.d.metrics.departures.inc()
    this.d.metrics.reparents.inc(changes.reparented)
    this.d.metrics.peers.set(this.bindings.size)
    await this.notify(treeId, changes)
  }

  private async endTree(treeId: string, reason: TreeEnded['reason']): Promise<void> {
    const source = await this.source(treeId)
    if (!source) return
    // A grace timer may fire after a reclaim queued ahead of it: the source is back (here or elsewhere).
    if (reason === 'source-gone' && (this.bindings.get(keyOf(treeId, source.peerId))?.conn || (await this.d.registry.query(treeId, source.peerId))?.away === false)) return
    this.d.timers.cancel(`grace:${treeId}`)
    this.d.timers.cancel(`recovery:${treeId}`)
    this.sources.delete(treeId)
    const members = await this.d.registry.deleteTree(treeId, reason)
    await this.d.policy.treeEnded(treeId)
    for (const peerId of members) {
      const key = keyOf(treeId, peerId)
      const binding = this.bindings.get(key)
      this.bindings.delete(key)
      this.d.timers.cancel(`detach:${key}`)
      await this.d.sessions.revoke(treeId, peerId)
      this.d.metrics.departures.inc()
      if (!binding?.conn) continue
      this.forgetMembership(binding.conn, treeId)
      binding.conn.socket.emit('tree:ended', { treeId, reason })
    }
    this.d.metrics.peers.set(this.bindings.size)
    this.d.metrics.trees.set(this.sources.size)
    this.d.metrics.treesEnded.inc({ reason })
    this.d.log.info({ treeId, reason, peers: members.length }, 'tree ended')
  }

  // ------------------------------------------------------------ helpers

  private later(treeId: string, task: () => Promise<void>): void {
    void this.serial.run(treeId, task).catch((err) => this.d.log.error({ err, treeId }, 'timer task failed'))
  }

  /** Another connection took this peer over with its current ticket: the old one is told and forgets the tree. */
  private displace(old: Connection, treeId: string): void {
    this.forgetMembership(old, treeId)
    old.socket.emit('tree:ended', { treeId, reason: 'displaced' })
  }

  /** `conn` takes over a peer that is in the tree: the connection holding it before (here or on another process) is displaced. */
  private takePlace(conn: Connection, treeId: string, peerId: string, binding: Binding | undefined): void {
    if (binding?.conn) this.displace(binding.conn, treeId)
    // The adapter may deliver after this connection has joined the room: never to itself.
    else if (!binding) this.d.cluster?.io.to(roomOf(treeId, peerId)).except(conn.socket.id).emit('tree:ended', { treeId, reason: 'displaced' })
    if (!binding) return this.bind(conn, treeId, peerId, Date.now())
    binding.conn = conn
    conn.memberships.set(treeId, peerId)
    if (this.d.cluster) void conn.socket.join(roomOf(treeId, peerId))
  }

  private forgetMembership(conn: Connection, treeId: string): void {
    const peerId = conn.memberships.get(treeId)
    conn.memberships.delete(treeId)
    if (peerId !== undefined && this.d.cluster) void conn.socket.leave(roomOf(treeId, peerId))
  }

  /** Sends to a peer's connection: directly when this process holds it, else through its room to whichever process does. */
  private emitTo<E extends 'signal' | 'placement'>(treeId: string, peerId: string, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    const binding = this.bindings.get(keyOf(treeId, peerId))
    const emit = (target: { emit: IoServer['emit'] }) => (target.emit as (e: string, p: unknown) => boolean)(event, payload)
    if (binding?.conn) emit(binding.conn.socket as never)
    else if (!binding && this.d.cluster) emit(this.d.cluster.io.to(roomOf(treeId, peerId)) as never)
  }

  /** The tree's source and fan-outs; a tree created by another process is learnt from the registry. */
  private async source(treeId: string): Promise<SourceState | undefined> {
    const known = this.sources.get(treeId)
    if (known || !this.d.cluster) return known
    const info = await this.d.registry.info(treeId)
    if (!info) return undefined
    const source: SourceState = { peerId: info.sourceId, k: info.k, k1: info.k1, claims: null, rebuildUntil: 0 }
    this.sources.set(treeId, source)
    return source
  }

  private bind(conn: Connection, treeId: string, peerId: string, joinedAt: number): void {
    conn.memberships.set(treeId, peerId)
    if (this.d.cluster) void conn.socket.join(roomOf(treeId, peerId))
    this.bindings.set(keyOf(treeId, peerId), { conn, joinedAt })
    this.d.metrics.joins.inc()
    this.d.metrics.peers.set(this.bindings.size)
  }

  /**
   * The connection may have dropped while this request awaited (its disconnect
   * handler ran before the binding existed): treat it as a disconnect, so no
   * tree or peer is left bound to a dead socket.
   */
  private async unbindIfGone(conn: Connection, treeId: string, peerId: string): Promise<void> {
    if (!conn.closed) return
    this.forgetMembership(conn, treeId)
    await this.goAway(treeId, peerId, conn)
    throw new SignalingError(SignalingErrorCode.DISCONNECTED, 'the connection closed while the request was in progress')
  }

  private assertRoomForTree(conn: Connection, treeId: string): void {
    if (conn.memberships.has(treeId)) throw new SignalingError(SignalingErrorCode.ALREADY_IN_TREE, 'this connection is already in that tree')
    if (conn.memberships.size >= this.d.limits.maxTreesPerConnection) {
      throw new SignalingError(SignalingErrorCode.TREE_LIMIT, `a connection may be in at most ${this.d.limits.maxTreesPerConnection} trees`)
    }
  }

  private memberOf(conn: Connection, treeId: string): string {
    const peerId = conn.memberships.get(treeId)
    if (!peerId) throw new SignalingError(SignalingErrorCode.NOT_IN_TREE, 'this connection is not in that tree')
    return peerId
  }

  /** The ack of a create, join or resume: the placement and a fresh ticket (every earlier one is now stale). */
  private async joinResult(treeId: string, peerId: string, tree: { k: number; k1: number }): Promise<JoinResult> {
    const view = await this.d.registry.query(treeId, peerId)
    if (!view) throw new SignalingError(SignalingErrorCode.DISCONNECTED, 'the peer left while its request was in progress')
    const resume = await this.d.sessions.issue(treeId, peerId)
    return {
      placement: { treeId, peerId, parent: view.parent, depth: view.depth, children: view.children, version: view.version },
      resume,
      tree: { k: tree.k, k1: tree.k1 }
    }
  }

  /** Tells every connected peer whose placement changed where it now is. */
  private async notify(treeId: string, changes: ChangeSet, except?: string): Promise<void> {
    for (const peerId of new Set(changes.changed)) {
      if (peerId === except) continue
      const binding = this.bindings.get(keyOf(treeId, peerId))
      if (binding ? !binding.conn : !this.d.cluster) continue
      const view = await this.d.registry.query(treeId, peerId)
      if (view) this.emitTo(treeId, peerId, 'placement', { treeId, peerId, parent: view.parent, depth: view.depth, children: view.children, version: view.version })
    }
  }
}

/** A peer or tree already gone (removed or ended by another process). */
function isGone(err: unknown): boolean {
  return err instanceof RegistryError && (err.code === 'ERR_NOT_IN_TREE' || err.code === 'ERR_TREE_NOT_FOUND')
}

function mergeInto(into: ChangeSet, more: ChangeSet): void {
  into.changed.push(...more.changed)
  into.removed.push(...more.removed)
  into.reparented += more.reparented
}
