import { describe, expect, it } from 'vitest'
import { PeerTree } from '../../../signaling-server/registry/peer-tree.js'
import { RegistryError, type RegistryErrorCode } from '../../../signaling-server/registry/tree-registry.js'

/** A tree with source S and peers p1..pN joined in order. */
function grown(k: number, k1: number, n: number, maxPeers?: number): PeerTree {
  const tree = new PeerTree('S', { k, k1, maxPeers })
  for (let i = 1; i <= n; i++) tree.place(`p${i}`)
  tree.check()
  return tree
}

function parentOf(tree: PeerTree, id: string): string | null | undefined {
  return tree.query(id)?.parent
}

function codeOf(fn: () => unknown): RegistryErrorCode | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof RegistryError) return err.code
    throw err
  }
  return undefined
}

describe('PeerTree placement', () => {
  it('places the first 15 peers breadth-first for k=2, k1=3', () => {
    const tree = new PeerTree('S', { k: 2, k1: 3 })
    const expected: Array<[string, string, number]> = [
      ['p1', 'S', 1], ['p2', 'S', 1], ['p3', 'S', 1],
      ['p4', 'p1', 2], ['p5', 'p1', 2], ['p6', 'p2', 2], ['p7', 'p2', 2], ['p8', 'p3', 2], ['p9', 'p3', 2],
      ['p10', 'p4', 3], ['p11', 'p4', 3], ['p12', 'p5', 3], ['p13', 'p5', 3], ['p14', 'p6', 3], ['p15', 'p6', 3]
    ]
    for (const [id, parent, depth] of expected) {
      expect(tree.place(id)).toEqual({ changed: [id, parent], removed: [], reparented: 0 })
      expect(tree.query(id)).toMatchObject({ peerId: id, parent, depth, children: [] })
      tree.check()
    }
    expect(tree.query('S')?.children).toEqual(['p1', 'p2', 'p3'])
    expect(tree.query('p6')?.children).toEqual(['p14', 'p15'])
    expect(tree.size).toBe(16)
    expect(tree.height).toBe(3)
  })

  it('gives the source at most k1 children and every other peer at most k', () => {
    const tree = grown(3, 2, 9)
    expect(tree.query('S')?.children).toEqual(['p1', 'p2'])
    expect(tree.query('p1')?.children).toEqual(['p3', 'p4', 'p5'])
    expect(tree.query('p2')?.children).toEqual(['p6', 'p7', 'p8'])
    expect(tree.query('p3')?.children).toEqual(['p9'])
  })

  it('builds chains when k = k1 = 1', () => {
    const tree = grown(1, 1, 5)
    expect(tree.query('p5')).toMatchObject({ peerId: 'p5', parent: 'p4', depth: 5, children: [] })
  })

  it('uses a preferred parent only if it is in the tree and has room', () => {
    const tree = grown(2, 3, 9)
    expect(tree.place('a', 'p8').changed).toEqual(['a', 'p8'])
    expect(parentOf(tree, 'a')).toBe('p8')
    // p1 is full: breadth-first instead (p4 is the first peer with room).
    expect(parentOf(tree, (tree.place('b', 'p1'), 'b'))).toBe('p4')
    expect(parentOf(tree, (tree.place('c', 'nobody'), 'c'))).toBe('p4')
    tree.check()
  })

  it('throws ERR_ALREADY_IN_TREE and ERR_TREE_FULL without changing anything', () => {
    const tree = grown(2, 2, 3, 4)
    const before = tree.snapshot()
    expect(codeOf(() => tree.place('p1'))).toBe('ERR_ALREADY_IN_TREE')
    expect(codeOf(() => tree.place('S'))).toBe('ERR_ALREADY_IN_TREE')
    expect(codeOf(() => tree.place('p4'))).toBe('ERR_TREE_FULL')
    expect(tree.snapshot()).toEqual(before)
    tree.remove('p3')
    expect(() => tree.place('p4')).not.toThrow()
    tree.check()
  })

  it('rejects fan-outs and limits that are not integers >= 1', () => {
    expect(() => new PeerTree('S', { k: 0, k1: 2 })).toThrow(RangeError)
    expect(() => new PeerTree('S', { k: 2, k1: 1.5 })).toThrow(/k1 must be an integer >= 1, got 1.5/)
    expect(() => new PeerTree('S', { k: 2, k1: 2, maxPeers: 0 })).toThrow(RangeError)
  })
})

describe('PeerTree removal', () => {
  it('refills the slot a leaf vacated before extending the frontier', () => {
    const tree = grown(2, 3, 15)
    expect(tree.remove('p10')).toEqual({ changed: ['p4'], removed: ['p10'], reparented: 0 })
    tree.check()
    // p7 has room at the same depth, but the hole under p4 comes first.
    expect(tree.place('new').changed).toEqual(['new', 'p4'])
    expect(tree.query('new')?.depth).toBe(3)
  })

  it('replaces an interior peer by the deepest leaf, keeping every subtree intact', () => {
    const tree = grown(2, 3, 15)
    const before = tree.snapshot()
    const changes = tree.remove('p2')
    tree.check()
    expect(changes.removed).toEqual(['p2'])
    expect([...changes.changed].sort()).toEqual(['S', 'p15', 'p6', 'p7'])
    expect(changes.reparented).toBe(3) // p15, p6, p7
    // p15 (the last, deepest leaf) takes p2's slot and adopts p6 and p7.
    expect(tree.query('S')?.children).toEqual(['p1', 'p15', 'p3'])
    expect(tree.query('p15')).toMatchObject({ peerId: 'p15', parent: 'S', depth: 1, children: ['p6', 'p7'] })
    // Internal edges and depths of the orphans' subtrees are untouched.
    expect(tree.query('p6')).toMatchObject({ peerId: 'p6', parent: 'p15', depth: 2, children: ['p14'] })
    expect(tree.query('p14')).toEqual(before.get('p14'))
    expect(tree.query('p7')?.depth).toBe(2)
    expect(tree.query('p2')).toBeUndefined()
    // The slot p15 left under p6 is the next one filled.
    expect(tree.place('new').changed).toEqual(['new', 'p6'])
    tree.check()
  })

  it('promotes a leaf that was a child of the leaver', () => {
    // S - p1 - (p2 - (p4, p5), p3 - p6): the last deepest leaf, p6, is p3's own child.
    const tree = grown(2, 1, 6)
    expect(parentOf(tree, 'p6')).toBe('p3')
    const changes = tree.remove('p3')
    tree.check()
    expect([...changes.changed].sort()).toEqual(['p1', 'p6'])
    expect(changes.reparented).toBe(1)
    expect(tree.query('p6')).toMatchObject({ peerId: 'p6', parent: 'p1', depth: 2, children: [] })
    expect(tree.query('p1')?.children).toEqual(['p2', 'p6'])
  })

  it('never makes the tree deeper', () => {
    const tree = grown(2, 2, 40)
    const height = tree.height
    for (const id of ['p1', 'p5', 'p2', 'p12', 'p3', 'p7']) {
      tree.remove(id)
      tree.check()
      expect(tree.height).toBeLessThanOrEqual(height)
    }
  })

  it('refuses to remove the source or an unknown peer', () => {
    const tree = grown(2, 2, 3)
    expect(codeOf(() => tree.remove('S'))).toBe('ERR_IS_SOURCE')
    expect(codeOf(() => tree.remove('ghost'))).toBe('ERR_NOT_IN_TREE')
    tree.check()
    expect(tree.size).toBe(4)
  })
})

describe('PeerTree reports', () => {
  it('moves the reporter to the shallowest slot outside the accused subtree', () => {
    const tree = grown(2, 3, 15)
    const outcome = tree.report('p10', 'p4')
    tree.check()
    // Depth 2 has room at p7, p8, p9; p7 is first. The depth stays 3.
    expect(outcome).toEqual({ changed: ['p10', 'p4', 'p7'], removed: [], reparented: 1 })
    expect(tree.query('p10')).toMatchObject({ peerId: 'p10', parent: 'p7', depth: 3, children: [] })
    expect(tree.query('p4')?.children).toEqual(['p11'])
  })

  it('moves the subtree along and updates its depths', () => {
    // S - (p1 - (p3 - p7, p4), p2 - (p5, p6)).
    const tree = grown(2, 2, 7)
    expect(parentOf(tree, 'p7')).toBe('p3')
    const outcome = tree.report('p3', 'p1')
    tree.check()
    // p3 and p4 have room but are under the accused p1; p5 is the first outside.
    expect(outcome.changed).toEqual(['p3', 'p1', 'p5', 'p7'])
    expect(tree.query('p3')).toMatchObject({ peerId: 'p3', parent: 'p5', depth: 3, children: ['p7'] })
    expect(tree.query('p7')).toMatchObject({ peerId: 'p7', parent: 'p3', depth: 4, children: [] })
  })

  it('leaves the reporter in place when no slot outside the accused subtree exists', () => {
    // k1 = 1: everything below p1 is fed through it, and the source is full.
    const tree = grown(2, 1, 3)
    const before = tree.snapshot()
    expect(tree.report('p2', 'p1')).toEqual({ changed: [], removed: [], reparented: 0 })
    expect(tree.snapshot()).toEqual(before)
    tree.check()
  })

  it('stamps every changed peer with a newer placement version, inside the change', () => {
    const tree = grown(2, 3, 15)
    const before = tree.snapshot()
    const outcome = tree.report('p10', 'p4')
    const after = tree.snapshot()
    for (const id of outcome.changed) expect(after.get(id)!.version).toBeGreaterThan(before.get(id)!.version)
    for (const [id, view] of after) if (!outcome.changed.includes(id)) expect(view.version).toBe(before.get(id)!.version)
  })

  it('gives an away peer no newcomers and no moved subtrees, and stamps it and its children when it is back', () => {
    const lone = grown(2, 3, 0)
    lone.setAway('S', true)
    expect(codeOf(() => lone.place('late'))).toBe('ERR_NO_SLOT')
    // S - (p1, p2, p3), the source full.
    const tree = grown(2, 3, 3)
    tree.setAway('p1', true)
    expect(parentOf(tree, (tree.place('n1'), 'n1'))).toBe('p2')
    expect(tree.move('n1', 'p1').changed).toEqual([])
    const v = tree.query('p2')!.version
    expect(tree.setAway('p2', true).changed).toEqual([])
    expect(tree.setAway('p2', false).changed).toEqual(['p2', 'n1'])
    expect(tree.query('p2')!.version).toBeGreaterThan(v)
    tree.check()
  })

  it('moves a subtree under a confirmed parent only when that keeps fan-out and acyclicity', () => {
    const tree = grown(2, 2, 7)
    // S - (p1 - (p3 - p7, p4), p2 - (p5, p6)).
    expect(tree.move('p1', 'p3').changed).toEqual([]) // p3 is below p1
    expect(tree.move('p5', 'p1').changed).toEqual([]) // p1 is full
    expect(tree.move('p7', 'p4').changed).toEqual(['p7', 'p3', 'p4'])
    expect(parentOf(tree, 'p7')).toBe('p4')
    expect(codeOf(() => tree.move('S', 'p1'))).toBe('ERR_IS_SOURCE')
    tree.check()
  })

  it('rejects reports that do not name the current parent', () => {
    const tree = grown(2, 3, 15)
    const before = tree.snapshot()
    expect(codeOf(() => tree.report('p10', 'p5'))).toBe('ERR_NOT_YOUR_PARENT')
    expect(codeOf(() => tree.report('p10', 'ghost'))).toBe('ERR_NOT_YOUR_PARENT')
    expect(codeOf(() => tree.report('p10', 'p10'))).toBe('ERR_NOT_YOUR_PARENT')
    expect(codeOf(() => tree.report('S', 'p1'))).toBe('ERR_NOT_YOUR_PARENT')
    expect(codeOf(() => tree.report('ghost', 'p4'))).toBe('ERR_NOT_IN_TREE')
    expect(tree.snapshot()).toEqual(before)
  })
})
