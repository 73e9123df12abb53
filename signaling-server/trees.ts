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
import type { ChangeSet, TreeRegistry } from './registry/tree-registry.js'

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

export interface TreeServiceDeps {
  registry: TreeRegistry
  sessions: SessionStore
  auth: SourceAuth
  policy: ReportPolicy
  timers: GraceTimers
  limits: SignalingLimits
  metrics: ServerMetrics
  log: Logger
}

const randomId = () => base64urlEncode(randomBytes(16))
const keyOf = (treeId: string, peerId: string) => `${treeId}/${peerId}`

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
      const existing = this.sources.get(treeId)
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
    const binding = this.bindings.get(keyOf(treeId, source.peerId))!
    if (binding.conn === conn) throw new SignalingError(SignalingErrorCode.ALREADY_IN_TREE, 'this connection is already the source of that tree')
    this.assertRoomForTree(conn, treeId)
    this.d.timers.cancel(`grace:${treeId}`)
    if (binding.conn) this.displace(binding.conn, treeId)
    binding.conn = conn
    conn.memberships.set(treeId, source.peerId)
    const changes = await this.d.registry.setAway(treeId, source.peerId, false)
    this.d.log.info({ treeId }, 'source reclaimed')
    await this.unbindIfGone(conn, treeId, source.peerId)
    await this.notify(treeId, changes, source.peerId)
    return this.joinResult(treeId, source.peerId, source)
  }

  // ------------------------------------------------------------ viewers

  async joinTree(conn: Connection, req: JoinTreeRequest): Promise<JoinResult> {
    return this.serial.run(req.treeId, async () => {
      const source = this.sources.get(req.treeId)
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
    if (check === 'current' && binding) {
      if (binding.conn) this.displace(binding.conn, treeId)
      binding.conn = conn
      conn.memberships.set(treeId, peerId)
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
      if (this.sources.get(treeId)?.peerId === peerId) await this.endTree(treeId, 'source-left')
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
        accusedIsSource: this.sources.get(treeId)?.peerId === parentId,
        reason: req.reason
      })
      if (judged.verdict !== 'evict') return {}
      const accused = this.bindings.get(keyOf(treeId, parentId))
      this.d.log.warn({ treeId, peerId: parentId }, 'evicting a relay that children with tenure report for invalid data')
      this.d.metrics.evictions.inc()
      await this.detach(treeId, parentId)
      await this.d.sessions.revoke(treeId, parentId)
      if (accused?.conn) {
        accused.conn.memberships.delete(treeId)
        accused.conn.socket.emit('tree:ended', { treeId, reason: 'evicted' })
      }
      return {}
    })
  }

  async relaySignal(conn: Connection, req: SendSignalRequest): Promise<object> {
    const from = this.memberOf(conn, req.treeId)
    return this.serial.run(req.treeId, async () => {
      const view = await this.d.registry.query(req.treeId, from)
      if (!view || (view.parent !== req.to && !view.children.includes(req.to))) {
        throw new SignalingError(SignalingErrorCode.NOT_A_NEIGHBOUR, 'signals go only to your current parent or children')
      }
      const target = this.bindings.get(keyOf(req.treeId, req.to))
      if (!target) throw new SignalingError(SignalingErrorCode.NOT_A_NEIGHBOUR, 'that peer is not in the tree')
      if (!target.conn) {
        if (this.sources.get(req.treeId)?.peerId === req.to) throw new SignalingError(SignalingErrorCode.SOURCE_ABSENT, 'the source is disconnected; its grace period runs')
        throw new SignalingError(SignalingErrorCode.PEER_ABSENT, 'that peer is disconnected for a moment')
      }
      target.conn.socket.emit('signal', { treeId: req.treeId, from, data: req.data })
      this.d.metrics.signals.inc()
      return {}
    })
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
    await this.d.registry.setAway(treeId, peerId, true)
    if (this.sources.get(treeId)?.peerId === peerId) {
      this.d.log.info({ treeId, graceMs: this.d.limits.sourceGraceMs }, 'source disconnected; waiting for it to come back')
      this.d.timers.start(`grace:${treeId}`, this.d.limits.sourceGraceMs, () => this.later(treeId, () => this.endTree(treeId, 'source-gone')))
      return
    }
    this.d.timers.start(`detach:${key}`, this.d.limits.detachGraceMs, () => this.later(treeId, () => this.expireAway(treeId, peerId)))
  }

  /** An away viewer did not come back in time: detach it, keeping its ticket for a later resume. */
  private async expireAway(treeId: string, peerId: string): Promise<void> {
    if (this.bindings.get(keyOf(treeId, peerId))?.conn !== null) return
    const view = await this.d.registry.query(treeId, peerId)
    await this.detach(treeId, peerId)
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
    const source = this.sources.get(treeId)
    if (!source) return
    // A grace timer may fire after a reclaim queued ahead of it: the source is back.
    if (reason === 'source-gone' && this.bindings.get(keyOf(treeId, source.peerId))?.conn) return
    this.d.timers.cancel(`grace:${treeId}`)
    this.d.timers.cancel(`recovery:${treeId}`)
    this.sources.delete(treeId)
    const members = await this.d.registry.deleteTree(treeId)
    await this.d.policy.treeEnded(treeId)
    for (const peerId of members) {
      const key = keyOf(treeId, peerId)
      const binding = this.bindings.get(key)
      this.bindings.delete(key)
      this.d.timers.cancel(`detach:${key}`)
      await this.d.sessions.revoke(treeId, peerId)
      this.d.metrics.departures.inc()
      if (!binding?.conn) continue
      binding.conn.memberships.delete(treeId)
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
    old.memberships.delete(treeId)
    old.socket.emit('tree:ended', { treeId, reason: 'displaced' })
  }

  private bind(conn: Connection, treeId: string, peerId: string, joinedAt: number): void {
    conn.memberships.set(treeId, peerId)
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
    conn.memberships.delete(treeId)
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
      const conn = this.bindings.get(keyOf(treeId, peerId))?.conn
      if (!conn) continue
      const view = await this.d.registry.query(treeId, peerId)
      if (view) conn.socket.emit('placement', { treeId, peerId, parent: view.parent, depth: view.depth, children: view.children, version: view.version })
    }
  }
}

function mergeInto(into: ChangeSet, more: ChangeSet): void {
  into.changed.push(...more.changed)
  into.removed.push(...more.removed)
  into.reparented += more.reparented
}
