// Random join/leave/report sequences against PeerTree, checking after every
// step the structural invariants, the placement rules, and that each
// ChangeSet names exactly the peers whose view changed.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PeerTree, type PlacementPolicy } from '../../../signaling-server/registry/peer-tree.js'
import { RegistryError, type ChangeSet, type NodeView } from '../../../signaling-server/registry/tree-registry.js'

type Snapshot = Map<string, NodeView>
type Op =
  | { kind: 'join'; prefer: number | undefined; upload: number | undefined }
  | { kind: 'leave'; pick: number }
  | { kind: 'report'; pick: number; misdirect: number | undefined }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('join' as const), prefer: fc.option(fc.nat(), { nil: undefined, freq: 3 }), upload: fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('leave' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('report' as const), pick: fc.nat(), misdirect: fc.option(fc.nat(), { nil: undefined, freq: 4 }) }) }
)

const capacityOf = (id: string, k: number, k1: number) => (id === 'S' ? k1 : k)
const hasRoom = (v: NodeView, k: number, k1: number) => v.children.length < capacityOf(v.peerId, k, k1)

function sameView(a: NodeView, b: NodeView): boolean {
  return a.parent === b.parent && a.depth === b.depth && a.children.join('\n') === b.children.join('\n')
}

function subtreeOf(snap: Snapshot, rootId: string): Set<string> {
  const out = new Set<string>([rootId])
  const queue = [rootId]
  for (let i = 0; i < queue.length; i++) {
    for (const c of snap.get(queue[i]!)!.children) {
      out.add(c)
      queue.push(c)
    }
  }
  return out
}

const maxDepth = (snap: Snapshot) => Math.max(...[...snap.values()].map((v) => v.depth))

/** ChangeSet must be exactly the diff of the two snapshots. */
function expectExactChanges(before: Snapshot, after: Snapshot, changes: ChangeSet): void {
  const changed: string[] = []
  let reparented = 0
  for (const [id, view] of after) {
    const old = before.get(id)
    if (!old || !sameView(old, view)) changed.push(id)
    if (old && old.parent !== view.parent) reparented++
  }
  const removed = [...before.keys()].filter((id) => !after.has(id))
  expect(new Set(changes.changed).size).toBe(changes.changed.length)
  expect([...changes.changed].sort()).toEqual(changed.sort())
  expect([...changes.removed].sort()).toEqual(removed.sort())
  expect(changes.reparented).toBe(reparented)
}

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught).toBeInstanceOf(RegistryError)
  expect((caught as RegistryError).code).toBe(code)
}

function run(k: number, k1: number, ops: Op[], policy: PlacementPolicy): void {
  // Time moves on with every operation, so stable-first's tenures differ.
  let ms = 0
  const tree = new PeerTree('S', { k, k1, policy, now: () => (ms += 1_000) })
  const members: string[] = [] // every peer but the source
  let next = 0
  for (const op of ops) {
    const before = tree.snapshot()
    if (op.kind === 'join') {
      const id = `p${next++}`
      const all = ['S', ...members, 'ghost']
      const preferred = op.prefer === undefined ? undefined : all[op.prefer % all.length]!
      const changes = tree.place(id, preferred, op.upload === undefined ? undefined : { uploadKbps: op.upload })
      const after = tree.snapshot()
      const parent = before.get(after.get(id)!.parent!)!
      const pref = preferred === undefined ? undefined : before.get(preferred)
      if (pref && hasRoom(pref, k, k1)) {
        expect(parent.peerId).toBe(preferred)
      } else {
        const shallowest = Math.min(...[...before.values()].filter((v) => hasRoom(v, k, k1)).map((v) => v.depth))
        expect(parent.depth).toBe(shallowest)
      }
      expectExactChanges(before, after, changes)
      members.push(id)
    } else if (op.kind === 'leave') {
      if (members.length === 0) {
        expectCode(() => tree.remove('S'), 'ERR_IS_SOURCE')
        expect(tree.snapshot()).toEqual(before)
        continue
      }
      const id = members.splice(op.pick % members.length, 1)[0]!
      const wasInterior = before.get(id)!.children.length > 0
      const changes = tree.remove(id)
      const after = tree.snapshot()
      expectExactChanges(before, after, changes)
      expect(maxDepth(after)).toBeLessThanOrEqual(maxDepth(before))
      if (wasInterior) {
        // The peer now in the leaver's slot was a leaf: at the greatest depth
        // (breadth-first), or deeper than the leaver (stable-first).
        const oldSiblings = before.get(before.get(id)!.parent!)!.children
        const heir = after.get(before.get(id)!.parent!)!.children.find((c) => !oldSiblings.includes(c))!
        expect(before.get(heir)!.children).toEqual([])
        if (policy === 'breadth-first') expect(before.get(heir)!.depth).toBe(maxDepth(before))
        else expect(before.get(heir)!.depth).toBeGreaterThan(before.get(id)!.depth)
        expect(after.get(heir)!.depth).toBe(before.get(id)!.depth)
      }
    } else {
      if (members.length === 0) {
        expectCode(() => tree.report('S', 'S'), 'ERR_NOT_YOUR_PARENT')
        continue
      }
      const reporter = members[op.pick % members.length]!
      const parentId = before.get(reporter)!.parent!
      if (op.misdirect !== undefined) {
        const all = ['S', ...members, 'ghost']
        const named = all[op.misdirect % all.length]!
        if (named !== parentId) {
          expectCode(() => tree.report(reporter, named), 'ERR_NOT_YOUR_PARENT')
          expect(tree.snapshot()).toEqual(before)
          continue
        }
      }
      const outcome = tree.report(reporter, parentId)
      const after = tree.snapshot()
      expectExactChanges(before, after, outcome)
      const shadow = subtreeOf(before, parentId)
      const refuges = [...before.values()].filter((v) => hasRoom(v, k, k1) && !shadow.has(v.peerId))
      if (refuges.length === 0) {
        expect(after).toEqual(before)
      } else {
        const refuge = after.get(reporter)!.parent!
        expect(shadow.has(refuge)).toBe(false)
        expect(before.get(refuge)!.depth).toBe(Math.min(...refuges.map((v) => v.depth)))
      }
    }
    tree.check()
    expect(tree.size).toBe(members.length + 1)
    stats.maxSize = Math.max(stats.maxSize, tree.size)
  }
  stats.runs++
  stats.maxHeight = Math.max(stats.maxHeight, tree.height)
}

const stats = { runs: 0, maxSize: 0, maxHeight: 0 }

describe('PeerTree under random churn', () => {
  // The default policy gets the long run; the other half as many sequences. Timeouts leave room for a loaded machine.
  it.each([
    ['breadth-first', 2000],
    ['stable-first', 1000]
  ] as const)('keeps every invariant and reports exact change sets (%s)', (policy, numRuns) => {
    stats.runs = stats.maxSize = stats.maxHeight = 0
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.array(opArb, { minLength: 1, maxLength: 150, size: 'max' }), (k, k1, ops) => {
        run(k, k1, ops, policy)
      }),
      { numRuns }
    )
    // The sequences must reach trees big enough to be interesting.
    expect(stats.maxSize).toBeGreaterThan(40)
    expect(stats.maxHeight).toBeGreaterThan(10)
    // 2 000 sequences with an O(n) check after every step: 20 s on a quiet machine, three times that when it is shared.
  }, 180_000)

  it('places joins in exact breadth-first order when nobody leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 300 }), (k, k1, n) => {
        const tree = new PeerTree('S', { k, k1, policy: 'breadth-first' })
        // Reference: peers in arrival order; the next parent is the first one with room.
        const order = ['S']
        const count = new Map<string, number>([['S', 0]])
        let cursor = 0
        for (let i = 0; i < n; i++) {
          while (count.get(order[cursor]!)! >= capacityOf(order[cursor]!, k, k1)) cursor++
          const parent = order[cursor]!
          count.set(parent, count.get(parent)! + 1)
          const id = `p${i}`
          order.push(id)
          count.set(id, 0)
          expect(tree.place(id).changed).toEqual([id, parent])
        }
        tree.check()
      }),
      { numRuns: 300 }
    )
  })
})
