// TreeReplica, the state machine every process runs over a tree's Redis log:
// replaying the same operations gives the same tree and versions anywhere,
// going away counts only from the holder, and a seed written after Redis lost
// its data rebuilds the same shape with versions above every old one.
import { describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '../../../signaling-server/limits.js'
import { TreeReplica, type TreeOp } from '../../../signaling-server/redis/tree-replica.js'

const create: TreeOp = { id: 'c', at: 1_000, t: 'create', src: 'S', k: 2, k1: 2, by: 'A' }

function ops(): TreeOp[] {
  const out: TreeOp[] = []
  for (let i = 0; i < 12; i++) out.push({ id: `p${i}`, at: 2_000 + i, t: 'place', p: `v${i}`, by: i % 2 ? 'A' : 'B' })
  out.push({ id: 'r', at: 3_000, t: 'remove', p: 'v1' })
  out.push({ id: 'a', at: 3_001, t: 'away', p: 'v2', v: true, by: 'B' })
  // An interior departure: a leaf takes the slot and adopts the orphans, all at this operation's time.
  out.push({ id: 'x', at: 3_002, t: 'remove', p: 'v0' })
  return out
}

const shape = (r: TreeReplica) => [...r.tree.snapshot().values()].map((v) => [v.peerId, v.parent, v.depth, v.children, v.away, v.since])

describe('TreeReplica', () => {
  it('replays to the same tree, timestamps and versions on every replica', () => {
    const [a, b] = [new TreeReplica(create, 'e', DEFAULT_LIMITS), new TreeReplica(create, 'e', DEFAULT_LIMITS)]
    for (const op of ops()) {
      a.apply(op)
      b.apply(op)
    }
    expect(shape(a)).toEqual(shape(b))
    for (const id of a.tree.peerIds()) expect(a.query(id)).toEqual(b.query(id))
    expect([...a.tree.snapshot().values()].filter((v) => v.since === 3_002).length).toBeGreaterThan(1)
    expect(a.seq).toBe(ops().length + 1)
    a.tree.check()
  })

  it('marks a peer away only for the process that holds it; coming back moves the hold', () => {
    const r = new TreeReplica(create, 'e', DEFAULT_LIMITS)
    r.apply({ id: '1', at: 2_000, t: 'place', p: 'v', by: 'A' })
    // B never held v: its disconnect must not mark v away (v resumed through A, say).
    expect(r.apply({ id: '2', at: 2_001, t: 'away', p: 'v', v: true, by: 'B' })).toEqual({ changed: [], removed: [], reparented: 0 })
    expect(r.query('v')!.away).toBe(false)
    // A sweeping process takes over from a dead holder.
    r.apply({ id: '3', at: 2_002, t: 'away', p: 'v', v: true, by: 'C', from: 'A' })
    expect(r.query('v')!.away).toBe(true)
    expect(r.holder('v')).toBe('C')
    expect(r.heldBy('A')).not.toContain('v')
    r.apply({ id: '4', at: 2_003, t: 'away', p: 'v', v: false, by: 'B' })
    expect(r.holder('v')).toBe('B')
  })

  it('a seed rebuilds the same shape and holders, with versions above every old one', () => {
    const r = new TreeReplica(create, 'e', DEFAULT_LIMITS)
    for (const op of ops()) r.apply(op)
    const seeded = new TreeReplica(r.toSeed('s', 9_000), 'e2', DEFAULT_LIMITS)
    const strip = (x: TreeReplica) => [...x.tree.snapshot().values()].map((v) => [v.peerId, v.parent, v.children, v.away]).sort()
    expect(strip(seeded)).toEqual(strip(r))
    expect(seeded.heldBy('A').sort()).toEqual(r.heldBy('A').sort())
    const oldMax = r.maxVersion()
    for (const id of r.tree.peerIds()) expect(seeded.query(id)!.version).toBeGreaterThan(oldMax)
    seeded.tree.check()
  })

  it('ends once: later operations fail as for a missing tree', () => {
    const r = new TreeReplica(create, 'e', DEFAULT_LIMITS)
    r.apply({ id: '1', at: 2_000, t: 'place', p: 'v', by: 'A' })
    expect(r.apply({ id: '2', at: 2_001, t: 'end', reason: 'source-left' })).toEqual(['S', 'v'])
    expect(() => r.apply({ id: '3', at: 2_002, t: 'place', p: 'w', by: 'A' })).toThrow(expect.objectContaining({ code: 'ERR_TREE_NOT_FOUND' }))
  })
})
