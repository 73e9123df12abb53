// One tree as a deterministic state machine over its operation log. Every
// server process that serves the tree holds a replica and applies the same
// log in the same order, so the placement rules run in exactly one
// implementation (PeerTree) and every replica ends in the same state. Pure:
// no I/O, no clock of its own (each operation carries its timestamp), no
// randomness, so replaying the log anywhere gives the same result.
import { MemoryReportPolicy, type ReportFacts, type ReportPolicyLimits, type ReportVerdict } from '../report-policy.js'
import { PeerTree } from '../registry/peer-tree.js'
import { breadthFirst, RegistryError, type ChangeSet, type NodeView } from '../registry/tree-registry.js'

/** What a tree's log holds. `id` is unique per operation, so a retried append is recognized as the writer's own. */
export type TreeOp = { id: string; at: number } & (
  | { t: 'create'; src: string; k: number; k1: number; max?: number; by: string }
  /** A fresh log re-seeded from a replica after Redis lost its data: the tree's shape, breadth-first. */
  | { t: 'seed'; src: string; k: number; k1: number; max?: number; base: number; nodes: [id: string, parent: string | null, away: boolean, holder: string][] }
  /** `u`: the upload capacity the peer reported (kbit/s), an input of the placement policy. */
  | { t: 'place'; p: string; pref?: string; u?: number; by: string }
  | { t: 'remove'; p: string }
  | { t: 'report'; r: string; a: string }
  | { t: 'move'; p: string; to: string }
  /** `v` away or back. Going away applies only while `from` still holds the peer; `by` holds it afterwards. */
  | { t: 'away'; p: string; v: boolean; by: string; from?: string }
  | { t: 'judge'; f: ReportFacts }
  | { t: 'end'; reason: string }
)

export type OpResult = ChangeSet | string[] | ReportVerdict

export class TreeReplica {
  /** Operations applied so far: the log position this replica reflects. */
  seq = 0
  ended: { reason: string; members: string[] } | null = null
  readonly tree: PeerTree
  readonly k: number
  readonly k1: number
  /** peer -> the server process that holds its connection (for expiry when that process dies). */
  private readonly holders = new Map<string, string>()
  private readonly policy: MemoryReportPolicy
  /** The timestamp of the operation being applied: the tree's and the policy's only clock. */
  private clock: number
  /** Added to PeerTree versions, so versions keep growing across a re-seed. */
  private readonly base: number

  /** @param first the log's first operation (create or seed) */
  constructor(
    first: TreeOp,
    readonly epoch: string,
    policyLimits: ReportPolicyLimits
  ) {
    if (first.t !== 'create' && first.t !== 'seed') throw new Error(`a tree log starts with create or seed, not ${first.t}`)
    this.clock = first.at
    this.k = first.k
    this.k1 = first.k1
    this.base = first.t === 'seed' ? first.base : 0
    this.policy = new MemoryReportPolicy(policyLimits, () => this.clock)
    this.tree = new PeerTree(first.src, { k: first.k, k1: first.k1, maxPeers: first.max, now: () => this.clock })
    if (first.t === 'create') this.holders.set(first.src, first.by)
    else this.restore(first)
    this.seq = 1
  }

  get sourceId(): string {
    return this.tree.sourceId
  }

  query(peerId: string): NodeView | undefined {
    const view = this.tree.query(peerId)
    if (view) view.version += this.base
    return view
  }

  holder(peerId: string): string | undefined {
    return this.holders.get(peerId)
  }

  /** Peers held by `processId` (breadth-first order is not promised). */
  heldBy(processId: string): string[] {
    const out: string[] = []
    for (const [peerId, holder] of this.holders) if (holder === processId) out.push(peerId)
    return out
  }

  /** The highest version any peer carries: a re-seed starts above it. */
  maxVersion(): number {
    let max = 0
    for (const view of this.tree.snapshot().values()) max = Math.max(max, view.version)
    return max + this.base
  }

  /** The whole shape as a seed operation (after Redis lost the log). */
  toSeed(id: string, at: number): TreeOp {
    const nodes = breadthFirst(this.sourceId, (peerId) => this.tree.query(peerId)).map((view): [string, string | null, boolean, string] => [view.peerId, view.parent, view.away, this.holders.get(view.peerId) ?? ''])
    return { id, at, t: 'seed', src: this.sourceId, k: this.k, k1: this.k1, max: Number.isFinite(this.tree.maxPeers) ? this.tree.maxPeers : undefined, base: this.maxVersion() + 1, nodes }
  }

  /**
   * Applies the next operation and returns its result, or throws the
   * RegistryError it raises. An operation that throws changed nothing, on
   * every replica alike, so the log may hold it harmlessly.
   */
  apply(op: TreeOp): OpResult {
    this.seq++
    if (this.ended) throw new RegistryError('ERR_TREE_NOT_FOUND', 'the tree has ended')
    this.clock = op.at
    switch (op.t) {
      case 'create':
      case 'seed':
        throw new RegistryError('ERR_TREE_EXISTS', 'the tree already exists')
      case 'place': {
        const changes = this.tree.place(op.p, op.pref, op.u === undefined ? undefined : { uploadKbps: op.u })
        this.holders.set(op.p, op.by)
        return changes
      }
      case 'remove': {
        const changes = this.tree.remove(op.p)
        this.holders.delete(op.p)
        // A peer that left stops counting as a reporter, and reports against it go.
        this.policy.forget('', op.p)
        return changes
      }
      case 'report':
        return this.tree.report(op.r, op.a)
      case 'move':
        return this.tree.move(op.p, op.to)
      case 'away': {
        if (op.v && this.holders.get(op.p) !== (op.from ?? op.by)) {
          if (!this.tree.has(op.p)) throw new RegistryError('ERR_NOT_IN_TREE', `peer ${op.p} is not in this tree`)
          return { changed: [], removed: [], reparented: 0 }
        }
        const changes = this.tree.setAway(op.p, op.v)
        this.holders.set(op.p, op.by)
        return changes
      }
      case 'judge':
        return this.policy.decide({ ...op.f, treeId: '' })
      case 'end': {
        const members = this.tree.peerIds()
        this.ended = { reason: op.reason, members }
        this.holders.clear()
        return members
      }
    }
  }

  private restore(seed: Extract<TreeOp, { t: 'seed' }>): void {
    // Breadth-first, so every parent is placed (and present) before its children; away flags last.
    for (const [id, parent, , holder] of seed.nodes) {
      if (holder) this.holders.set(id, holder)
      if (parent !== null) this.tree.place(id, parent)
    }
    for (const [id, , away] of seed.nodes) if (away) this.tree.setAway(id, true)
  }
}
