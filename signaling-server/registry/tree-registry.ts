// The boundary between the socket handlers and tree bookkeeping. The handlers
// only ever talk to this interface, so a shared-state implementation (Redis,
// for several server processes) can replace the in-memory one.
export interface TreeOptions {
  /** Most children of any non-source peer. */
  k: number
  /** Most children of the source. */
  k1: number
}

/** What a joining peer may tell the registry about itself (not part of the wire protocol). */
export interface JoinInfo {
  /** Upload capacity it measured or was told, kbit/s, 0..10,000,000; feeds the stable-first placement policy only. */
  uploadKbps?: number
}

/** What a server needs to know of a tree it did not create (another process may have). */
export interface TreeInfo extends TreeOptions {
  sourceId: string
}

export interface NodeView {
  peerId: string
  parent: string | null
  depth: number
  children: string[]
  /** Placement version, assigned inside the change that gave this placement (newer is larger, per tree). */
  version: number
  /** When this peer got its current parent (ms since the epoch). */
  since: number
  /** Its connection dropped and its resume grace runs: it keeps its place but gets no newcomers. */
  away: boolean
}

/**
 * What one operation changed. `changed` lists every peer whose parent, depth
 * or children differ from before the operation (the socket layer tells each
 * of them its new placement). `removed` lists peers no longer in the tree.
 */
export interface ChangeSet {
  changed: string[]
  removed: string[]
  /** Number of peers that got a new parent (for metrics). */
  reparented: number
}

export interface TreeRegistry {
  /** Creates a tree whose root is `sourceId`. Throws RegistryError TREE_EXISTS. */
  createTree(treeId: string, sourceId: string, options: TreeOptions): Promise<void>
  hasTree(treeId: string): Promise<boolean>
  /** The tree's source and fan-outs, or undefined if there is no such tree. */
  info(treeId: string): Promise<TreeInfo | undefined>
  /** Removes a tree and all of its peers. Returns the peers that were in it (the source first); [] if there was no such tree. */
  deleteTree(treeId: string, reason?: string): Promise<string[]>
  /**
   * Attaches a new peer breadth-first (under the shallowest present peer with
   * a free slot), preferring `preferredParent` if it is in the tree, present
   * and has a free slot. `changed` is [new peer, its parent]; `reparented` is 0.
   * Every changed peer gets a new placement version inside the change.
   * `info` is optional and validated (INVALID_UPLOAD); a registry may ignore it.
   * Throws ALREADY_IN_TREE, TREE_FULL, NO_SLOT (every free slot is away), INVALID_UPLOAD, TREE_NOT_FOUND.
   */
  place(treeId: string, peerId: string, preferredParent?: string, info?: JoinInfo): Promise<ChangeSet>
  /**
   * Detaches a peer; its children are re-attached with their subtrees intact.
   * The in-memory registry fills the leaver's slot with a leaf deeper than it
   * (which one: its placement policy), which adopts the orphans, so no depth
   * grows and O(k) peers change.
   * Throws NOT_IN_TREE, IS_SOURCE (end the tree with deleteTree instead), TREE_NOT_FOUND.
   */
  remove(treeId: string, peerId: string): Promise<ChangeSet>
  /**
   * `reporterId` says its parent `parentId` is unresponsive or sent bad data.
   * Moves the reporter (with its subtree) under another parent. A report that
   * names someone other than the reporter's current parent throws NOT_YOUR_PARENT.
   * The in-memory registry moves it under the shallowest present free slot
   * outside the accused's subtree; when there is none, nothing moves (empty
   * change set). Whether the report counts is the ReportPolicy's decision.
   */
  report(treeId: string, reporterId: string, parentId: string): Promise<ChangeSet>
  /**
   * Moves `peerId` with its subtree under `parentId` if that peer is present,
   * has room and is outside the subtree; otherwise an empty change set.
   * Throws NOT_IN_TREE, IS_SOURCE, TREE_NOT_FOUND.
   */
  move(treeId: string, peerId: string, parentId: string): Promise<ChangeSet>
  /**
   * Marks a peer away (connection dropped, resume grace running) or back. Coming
   * back gives it and its children new placement versions (they are `changed`).
   * Throws NOT_IN_TREE, TREE_NOT_FOUND.
   */
  setAway(treeId: string, peerId: string, away: boolean): Promise<ChangeSet>
  /** The peer's placement, or undefined if it is not in the tree. Throws TREE_NOT_FOUND. */
  query(treeId: string, peerId: string): Promise<NodeView | undefined>
  /** Every node, breadth-first from the source, at most `limit` of them (for inspection, not for the hot path). */
  nodes(treeId: string, limit: number): Promise<NodeView[]>
  /** Peers in the tree, the source included. Throws TREE_NOT_FOUND. */
  size(treeId: string): Promise<number>
  treeCount(): Promise<number>
}

export type RegistryErrorCode = 'ERR_TREE_EXISTS' | 'ERR_TREE_NOT_FOUND' | 'ERR_NOT_IN_TREE' | 'ERR_ALREADY_IN_TREE' | 'ERR_NOT_YOUR_PARENT' | 'ERR_TREE_FULL' | 'ERR_IS_SOURCE' | 'ERR_NO_SLOT' | 'ERR_INVALID_UPLOAD'

export class RegistryError extends Error {
  readonly code: RegistryErrorCode
  constructor(code: RegistryErrorCode, message: string) {
    super(message)
    this.name = 'RegistryError'
    this.code = code
  }
}

/** A tree's peers breadth-first from the source (every parent before its children), at most `limit`; `query` gives each peer's view. */
export function breadthFirst(sourceId: string, query: (peerId: string) => NodeView | undefined, limit = Infinity): NodeView[] {
  const out: NodeView[] = []
  const queue = [sourceId]
  for (let i = 0; i < queue.length && out.length < limit; i++) {
    const view = query(queue[i]!)!
    out.push(view)
    queue.push(...view.children)
  }
  return out
}
