// TreeRegistry shared by several server processes through Redis. Each tree is
// a log of operations in Redis (tree-log.ts); each process keeps a replica
// (tree-replica.ts) of the trees it serves and applies the log in order. A
// change is appended with compare-and-append, then applied to the local
// replica: the result is the same on every process because every process
// runs the same PeerTree over the same history. Reads (query, the neighbour
// check of every relayed signal) come from the local replica without a
// Redis round trip; a replica follows the log through a pub/sub notice per
// append, and a caller that needs the latest state calls refresh().
import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'eventemitter3'
import type { Redis } from 'ioredis'
import type { ReportFacts, ReportPolicy, ReportPolicyLimits, ReportVerdict } from '../report-policy.js'
import { KeyedSerialQueue } from '../serial.js'
import type { PeerTree } from '../registry/peer-tree.js'
import { breadthFirst, RegistryError, type ChangeSet, type JoinInfo, type NodeView, type TreeInfo, type TreeOptions, type TreeRegistry } from '../registry/tree-registry.js'
import { TreeLog } from './tree-log.js'
import { TreeReplica, type OpResult, type TreeOp } from './tree-replica.js'

type OpBody = TreeOp extends infer T ? (T extends TreeOp ? Omit<T, 'id' | 'at'> : never) : never

export interface RedisTreeRegistryOptions {
  /** Commands (scripts, reads). */
  redis: Redis
  /** A second connection, used only to subscribe to append notices. */
  subscriber: Redis
  /** This process's id: recorded as the holder of the peers it places. */
  processId: string
  prefix: string
  policyLimits: ReportPolicyLimits
  maxPeersPerTree?: number
  /** How long an ended tree's log stays readable. */
  lingerMs?: number
  /** Told when this process starts holding a peer of a tree (leases record it, for expiry if the process dies). */
  onHold?: (treeId: string) => void
}

export interface RedisRegistryEvents {
  /** A tree ended by another process: this process tells its own connections. */
  ended: (treeId: string, reason: string, members: string[]) => void
}

export class RedisTreeRegistry extends EventEmitter<RedisRegistryEvents> implements TreeRegistry {
  private readonly log: TreeLog
  private readonly replicas = new Map<string, TreeReplica>()
  /** Loads, catch-ups and commits of one tree run one at a time: each advances the same replica. */
  private readonly serial = new KeyedSerialQueue()
  /**
   * Trees being loaded or followed -> the longest log length announced
   * meanwhile. A notice that arrives while a read is in flight may announce
   * an entry that read missed: the mark makes the follower read again
   * instead of waiting for an append that may never come.
   */
  private readonly announced = new Map<string, number>()
  private readonly o: RedisTreeRegistryOptions
  private destroyed = false
  /** Appends that lost the race to another process's and were retried on the newer state. */
  retries = 0

  constructor(options: RedisTreeRegistryOptions) {
    super()
    this.o = options
    this.log = new TreeLog(options.redis, options.prefix)
    options.subscriber.on('message', this.onNotice)
  }

  /** Subscribes to append notices. */
  async start(): Promise<void> {
    await this.o.subscriber.subscribe(this.log.channel)
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.o.subscriber.off('message', this.onNotice)
    this.replicas.clear()
    this.removeAllListeners()
  }

  // ------------------------------------------------------------ TreeRegistry

  async createTree(treeId: string, sourceId: string, options: TreeOptions): Promise<void> {
    const op: TreeOp = { id: randomUUID(), at: Date.now(), t: 'create', src: sourceId, k: options.k, k1: options.k1, max: this.o.maxPeersPerTree, by: this.o.processId }
    const epoch = randomUUID()
    // Validates k and k1 before anything reaches Redis.
    const replica = new TreeReplica(op, epoch, this.o.policyLimits)
    await this.serial.run(treeId, async () => {
      if (!(await this.log.create(treeId, epoch, JSON.stringify(op)))) throw new RegistryError('ERR_TREE_EXISTS', `tree ${treeId} already exists`)
      this.replicas.set(treeId, replica)
      this.o.onHold?.(treeId)
    })
  }

  async hasTree(treeId: string): Promise<boolean> {
    return (await this.replica(treeId)) !== undefined
  }

  async info(treeId: string): Promise<TreeInfo | undefined> {
    const replica = await this.replica(treeId)
    return replica && { sourceId: replica.sourceId, k: replica.k, k1: replica.k1 }
  }

  async deleteTree(treeId: string, reason = 'deleted'): Promise<string[]> {
    if (!(await this.replica(treeId))) return []
    try {
      const members = (await this.commit(treeId, { t: 'end', reason })) as string[]
      await this.log.retire(treeId, this.o.lingerMs ?? 60_000)
      return members
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'ERR_TREE_NOT_FOUND') return []
      throw err
    }
  }

  place(treeId: string, peerId: string, preferredParent?: string, info?: JoinInfo): Promise<ChangeSet> {
    return this.commit(treeId, { t: 'place', p: peerId, pref: preferredParent, u: info?.uploadKbps, by: this.o.processId }) as Promise<ChangeSet>
  }

  remove(treeId: string, peerId: string): Promise<ChangeSet> {
    return this.commit(treeId, { t: 'remove', p: peerId }) as Promise<ChangeSet>
  }

  report(treeId: string, reporterId: string, parentId: string): Promise<ChangeSet> {
    return this.commit(treeId, { t: 'report', r: reporterId, a: parentId }) as Promise<ChangeSet>
  }

  move(treeId: string, peerId: string, parentId: string): Promise<ChangeSet> {
    return this.commit(treeId, { t: 'move', p: peerId, to: parentId }) as Promise<ChangeSet>
  }

  /** Going away applies only while this process holds the peer: one that resumed elsewhere is not marked away by its old process. */
  setAway(treeId: string, peerId: string, away: boolean): Promise<ChangeSet> {
    return this.commit(treeId, { t: 'away', p: peerId, v: away, by: this.o.processId }) as Promise<ChangeSet>
  }

  async query(treeId: string, peerId: string): Promise<NodeView | undefined> {
    const replica = await this.replica(treeId)
    if (!replica) throw new RegistryError('ERR_TREE_NOT_FOUND', `no tree ${treeId}`)
    return replica.query(peerId)
  }

  async nodes(treeId: string, limit: number): Promise<NodeView[]> {
    const replica = await this.replica(treeId)
    if (!replica) throw new RegistryError('ERR_TREE_NOT_FOUND', `no tree ${treeId}`)
    return breadthFirst(replica.sourceId, (peerId) => replica.query(peerId), limit)
  }

  async size(treeId: string): Promise<number> {
    const replica = await this.replica(treeId)
    if (!replica) throw new RegistryError('ERR_TREE_NOT_FOUND', `no tree ${treeId}`)
    return replica.tree.size
  }

  treeCount(): Promise<number> {
    return this.log.treeCount()
  }

  // ------------------------------------------------------------ cluster

  /** Catches the local replica up with the shared log (one round trip): for a read that must see every change made so far. */
  async refresh(treeId: string): Promise<void> {
    await this.serial.run(treeId, async () => {
      const replica = this.replicas.get(treeId)
      if (replica) await this.catchUp(treeId, replica)
      else await this.load(treeId)
    })
  }

  /** Peers of `treeId` whose connection `processId` holds. */
  async heldBy(treeId: string, processId: string): Promise<string[]> {
    await this.refresh(treeId)
    return (await this.replica(treeId))?.heldBy(processId) ?? []
  }

  /** Marks a peer away on behalf of a dead process and takes over its expiry; false if someone else holds it by now. */
  async takeOver(treeId: string, peerId: string, deadProcessId: string): Promise<boolean> {
    await this.commit(treeId, { t: 'away', p: peerId, v: true, by: this.o.processId, from: deadProcessId })
    return (await this.replica(treeId))?.holder(peerId) === this.o.processId
  }

  /**
   * Redis lost the tree (restarted without persistence): write the local
   * replica back as a new log. The first process to do so wins; the others
   * load its seed. Operations committed by others but not yet seen here are
   * lost: their peers are placed again by the processes that hold them.
   */
  async reseed(treeId: string): Promise<boolean> {
    return this.serial.run(treeId, async () => {
      const replica = this.replicas.get(treeId)
      if (!replica || replica.ended) return false
      const seed = replica.toSeed(randomUUID(), Date.now())
      const epoch = randomUUID()
      const won = await this.log.create(treeId, epoch, JSON.stringify(seed))
      this.replicas.delete(treeId)
      if (won) this.replicas.set(treeId, new TreeReplica(seed, epoch, this.o.policyLimits))
      return won
    })
  }

  /** The local replica's PeerTree, for tests and diagnostics. */
  peerTree(treeId: string): PeerTree | undefined {
    return this.replicas.get(treeId)?.tree
  }

  /** Trees this process holds a replica of. */
  replicatedTrees(): string[] {
    return [...this.replicas.keys()]
  }

  /** The report policy as part of each tree's replicated state: every process counts the same votes. */
  reportPolicy(): ReportPolicy {
    return {
      judge: (facts: ReportFacts) => this.commit(facts.treeId, { t: 'judge', f: facts }) as Promise<ReportVerdict>,
      // Applying a remove already forgets the peer's reports; an ended tree drops its replica.
      peerLeft: async () => undefined,
      treeEnded: async () => undefined
    }
  }

  // ------------------------------------------------------------ internals

  /**
   * Appends an operation after everything this replica has applied and
   * applies it; when others appended first, replays their entries and
   * tries again on the newer state.
   */
  private commit(treeId: string, body: OpBody): Promise<OpResult> {
    const op = { id: randomUUID(), ...body } as TreeOp
    return this.serial.run(treeId, async () => {
      let replica = this.replicas.get(treeId) ?? (await this.load(treeId))
      for (;;) {
        if (!replica || replica.ended) throw new RegistryError('ERR_TREE_NOT_FOUND', `no tree ${treeId}`)
        op.at = Date.now()
        const outcome = await this.log.append(treeId, replica.epoch, replica.seq, JSON.stringify(op))
        if (outcome.kind === 'ok') return this.applyOwn(treeId, replica, op)
        if (outcome.kind === 'epoch') {
          this.drop(treeId, replica)
          replica = outcome.current ? await this.load(treeId) : undefined
          continue
        }
        this.retries++
        for (const entry of outcome.missed) {
          const missed = JSON.parse(entry) as TreeOp
          // A retried append whose first attempt did land (its reply was lost): that entry is ours.
          if (missed.id === op.id) return this.applyOwn(treeId, replica, missed)
          this.replay(treeId, replica, missed)
        }
      }
    })
  }

  private applyOwn(treeId: string, replica: TreeReplica, op: TreeOp): OpResult {
    try {
      const result = replica.apply(op)
      if (op.t === 'place' || (op.t === 'away' && replica.holder(op.p) === this.o.processId)) this.o.onHold?.(treeId)
      return result
    } finally {
      if (replica.ended) this.drop(treeId, replica)
    }
  }

  private async replica(treeId: string): Promise<TreeReplica | undefined> {
    const replica = this.replicas.get(treeId) ?? (await this.serial.run(treeId, () => this.load(treeId)))
    return replica && !replica.ended ? replica : undefined
  }

  /** Builds a replica from the whole log. Runs inside the tree's serial queue. */
  private async load(treeId: string): Promise<TreeReplica | undefined> {
    const existing = this.replicas.get(treeId)
    if (existing) return existing
    const loading = !this.announced.has(treeId)
    if (loading) this.announced.set(treeId, 0)
    try {
      const read = await this.log.read(treeId, 0)
      if (!read || read.entries.length === 0) return undefined
      const [first, ...rest] = read.entries.map((e) => JSON.parse(e) as TreeOp)
      const replica = new TreeReplica(first!, read.epoch, this.o.policyLimits)
      for (const op of rest) this.replay(treeId, replica, op)
      if (replica.ended) return undefined
      this.replicas.set(treeId, replica)
      return replica
    } finally {
      // Appends announced during the read are followed once the replica exists.
      if (loading && !this.destroyed) {
        const mark = this.announced.get(treeId) ?? 0
        this.announced.delete(treeId)
        const replica = this.replicas.get(treeId)
        if (replica && replica.seq < mark) this.follow(treeId, mark)
      }
    }
  }

  private async catchUp(treeId: string, replica: TreeReplica): Promise<void> {
    const read = await this.log.read(treeId, replica.seq)
    if (!read || read.epoch !== replica.epoch) {
      this.drop(treeId, replica)
      return
    }
    for (const entry of read.entries) this.replay(treeId, replica, JSON.parse(entry) as TreeOp)
  }

  /** Applies someone else's operation; its error, if any, was theirs and changed nothing. */
  private replay(treeId: string, replica: TreeReplica, op: TreeOp): void {
    try {
      replica.apply(op)
    } catch {
      // Deterministic: the writer got the same error.
    }
    if (op.t === 'end' && replica.ended) {
      this.replicas.delete(treeId)
      this.emit('ended', treeId, op.reason, replica.ended.members)
    }
  }

  private drop(treeId: string, replica: TreeReplica): void {
    if (this.replicas.get(treeId) === replica) this.replicas.delete(treeId)
  }

  /** Another process appended: follow it if this process serves the tree. */
  private readonly onNotice = (channel: string, message: string): void => {
    if (channel !== this.log.channel) return
    const space = message.lastIndexOf(' ')
    const treeId = message.slice(0, space)
    const length = Number(message.slice(space + 1))
    const mark = this.announced.get(treeId)
    // Under way (a load or a catch-up): raise the mark; that loop reads again if its read missed this.
    if (mark !== undefined) {
      if (length > mark) this.announced.set(treeId, length)
      return
    }
    const replica = this.replicas.get(treeId)
    if (replica && replica.seq < length) this.follow(treeId, length)
  }

  /** Catches up until the replica reaches the longest length announced; one catch-up at a time per tree reads every entry appended meanwhile. */
  private follow(treeId: string, length: number): void {
    this.announced.set(treeId, length)
    void (async () => {
      let last: TreeReplica | undefined
      let lastSeq = 0
      for (;;) {
        const replica = this.replicas.get(treeId)
        if (!replica || this.destroyed || replica.seq >= (this.announced.get(treeId) ?? 0)) return
        // A read issued after the notice that made no progress: the log was re-created (new epoch); its own notices follow.
        if (replica === last && replica.seq === lastSeq) return
        last = replica
        lastSeq = replica.seq
        await this.refresh(treeId)
      }
    })()
      .catch(() => undefined)
      .finally(() => this.announced.delete(treeId))
  }
}
