// The shape of ONE tree: who is whose parent, at what depth, and where the
// next peer goes. Pure and synchronous, no I/O; MemoryTreeRegistry keeps one
// per tree and a shared-state registry can reuse the same rules.
//
// Placement is breadth-first without ever scanning the tree: every peer that
// has a free slot sits in a doubly linked list for its depth ("free lists"),
// and the tree remembers the lowest and highest depths whose lists may be
// non-empty. A join takes the head of the shallowest list, so it costs O(1)
// amortized.
//
// Rules (see the methods for details):
// - join:   under `preferredParent` if it is in the tree and has room, else
//           under the head of the shallowest free list.
// - leave:  a leaf just goes and its slot is refilled first. An interior
//           peer is replaced, in its own slot, by a leaf from the deepest
//           level, which adopts all of its children; every subtree stays
//           intact, no depth grows, and only O(k) peers change.
// - report: the reporter and its subtree move under the shallowest peer with
//           room outside the accused parent's subtree.
// - away:   a peer whose connection dropped keeps its place but gets no
//           newcomers until it is back (or removed).
// - policy: 'breadth-first' gives a newcomer to the head of the shallowest
//           free list and promotes the newest deepest leaf into a leaver's
//           slot. 'stable-first' keeps the depths but picks, among a few
//           candidates, the parent with room and the heir with the highest
//           score (time in the tree x reported upload), so the peers likeliest
//           to stay (session lengths are heavy-tailed: the longer a viewer has
//           stayed, the longer it tends to stay) and to feed their children
//           well end up holding subtrees. scripts/simulate measures both.
import { assertTreeInvariants, type TreeDump } from './invariants.js'
import { RegistryError, type ChangeSet, type JoinInfo, type NodeView, type TreeOptions } from './tree-registry.js'

export interface PeerTreeOptions extends TreeOptions {
  /** Most peers in the tree, the source included; place() throws ERR_TREE_FULL beyond. Default: no limit. */
  maxPeers?: number
  /** Clock for edge ages (NodeView.since) and time in the tree. Default: Date.now. */
  now?: () => number
  /** Which leaf takes over a departing interior peer's slot (see PlacementPolicy). Default: 'breadth-first'. */
  policy?: PlacementPolicy
}

/**
 * Both place a newcomer at the shallowest depth with a present free slot and
 * fill a departing interior peer's slot with a deeper leaf. Which ones:
 * 'breadth-first': the head of that depth's free list (arrival order; a hole
 * first), and the leaf placed or moved last at the greatest depth.
 * 'stable-first': of up to CANDIDATES peers (free-list heads first), the one
 * with the highest score, (time in the tree + TENURE_FLOOR_MS) x upload; for
 * the heir, present leaves at the greatest depth that has one (so depths
 * shrink back as with breadth-first). A peer that reported no upload counts
 * as DEFAULT_UPLOAD_KBPS.
 */
export type PlacementPolicy = 'breadth-first' | 'stable-first'
export const PLACEMENT_POLICIES: readonly PlacementPolicy[] = ['breadth-first', 'stable-first']

export const MAX_UPLOAD_KBPS = 10_000_000
/** Upload assumed for a peer that reported none: a common broadband uplink, so not reporting neither helps nor hurts much. */
const DEFAULT_UPLOAD_KBPS = 5_000
/** Keeps newcomers' scores apart by upload instead of all being zero. */
const TENURE_FLOOR_MS = 60_000
/** Peers scored per join or interior departure (and at most 4x as many free-list entries walked): O(1) each. */
const CANDIDATES = 16

// ------------------------------------------------------------------ nodes

class TreeNode {
  parent: TreeNode | null = null
  readonly children: TreeNode[] = []
  depth = 0
  // Links of the free list of `depth`; meaningful only while `inFreeList`.
  prevFree: TreeNode | null = null
  nextFree: TreeNode | null = null
  inFreeList = false
  /** The tree's clock when this peer's placement last changed: clients keep the newest placement. */
  version = 0
  /** When this peer got its current parent (ms): how long the edge has held. */
  since = 0
  /** Disconnected for a moment (its resume grace runs): keeps its place, gets no newcomers. */
  away = false
  /** When it joined the tree (ms), for the stable-first policy's tenure. */
  joinedAt = 0
  /** Reported upload capacity (kbit/s), if any. */
  uploadKbps: number | undefined = undefined

  constructor(
    readonly id: string,
    readonly capacity: number
  ) {}

  get hasRoom(): boolean {
    return this.children.length < this.capacity
  }
}

// -------------------------------------------------------------- free lists

/**
 * Peers with a free slot, one doubly linked list per depth. Invariant: a node
 * is linked iff it has room, in the list of its current depth; every
 * non-empty list lies within [low, high] (the bounds are tightened lazily).
 */
class FreeLists {
  private readonly heads: (TreeNode | null)[] = []
  private readonly tails: (TreeNode | null)[] = []
  private low = 0
  private high = -1

  /** Links `node` at the back (newly placed or moved) or the front (a hole that a departure opened) of its depth's list. */
  link(node: TreeNode, atFront: boolean): void {
    const d = node.depth
    while (this.heads.length <= d) {
      this.heads.push(null)
      this.tails.push(null)
    }
    const head = this.heads[d]!
    const tail = this.tails[d]!
    node.inFreeList = true
    if (head === null || tail === null) {
      node.prevFree = node.nextFree = null
      this.heads[d] = this.tails[d] = node
    } else if (atFront) {
      node.prevFree = null
      node.nextFree = head
      head.prevFree = node
      this.heads[d] = node
    } else {
      node.nextFree = null
      node.prevFree = tail
      tail.nextFree = node
      this.tails[d] = node
    }
    if (this.high < this.low) {
      this.low = this.high = d
    } else {
      if (d < this.low) this.low = d
      if (d > this.high) this.high = d
    }
  }

  unlink(node: TreeNode): void {
    if (!node.inFreeList) return
    const d = node.depth
    if (node.prevFree) node.prevFree.nextFree = node.nextFree
    else this.heads[d] = node.nextFree
    if (node.nextFree) node.nextFree.prevFree = node.prevFree
    else this.tails[d] = node.prevFree
    node.prevFree = node.nextFree = null
    node.inFreeList = false
  }

  /** Depth of the shallowest non-empty list, or -1 if all are empty. Amortized O(1) for a growing tree. */
  lowest(): number {
    while (this.low <= this.high && this.heads[this.low] == null) this.low++
    return this.low <= this.high ? this.low : -1
  }

  /** Depth of the deepest non-empty list, or -1 if all are empty. */
  highest(): number {
    while (this.high >= this.low && this.heads[this.high] == null) this.high--
    return this.high >= this.low ? this.high : -1
  }

  head(depth: number): TreeNode | null {
    return this.heads[depth] ?? null
  }

  tail(depth: number): TreeNode | null {
    return this.tails[depth] ?? null
  }

  dump(): Pick<TreeDump, 'freeLists' | 'freeListsBackward' | 'lowestFreeDepth' | 'highestFreeDepth'> {
    const freeLists: string[][] = []
    const freeListsBackward: string[][] = []
    for (let d = 0; d < this.heads.length; d++) {
      const forward: string[] = []
      // Bounded walks, so a corrupted (cyclic) list shows up as a mismatch instead of hanging.
      for (let n = this.heads[d] ?? null; n && forward.length <= 1e7; n = n.nextFree) forward.push(n.id)
      const backward: string[] = []
      for (let n = this.tails[d] ?? null; n && backward.length <= 1e7; n = n.prevFree) backward.push(n.id)
      freeLists.push(forward)
      freeListsBackward.push(backward)
    }
    return { freeLists, freeListsBackward, lowestFreeDepth: this.low, highestFreeDepth: this.high }
  }
}

// -------------------------------------------------------------- the tree

function assertFanout(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${String(value)}`)
  }
}

const noChange = (): ChangeSet => ({ changed: [], removed: [], reparented: 0 })

export class PeerTree {
  readonly sourceId: string
  readonly k: number
  readonly k1: number
  readonly maxPeers: number
  private readonly nodes = new Map<string, TreeNode>()
  private readonly free = new FreeLists()
  private readonly now: () => number
  readonly policy: PlacementPolicy
  /** Placement versions: bumped inside every change, so they order a peer's placements. */
  private clock = 0

  constructor(sourceId: string, options: PeerTreeOptions) {
    assertFanout(options.k, 'k')
    assertFanout(options.k1, 'k1')
    const maxPeers = options.maxPeers ?? Infinity
    if (maxPeers !== Infinity) assertFanout(maxPeers, 'maxPeers')
    this.sourceId = sourceId
    this.k = options.k
    this.k1 = options.k1
    this.maxPeers = maxPeers
    this.now = options.now ?? Date.now
    const policy = options.policy ?? 'breadth-first'
    if (!PLACEMENT_POLICIES.includes(policy)) throw new RangeError(`policy must be one of ${PLACEMENT_POLICIES.join(', ')}, got ${String(policy)}`)
    this.policy = policy
    const source = new TreeNode(sourceId, this.k1)
    source.since = this.now()
    this.nodes.set(sourceId, source)
    this.free.link(source, false)
    this.stamp([sourceId])
  }

  /** Peers in the tree, the source included. */
  get size(): number {
    return this.nodes.size
  }

  /** Depth of the deepest peer (0 for a lone source). O(1) amortized: the deepest peers are leaves, so they fill the deepest free list. */
  get height(): number {
    return this.free.highest()
  }

  has(peerId: string): boolean {
    return this.nodes.has(peerId)
  }

  /** Every peer id, the source first, then in order of arrival. */
  peerIds(): string[] {
    return [...this.nodes.keys()]
  }

  query(peerId: string): NodeView | undefined {
    const node = this.nodes.get(peerId)
    return node && view(node)
  }

  /**
   * Marks a peer away (its connection dropped and its resume grace runs) or
   * back. An away peer keeps its place and children but gets no newcomers and
   * no moved subtrees. Going away changes no placement (empty change set);
   * coming back stamps the peer and its children, so they hear it is back
   * and can reconnect their links.
   * @throws RegistryError ERR_NOT_IN_TREE
   */
  setAway(peerId: string, away: boolean): ChangeSet {
    const node = this.get(peerId)
    const was = node.away
    node.away = away
    if (away || !was) return noChange()
    return this.stamp([peerId, ...node.children.map((c) => c.id)])
  }

  // ---------------------------------------------------------------- join

  /**
   * Attaches a new peer as a leaf. It goes under `preferredParent` if that
   * peer is in the tree and has a free slot (a resuming peer returning to its
   * old parent); otherwise under the shallowest peer with a free slot, ties
   * going to the head of that depth's free list. With joins only, that order
   * is placement order, i.e. strict breadth-first. O(1) amortized.
   *
   * `changed` is [the new peer, its parent]; `reparented` is 0 (a first
   * placement is not a re-parenting). Under stable-first the parent is the
   * best scored of a few present peers with room at that shallowest depth;
   * `info.uploadKbps` only feeds that policy's scores.
   * @throws RegistryError ERR_ALREADY_IN_TREE, ERR_TREE_FULL, ERR_INVALID_UPLOAD
   */
  place(peerId: string, preferredParent?: string, info?: JoinInfo): ChangeSet {
    const upload = info?.uploadKbps
    if (upload !== undefined && (typeof upload !== 'number' || !Number.isFinite(upload) || upload < 0 || upload > MAX_UPLOAD_KBPS)) {
      throw new RegistryError('ERR_INVALID_UPLOAD', `uploadKbps must be a number in [0, ${MAX_UPLOAD_KBPS}], got ${String(upload)}`)
    }
    if (this.nodes.has(peerId)) throw new RegistryError('ERR_ALREADY_IN_TREE', `peer ${peerId} is already in this tree`)
    if (this.nodes.size >= this.maxPeers) throw new RegistryError('ERR_TREE_FULL', `the tree holds its maximum of ${this.maxPeers} peers`)
    let parent = (preferredParent === undefined ? undefined : this.nodes.get(preferredParent)) ?? null
    if (!parent?.hasRoom || parent.away) parent = this.policy === 'stable-first' ? this.bestShallowest() : this.shallowestPresent()
    if (parent === null) throw new RegistryError('ERR_NO_SLOT', 'every peer with a free slot is away right now')
    const node = new TreeNode(peerId, this.k)
    node.uploadKbps = upload
    node.joinedAt = this.now()
    this.nodes.set(peerId, node)
    this.adopt(parent, node)
    this.free.link(node, false)
    return this.stamp([peerId, parent.id])
  }

  // ---------------------------------------------------------------- move

  /**
   * Moves `peerId` with its subtree under `parentId`, if that peer is present,
   * has room and is not inside the moved subtree; otherwise nothing changes
   * (empty change set). Used to rebuild edges both ends confirm after a
   * server restart. Cost as report().
   * @throws RegistryError ERR_NOT_IN_TREE, ERR_IS_SOURCE
   */
  move(peerId: string, parentId: string): ChangeSet {
    const node = this.get(peerId)
    const target = this.get(parentId)
    if (node.parent === null) throw new RegistryError('ERR_IS_SOURCE', 'the source has no parent')
    if (node.parent === target || !target.hasRoom || target.away || target === node || isBelow(target, node)) return noChange()
    return this.moveUnder(node, target)
  }

  // --------------------------------------------------------------- leave

  /**
   * Detaches a peer (not the source: the server ends the tree instead).
   *
   * A leaf just leaves; its parent's slot is put at the front of the free
   * list, so the next join refills exactly that hole. An interior peer is
   * replaced in its own slot by a leaf deeper than it (chosen by the policy:
   * see pickHeir), which adopts the leaver's children in order: every
   * subtree keeps its internal edges and depths, no peer gets deeper, and only
   * O(k) peers change (the leaver's parent, the promoted leaf and its old
   * parent, the orphans). No cycle can form because the promoted peer is a
   * leaf: once detached it has no descendants. Cost: O(k) plus the lazy
   * tightening of the depth bounds (stable-first: plus O(CANDIDATES)).
   *
   * `reparented` counts the promoted leaf and the re-adopted orphans.
   * @throws RegistryError ERR_NOT_IN_TREE, ERR_IS_SOURCE
   */
  remove(peerId: string): ChangeSet {
    const gone = this.get(peerId)
    const parent = gone.parent
    if (parent === null) throw new RegistryError('ERR_IS_SOURCE', 'the source cannot be removed from its tree; delete the tree instead')
    this.nodes.delete(peerId)
    this.free.unlink(gone)

    if (gone.children.length === 0) {
      this.disown(parent, gone)
      if (!parent.inFreeList) this.free.link(parent, true)
      return { ...this.stamp([parent.id]), removed: [peerId] }
    }

    const leaf = this.pickHeir(gone)
    if (leaf === null || leaf.parent === null || leaf.children.length > 0 || leaf.depth <= gone.depth) {
      throw new Error('PeerTree: free lists are inconsistent (no leaf below a peer that has children)')
    }
    const changed = [parent.id, leaf.id]
    const leafParent = leaf.parent
    this.free.unlink(leaf)
    this.disown(leafParent, leaf)
    if (leafParent !== gone) {
      // An orphan that lost the leaf is listed with the orphans below.
      if (leafParent.parent !== gone) changed.push(leafParent.id)
      if (!leafParent.inFreeList) this.free.link(leafParent, true)
    }
    const reparented = 1 + gone.children.length

    const now = this.now()
    parent.children[parent.children.indexOf(gone)] = leaf
    leaf.parent = parent
    leaf.depth = gone.depth
    leaf.since = now
    for (const orphan of gone.children) {
      orphan.parent = leaf
      orphan.since = now
      leaf.children.push(orphan)
      changed.push(orphan.id)
    }
    gone.children.length = 0
    gone.parent = null
    // Room left means the leaver had fewer than k children: a hole, refilled first.
    if (leaf.hasRoom) this.free.link(leaf, true)
    return { ...this.stamp(changed), removed: [peerId], reparented }
  }

  // -------------------------------------------------------------- report

  /**
   * `reporterId` says its parent `parentId` is unresponsive or sends bad
   * data. The reporter moves, with its subtree, under the shallowest present
   * peer with a free slot that lies outside the accused's subtree: anything
   * inside would still be fed through the accused. Slots no deeper than the
   * accused are outside it by depth alone; deeper candidates are checked by
   * walking parent pointers. Whether the report counts against the accused is
   * the server's report policy, not the tree's business.
   *
   * If no such slot exists (e.g. k1 = 1 and the accused is the source's only
   * child) nothing moves and the change set is empty.
   *
   * Cost: O(size of the moved subtree) to fix depths, plus the candidates
   * skipped inside the accused's subtree times their distance to it.
   * @throws RegistryError ERR_NOT_IN_TREE (reporter), ERR_NOT_YOUR_PARENT
   */
  report(reporterId: string, parentId: string): ChangeSet {
    const reporter = this.get(reporterId)
    const accused = reporter.parent
    if (accused === null || accused.id !== parentId) {
      throw new RegistryError('ERR_NOT_YOUR_PARENT', `peer ${parentId} is not the parent of ${reporterId}`)
    }
    const refuge = this.shallowestOutside(accused)
    if (refuge === null) return noChange()
    return this.moveUnder(reporter, refuge)
  }

  // ------------------------------------------------------------ testing

  /** A copy of every peer's view, keyed by peer id. O(n). */
  snapshot(): Map<string, NodeView> {
    const out = new Map<string, NodeView>()
    for (const node of this.nodes.values()) out.set(node.id, view(node))
    return out
  }

  /** Plain-data copy of the internals, for checkTreeInvariants. O(n). */
  dump(): TreeDump {
    return {
      sourceId: this.sourceId,
      k: this.k,
      k1: this.k1,
      size: this.nodes.size,
      nodes: [...this.nodes.values()].map((n) => ({
        id: n.id,
        parent: n.parent?.id ?? null,
        depth: n.depth,
        children: n.children.map((c) => c.id),
        capacity: n.capacity,
        inFreeList: n.inFreeList
      })),
      ...this.free.dump()
    }
  }

  /** Throws if any structural invariant is broken (see invariants.ts). O(n). */
  check(): void {
    assertTreeInvariants(this.dump())
  }

  // ----------------------------------------------------------- internals

  private get(peerId: string): TreeNode {
    const node = this.nodes.get(peerId)
    if (!node) throw new RegistryError('ERR_NOT_IN_TREE', `peer ${peerId} is not in this tree`)
    return node
  }

  /**
   * The leaf that takes `gone`'s slot. The deepest peers have no children, so
   * the tail of the deepest free list is a leaf, and it is deeper than `gone`,
   * which has children: breadth-first takes it. stable-first scores up to
   * CANDIDATES present leaves (heads first: linked longest ago) of the
   * deepest free list that has one below `gone`, and takes the best; the
   * hole it leaves is refilled by the next join.
   */
  private pickHeir(gone: TreeNode): TreeNode | null {
    const deepestTail = this.free.tail(this.free.highest())
    if (this.policy === 'breadth-first') return deepestTail
    const scout = new Scout(this.now())
    for (let d = this.free.highest(); d > gone.depth && scout.best === null; d--) {
      for (let n = this.free.head(d); n !== null && !scout.done; n = n.nextFree) scout.consider(n, n.children.length === 0 && !n.away)
    }
    return scout.best ?? deepestTail
  }

  /** stable-first's parent for a newcomer: the best scored present peer with room at the shallowest depth that has one. */
  private bestShallowest(): TreeNode | null {
    const first = this.shallowestPresent()
    if (first === null) return null
    const scout = new Scout(this.now())
    for (let n: TreeNode | null = first; n !== null && !scout.done; n = n.nextFree) scout.consider(n, !n.away)
    return scout.best
  }

  /** The shallowest peer with room that is not away, or null when every such peer is away. */
  private shallowestPresent(): TreeNode | null {
    const low = this.free.lowest()
    const high = this.free.highest()
    for (let d = low; d >= 0 && d <= high; d++) {
      for (let n = this.free.head(d); n !== null; n = n.nextFree) if (!n.away) return n
    }
    return null
  }

  /** The shallowest peer with room that is neither `accused` nor below it, or null. */
  private shallowestOutside(accused: TreeNode): TreeNode | null {
    const low = this.free.lowest()
    const high = this.free.highest()
    if (low < 0) return null
    for (let d = low; d <= high; d++) {
      for (let n = this.free.head(d); n !== null; n = n.nextFree) {
        if (n === accused || n.away) continue
        if (d <= accused.depth || !isBelow(n, accused)) return n
      }
    }
    return null
  }

  /** Makes `child` (detached) the last child of `parent`, which must have room, and sets its depth. */
  private adopt(parent: TreeNode, child: TreeNode): void {
    parent.children.push(child)
    child.parent = parent
    child.depth = parent.depth + 1
    child.since = this.now()
    if (!parent.hasRoom) this.free.unlink(parent)
  }

  /** Moves `node` (not the source) with its subtree under `target`, which has room and is outside that subtree. */
  private moveUnder(node: TreeNode, target: TreeNode): ChangeSet {
    const old = node.parent!
    this.disown(old, node)
    if (!old.inFreeList) this.free.link(old, false)
    const shift = target.depth + 1 - node.depth
    target.children.push(node)
    node.parent = target
    node.since = this.now()
    if (!target.hasRoom) this.free.unlink(target)
    const changed = [node.id, old.id, target.id]
    if (shift !== 0) {
      // Breadth-first, so the moved peers join their new depth's free lists in order.
      const queue = [node]
      for (let i = 0; i < queue.length; i++) {
        const n = queue[i]!
        const hadRoom = n.inFreeList
        this.free.unlink(n)
        n.depth += shift
        if (hadRoom) this.free.link(n, false)
        if (i > 0) changed.push(n.id)
        for (const child of n.children) queue.push(child)
      }
    }
    return { ...this.stamp(changed), reparented: 1 }
  }

  /** Gives every listed peer still in the tree a new placement version. */
  private stamp(changed: string[]): ChangeSet {
    const clock = ++this.clock
    for (const id of changed) {
      const node = this.nodes.get(id)
      if (node) node.version = clock
    }
    return { changed, removed: [], reparented: 0 }
  }

  /** Drops `child` from `parent`'s children. The caller fixes the free lists. */
  private disown(parent: TreeNode, child: TreeNode): void {
    const i = parent.children.indexOf(child)
    if (i >= 0) parent.children.splice(i, 1)
    child.parent = null
  }
}

/** Keeps the best scored of the candidates it is shown, until it has scored CANDIDATES or walked 4x as many. */
class Scout {
  best: TreeNode | null = null
  private bestScore = -1
  private scored = 0
  private walked = 0

  constructor(private readonly now: number) {}

  get done(): boolean {
    return this.scored >= CANDIDATES || this.walked >= 4 * CANDIDATES
  }

  consider(node: TreeNode, eligible: boolean): void {
    this.walked++
    if (!eligible) return
    this.scored++
    const score = (Math.max(0, this.now - node.joinedAt) + TENURE_FLOOR_MS) * (node.uploadKbps ?? DEFAULT_UPLOAD_KBPS)
    if (score > this.bestScore) {
      this.best = node
      this.bestScore = score
    }
  }
}

/** Whether `node` is a strict descendant of `ancestor`, walking up until the ancestor's depth. */
function isBelow(node: TreeNode, ancestor: TreeNode): boolean {
  let n: TreeNode | null = node
  while (n !== null && n.depth > ancestor.depth) n = n.parent
  return n === ancestor && node !== ancestor
}

function view(node: TreeNode): NodeView {
  return {
    peerId: node.id,
    parent: node.parent?.id ?? null,
    depth: node.depth,
    children: node.children.map((c) => c.id),
    version: node.version,
    since: node.since,
    away: node.away
  }
}
