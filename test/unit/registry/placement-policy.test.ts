// The stable-first placement policy and the upload a joining peer may report.
import { describe, expect, it } from 'vitest'
import { MemoryTreeRegistry } from '../../../signaling-server/registry/memory-registry.js'
import { MAX_UPLOAD_KBPS, PeerTree, type PlacementPolicy } from '../../../signaling-server/registry/peer-tree.js'
import { RegistryError } from '../../../signaling-server/registry/tree-registry.js'

/** A tree on a hand-driven clock. */
function clocked(policy: PlacementPolicy, k: number, k1: number) {
  const clock = { ms: 0 }
  const tree = new PeerTree('S', { k, k1, policy, now: () => clock.ms })
  return { tree, clock }
}

describe('upload capacity in a join', () => {
  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, MAX_UPLOAD_KBPS + 1, '5000' as unknown as number])('rejects %s with ERR_INVALID_UPLOAD and places nothing', (bad) => {
    const tree = new PeerTree('S', { k: 2, k1: 2 })
    let caught: unknown
    try {
      tree.place('p1', undefined, { uploadKbps: bad })
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(RegistryError)
    expect((caught as RegistryError).code).toBe('ERR_INVALID_UPLOAD')
    expect(tree.has('p1')).toBe(false)
    expect(tree.size).toBe(1)
    tree.check()
  })

  it('accepts 0 and the maximum, and no info at all', () => {
    const tree = new PeerTree('S', { k: 2, k1: 3 })
    tree.place('p1', undefined, { uploadKbps: 0 })
    tree.place('p2', undefined, { uploadKbps: MAX_UPLOAD_KBPS })
    tree.place('p3', undefined, {})
    expect(tree.size).toBe(4)
    tree.check()
  })

  it('rejects an unknown policy', () => {
    expect(() => new PeerTree('S', { k: 2, k1: 2, policy: 'random' as PlacementPolicy })).toThrow(RangeError)
  })
})

describe('stable-first placement', () => {
  it('gives a newcomer to the longest-present parent with room at the shallowest depth, where breadth-first refills the newest hole', () => {
    for (const policy of ['breadth-first', 'stable-first'] as const) {
      const { tree, clock } = clocked(policy, 2, 2)
      tree.place('old') // joins at t = 0
      clock.ms = 600_000
      tree.place('new') // joins 10 min later; both at depth 1
      for (const id of ['a', 'b', 'c', 'd']) tree.place(id) // a, b under old; c, d under new
      expect(tree.query('new')!.children).toEqual(['c', 'd'])
      clock.ms = 700_000
      tree.remove('b') // a hole under old, linked first
      tree.remove('d') // then one under new, linked before it
      tree.place('x')
      expect(tree.query('x')!.parent).toBe(policy === 'breadth-first' ? 'new' : 'old')
      tree.place('y')
      expect(tree.query('y')!.parent).toBe(policy === 'breadth-first' ? 'old' : 'new')
      tree.check()
    }
  })

  it('prefers the parent that reported more upload when tenures are alike', () => {
    const { tree } = clocked('stable-first', 2, 2)
    tree.place('slow', undefined, { uploadKbps: 1_000 })
    tree.place('fast', undefined, { uploadKbps: 50_000 })
    tree.place('x')
    expect(tree.query('x')!.parent).toBe('fast')
    const bf = clocked('breadth-first', 2, 2).tree
    bf.place('slow', undefined, { uploadKbps: 1_000 })
    bf.place('fast', undefined, { uploadKbps: 50_000 })
    bf.place('x')
    expect(bf.query('x')!.parent).toBe('slow')
  })

  it('promotes the best scored deep leaf into a departing parent’s slot (breadth-first: the newest deepest leaf)', () => {
    for (const policy of ['breadth-first', 'stable-first'] as const) {
      const { tree, clock } = clocked(policy, 2, 1)
      tree.place('p') // depth 1
      tree.place('q') // depth 2, under p
      tree.place('r') // depth 2, under p
      clock.ms = 1_000
      tree.place('veteran') // depth 3, under q
      clock.ms = 3_600_000
      tree.place('newcomer') // depth 3, under q (an hour later)
      tree.place('fresh') // depth 3, under r, the last placed
      const changes = tree.remove('p')
      const heir = tree.query('q')!.parent!
      expect(heir).toBe(policy === 'breadth-first' ? 'fresh' : 'veteran')
      expect(tree.query(heir)).toMatchObject({ parent: 'S', depth: 1, children: ['q', 'r'] })
      expect(changes.reparented).toBe(3)
      tree.check()
    }
  })

  it('skips an away leaf when a present one lies below the leaver', () => {
    const { tree, clock } = clocked('stable-first', 2, 1)
    for (const id of ['p', 'q', 'r', 'l1']) tree.place(id) // p; q, r under p; l1 under q at t = 0
    tree.setAway('l1', true)
    clock.ms = 3_600_000
    tree.place('l2') // under q
    tree.place('l3') // under r
    tree.remove('p')
    expect(tree.query('S')!.children).toEqual(['l2'])
    expect(tree.query('l1')).toMatchObject({ parent: 'q', away: true })
    tree.check()
  })

  it('falls back to an away leaf when no present leaf lies below the leaver', () => {
    const { tree } = clocked('stable-first', 1, 1)
    for (const id of ['p', 'q', 'leaf']) tree.place(id) // a chain
    tree.setAway('leaf', true)
    tree.remove('p')
    expect(tree.query('S')!.children).toEqual(['leaf'])
    expect(tree.query('q')!.parent).toBe('leaf')
    tree.check()
  })

  it('MemoryTreeRegistry passes the policy, the clock and the upload through', async () => {
    let ms = 0
    const registry = new MemoryTreeRegistry({ policy: 'stable-first', now: () => ms })
    await registry.createTree('t', 'S', { k: 2, k1: 2 })
    await registry.place('t', 'slow', undefined, { uploadKbps: 100 })
    ms = 5_000
    await registry.place('t', 'fast', undefined, { uploadKbps: 90_000 })
    await registry.place('t', 'x')
    expect((await registry.query('t', 'x'))!.parent).toBe('fast')
    expect((await registry.query('t', 'fast'))!.since).toBe(5_000)
    expect(registry.peerTree('t')!.policy).toBe('stable-first')
    await expect(registry.place('t', 'y', undefined, { uploadKbps: -5 })).rejects.toMatchObject({ code: 'ERR_INVALID_UPLOAD' })
  })
})
