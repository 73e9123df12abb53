// The boundary between the socket handlers and tree bookkeeping. The handlers
// only ever talk to this interface, so a shared-state implementation (Redis,
// for several server processes) can replace the in-memory one.
import type { ReportReason } from '../../src/protocol/signaling.js'

export interface TreeOptions {
  /** Most children of any non-source peer. */
  k: number
  /** Most children of the source. */
  k1: number
}

export interface NodeView {
  peerId: string
  parent: string | null
  depth: number
  children: string[]
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

export interface ReportOutcome extends ChangeSet {
  /** How many distinct reporters have complained about the accused parent so far. */
  reportsAgainstParent: number
}

export interface TreeRegistry {
  /** Creates a tree whose root is `sourceId`. Throws RegistryError TREE_EXISTS. */
  createTree(treeId: string, sourceId: string, options: TreeOptions): Promise<void>
  hasTree(treeId: string): Promise<boolean>
  /** Removes a tree and all of its peers. Returns the peers that were in it. */
  deleteTree(treeId: string): Promise<string[]>
  /** Attaches a new peer breadth-first, preferring `preferredParent` if it has a free slot. */
  place(treeId: string, peerId: string, preferredParent?: string): Promise<ChangeSet>
  /** Detaches a peer; its children are re-attached with their subtrees intact. */
  remove(treeId: string, peerId: string): Promise<ChangeSet>
  /**
   * `reporterId` says its parent `parentId` is unresponsive or sent bad data.
   * Moves the reporter (with its subtree) under another parent. A report that
   * names someone other than the reporter's current parent throws NOT_YOUR_PARENT.
   */
  report(treeId: string, reporterId: string, parentId: string, reason: ReportReason): Promise<ReportOutcome>
  query(treeId: string, peerId: string): Promise<NodeView | undefined>
  /** Peers in the tree, the source included. */
  size(treeId: string): Promise<number>
  treeCount(): Promise<number>
}

export type RegistryErrorCode = 'ERR_TREE_EXISTS' | 'ERR_TREE_NOT_FOUND' | 'ERR_NOT_IN_TREE' | 'ERR_ALREADY_IN_TREE' | 'ERR_NOT_YOUR_PARENT' | 'ERR_TREE_FULL'

export class RegistryError extends Error {
  readonly code: RegistryErrorCode
  constructor(code: RegistryErrorCode, message: string) {
    super(message)
    this.name = 'RegistryError'
    this.code = code
  }
}
