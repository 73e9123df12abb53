// TreeRegistry kept in this process's memory: one PeerTree per tree id. The
// async methods only wrap synchronous calls, so a thrown RegistryError comes
// back as a rejected promise, as it would from a remote registry.
import { PeerTree, type PlacementPolicy } from './peer-tree.js'
import { breadthFirst, RegistryError, type ChangeSet, type JoinInfo, type NodeView, type TreeInfo, type TreeOptions, type TreeRegistry } from './tree-registry.js'

export interface MemoryTreeRegistryOptions {
  /** Most peers per tree, the source included; place() rejects with ERR_TREE_FULL beyond. Default: no limit. */
  maxPeersPerTree?: number
  /** Which leaf takes over a departing interior peer's slot. Default: PeerTree's. */
  policy?: PlacementPolicy
  /** Clock for edge ages and time in the tree (a simulation passes its own). Default: Date.now. */
  now?: () => number
}

export class MemoryTreeRegistry implements TreeRegistry {
  private readonly trees = new Map<string, PeerTree>()
  private readonly maxPeersPerTree: number | undefined
  private readonly policy: PlacementPolicy | undefined
  private readonly now: (() => number) | undefined

  constructor(options: MemoryTreeRegistryOptions = {}) {
    const max = options.maxPeersPerTree
    if (max !== undefined && max !== Infinity && (!Number.isInteger(max) || max < 1)) {
      throw new RangeError(`maxPeersPerTree must be an integer >= 1, got ${String(max)}`)
    }
    this.maxPeersPerTree = max
    this.policy = options.policy
    this.now = options.now
  }

  /** @throws RegistryError ERR_TREE_EXISTS; RangeError if k or k1 is not an integer >= 1. */
  async createTree(treeId: string, sourceId: string, options: TreeOptions): Promise<void> {
    if (this.trees.has(treeId)) throw new RegistryError('ERR_TREE_EXISTS', `tree ${treeId} already exists`)
    const tree = new PeerTree(sourceId, { k: options.k, k1: options.k1, maxPeers: this.maxPeersPerTree, policy: this.policy, now: this.now })
    this.trees.set(treeId, tree)
  }

  async hasTree(treeId: string): Promise<boolean> {
    return this.trees.has(treeId)
  }

  async info(treeId: string): Promise<TreeInfo | undefined> {
    const tree = this.trees.get(treeId)
    return tree && { sourceId: tree.sourceId, k: tree.k, k1: tree.k1 }
  }

  /** Returns the peers that were in the tree, the source first; [] if there was no such tree. */
  async deleteTree(treeId: string): Promise<string[]> {
    const tree = this.trees.get(treeId)
    if (!tree) return []
    this.trees.delete(treeId)
    return tree.peerIds()
  }

  async place(treeId: string, peerId: string, preferredParent?: string, info?: JoinInfo): Promise<ChangeSet> {
    return this.tree(treeId).place(peerId, preferredParent, info)
  }

  async remove(treeId: string, peerId: string): Promise<ChangeSet> {
    return this.tree(treeId).remove(peerId)
  }

  async report(treeId: string, reporterId: string, parentId: string): Promise<ChangeSet> {
    return this.tree(treeId).report(reporterId, parentId)
  }

  async move(treeId: string, peerId: string, parentId: string): Promise<ChangeSet> {
    return this.tree(treeId).move(peerId, parentId)
  }

  async setAway(treeId: string, peerId: string, away: boolean): Promise<ChangeSet> {
    return this.tree(treeId).setAway(peerId, away)
  }

  async query(treeId: string, peerId: string): Promise<NodeView | undefined> {
    return this.tree(treeId).query(peerId)
  }

  async nodes(treeId: string, limit: number): Promise<NodeView[]> {
    const tree = this.tree(treeId)
    return breadthFirst(tree.sourceId, (peerId) => tree.query(peerId), limit)
  }

  async size(treeId: string): Promise<number> {
    return this.tree(treeId).size
  }

  async treeCount(): Promise<number> {
    return this.trees.size
  }

  /** The PeerTree behind `treeId`, for tests and diagnostics. */
  peerTree(treeId: string): PeerTree | undefined {
    return this.trees.get(treeId)
  }

  private tree(treeId: string): PeerTree {
    const tree = this.trees.get(treeId)
    if (!tree) throw new RegistryError('ERR_TREE_NOT_FOUND', `no tree ${treeId}`)
    return tree
  }
}
