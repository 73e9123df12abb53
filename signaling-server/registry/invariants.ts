// The rules every tree must obey after every operation, checked against a
// plain-data dump of a PeerTree's internals. Used by PeerTree.check() and the
// tests; it walks the whole tree, so the server never calls it on a hot path.

/** One node as PeerTree stores it. */
export interface NodeDump {
  id: string
  parent: string | null
  depth: number
  children: string[]
  /** Most children this node may have (k1 for the source, k for the rest). */
  capacity: number
  /** Whether the node says it is linked into the free-slot list of its depth. */
  inFreeList: boolean
}

/** Everything `checkTreeInvariants` needs to know about one tree. */
export interface TreeDump {
  sourceId: string
  k: number
  k1: number
  /** What the tree reports as its size. */
  size: number
  nodes: NodeDump[]
  /** Free-slot lists, indexed by depth, each walked head to tail. */
  freeLists: string[][]
  /** The same lists walked tail to head (catches broken back links). */
  freeListsBackward: string[][]
  /** The tree promises every non-empty free list lies in [lowest, highest]. */
  lowestFreeDepth: number
  highestFreeDepth: number
}

/** Returns every broken rule, as readable sentences; an empty array means the tree is sound. */
export function checkTreeInvariants(tree: TreeDump): string[] {
  const problems: string[] = []
  const byId = new Map<string, NodeDump>()
  for (const node of tree.nodes) {
    if (byId.has(node.id)) problems.push(`peer ${node.id} is stored twice`)
    byId.set(node.id, node)
  }
  if (tree.size !== byId.size) problems.push(`size says ${tree.size} but ${byId.size} peers are stored`)

  // ---------------------------------------------------------- one root
  const roots = tree.nodes.filter((n) => n.parent === null)
  if (roots.length !== 1 || roots[0]?.id !== tree.sourceId) {
    problems.push(`expected exactly one root, the source ${tree.sourceId}; found [${roots.map((n) => n.id).join(', ')}]`)
  }
  const source = byId.get(tree.sourceId)
  if (!source) {
    problems.push(`the source ${tree.sourceId} is not in the tree`)
    return problems
  }
  if (source.depth !== 0) problems.push(`the source has depth ${source.depth}, expected 0`)

  // ------------------------------------------------- links, fan-out, depth
  for (const node of tree.nodes) {
    const isSource = node.id === tree.sourceId
    const expectedCapacity = isSource ? tree.k1 : tree.k
    if (node.capacity !== expectedCapacity) problems.push(`peer ${node.id} has capacity ${node.capacity}, expected ${expectedCapacity}`)
    if (node.children.length > expectedCapacity) {
      problems.push(`peer ${node.id} has ${node.children.length} children, more than its fan-out ${expectedCapacity}`)
    }
    if (new Set(node.children).size !== node.children.length) problems.push(`peer ${node.id} lists a child twice`)
    for (const childId of node.children) {
      const child = byId.get(childId)
      if (!child) problems.push(`peer ${node.id} lists child ${childId}, which is not in the tree`)
      else if (child.parent !== node.id) problems.push(`peer ${node.id} lists child ${childId}, whose parent is ${child.parent}`)
    }
    if (node.parent === null) continue
    const parent = byId.get(node.parent)
    if (!parent) {
      problems.push(`peer ${node.id} has parent ${node.parent}, which is not in the tree`)
      continue
    }
    if (!parent.children.includes(node.id)) problems.push(`peer ${node.id} has parent ${node.parent}, which does not list it as a child`)
    if (node.depth !== parent.depth + 1) problems.push(`peer ${node.id} has depth ${node.depth}, its parent ${parent.id} has ${parent.depth}`)
  }

  // -------------------------------------- reachable from the source, no cycle
  const seen = new Set<string>([source.id])
  const queue: NodeDump[] = [source]
  for (let i = 0; i < queue.length; i++) {
    for (const childId of queue[i]!.children) {
      const child = byId.get(childId)
      if (!child) continue
      if (seen.has(childId)) {
        problems.push(`peer ${childId} is reached twice from the source (a cycle or a shared child)`)
        continue
      }
      seen.add(childId)
      queue.push(child)
    }
  }
  for (const node of tree.nodes) {
    if (!seen.has(node.id)) problems.push(`peer ${node.id} is not reachable from the source`)
  }

  // ---------------------------------------------------- free-slot lists
  const listed = new Map<string, number>()
  tree.freeLists.forEach((list, depth) => {
    const backward = [...(tree.freeListsBackward[depth] ?? [])].reverse()
    if (backward.join('\n') !== list.join('\n')) problems.push(`free list at depth ${depth} differs walked forwards and backwards`)
    if (list.length > 0 && (depth < tree.lowestFreeDepth || depth > tree.highestFreeDepth)) {
      problems.push(`free list at depth ${depth} is not empty but lies outside [${tree.lowestFreeDepth}, ${tree.highestFreeDepth}]`)
    }
    for (const id of list) {
      if (listed.has(id)) problems.push(`peer ${id} is in the free lists twice`)
      listed.set(id, depth)
      const node = byId.get(id)
      if (!node) problems.push(`free list at depth ${depth} holds ${id}, which is not in the tree`)
      else if (node.depth !== depth) problems.push(`peer ${id} is in the free list of depth ${depth} but has depth ${node.depth}`)
    }
  })
  for (const node of tree.nodes) {
    const hasRoom = node.children.length < node.capacity
    if (hasRoom !== listed.has(node.id)) {
      problems.push(`peer ${node.id} has ${node.children.length}/${node.capacity} children but is ${listed.has(node.id) ? '' : 'not '}in a free list`)
    }
    if (node.inFreeList !== listed.has(node.id)) problems.push(`peer ${node.id} flags inFreeList=${node.inFreeList}, which its list membership contradicts`)
  }
  return problems
}

/** Throws an Error naming every broken rule (at most 20 of them). */
export function assertTreeInvariants(tree: TreeDump): void {
  const problems = checkTreeInvariants(tree)
  if (problems.length === 0) return
  const shown = problems.slice(0, 20).join('\n  ')
  throw new Error(`tree invariants broken (${problems.length}):\n  ${shown}`)
}
