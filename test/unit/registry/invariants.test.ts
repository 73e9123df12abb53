// The checker must catch each kind of corruption; a checker that accepts
// everything would make the property tests worthless.
import { describe, expect, it } from 'vitest'
import { checkTreeInvariants, type TreeDump } from '../../../signaling-server/registry/invariants.js'
import { PeerTree } from '../../../signaling-server/registry/peer-tree.js'

/** S - (p1 - (p3, p4), p2 - (p5)) with k = 2, k1 = 2. */
function sound(): TreeDump {
  const tree = new PeerTree('S', { k: 2, k1: 2 })
  for (let i = 1; i <= 5; i++) tree.place(`p${i}`)
  return tree.dump()
}

function node(dump: TreeDump, id: string) {
  const found = dump.nodes.find((n) => n.id === id)
  if (!found) throw new Error(`no ${id}`)
  return found
}

function problemsAfter(corrupt: (dump: TreeDump) => void): string[] {
  const dump = sound()
  corrupt(dump)
  return checkTreeInvariants(dump)
}

describe('checkTreeInvariants', () => {
  it('accepts a sound tree', () => {
    expect(checkTreeInvariants(sound())).toEqual([])
  })

  it.each<[string, (d: TreeDump) => void, RegExp]>([
    ['a second root', (d) => { node(d, 'p2').parent = null; node(d, 'S').children = ['p1'] }, /exactly one root/],
    ['a missing source', (d) => { d.sourceId = 'nobody' }, /source nobody is not in the tree/],
    ['fan-out above k', (d) => { node(d, 'p1').children.push('p5'); node(d, 'p5').parent = 'p1'; node(d, 'p2').children = [] }, /more than its fan-out 2/],
    ['fan-out above k1', (d) => { d.k1 = 1; node(d, 'S').capacity = 1 }, /3 children|2 children, more than its fan-out 1/],
    ['a wrong depth', (d) => { node(d, 'p4').depth = 3 }, /p4 has depth 3/],
    ['a child that names another parent', (d) => { node(d, 'p5').parent = 'p1' }, /lists child p5, whose parent is p1/],
    ['a parent that forgot its child', (d) => { node(d, 'p1').children = ['p3'] }, /does not list it as a child/],
    ['a cycle', (d) => {
      node(d, 'p1').parent = 'p3'; node(d, 'p1').depth = 3; node(d, 'p3').children = ['p1']
      node(d, 'S').children = ['p2']
    }, /not reachable from the source/],
    ['a peer missing from the free lists', (d) => { d.freeLists[2] = d.freeLists[2]!.filter((id) => id !== 'p4') }, /p4 has 0\/2 children but is not in a free list/],
    ['a full peer in the free lists', (d) => { d.freeLists[1]!.push('p1') }, /p1 has 2\/2 children but is in a free list/],
    ['a broken back link', (d) => { d.freeListsBackward[2] = [] }, /differs walked forwards and backwards/],
    ['a list outside the promised bounds', (d) => { d.lowestFreeDepth = 2 }, /outside \[2, 2\]/],
    ['a wrong size', (d) => { d.size = 9 }, /size says 9 but 6 peers/]
  ])('rejects %s', (_name, corrupt, message) => {
    const problems = problemsAfter(corrupt)
    expect(problems.join('\n')).toMatch(message)
  })
})
