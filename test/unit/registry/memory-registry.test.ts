import { describe, expect, it } from 'vitest'
import { MemoryTreeRegistry } from '../../../signaling-server/registry/memory-registry.js'
import { RegistryError } from '../../../signaling-server/registry/tree-registry.js'

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  expect(promise).rejects.toSatisfy((err) => err instanceof RegistryError && err.code === code)

describe('MemoryTreeRegistry', () => {
  it('keeps trees apart and lists their peers on delete', async () => {
    const registry = new MemoryTreeRegistry()
    await registry.createTree('t1', 'S1', { k: 2, k1: 3 })
    await registry.createTree('t2', 'S2', { k: 1, k1: 1 })
    expect(await registry.treeCount()).toBe(2)
    expect(await registry.place('t1', 'a')).toEqual({ changed: ['a', 'S1'], removed: [], reparented: 0 })
    await registry.place('t2', 'a')
    await registry.place('t2', 'b')
    expect(await registry.query('t2', 'b')).toMatchObject({ peerId: 'b', parent: 'a', depth: 2, children: [] })
    expect(await registry.size('t1')).toBe(2)
    expect(await registry.deleteTree('t2')).toEqual(['S2', 'a', 'b'])
    expect(await registry.hasTree('t2')).toBe(false)
    expect(await registry.deleteTree('t2')).toEqual([])
    expect(await registry.treeCount()).toBe(1)
    registry.peerTree('t1')?.check()
  })

  it('passes remove, report, move and setAway through', async () => {
    const registry = new MemoryTreeRegistry()
    await registry.createTree('t', 'S', { k: 2, k1: 1 })
    for (const id of ['p1', 'p2', 'p3']) await registry.place('t', id)
    const outcome = await registry.report('t', 'p2', 'p1')
    expect(outcome).toEqual({ changed: [], removed: [], reparented: 0 })
    expect((await registry.move('t', 'p3', 'p2')).changed).toEqual(['p3', 'p1', 'p2'])
    expect((await registry.setAway('t', 'p2', true)).changed).toEqual([])
    expect((await registry.query('t', 'p2'))?.away).toBe(true)
    expect((await registry.remove('t', 'p1')).removed).toEqual(['p1'])
    expect((await registry.query('t', 'S'))?.children).toHaveLength(1)
    expect(await registry.query('t', 'p1')).toBeUndefined()
  })

  it('rejects with the registry error codes', async () => {
    const registry = new MemoryTreeRegistry({ maxPeersPerTree: 2 })
    await registry.createTree('t', 'S', { k: 2, k1: 2 })
    await rejectsWith(registry.createTree('t', 'X', { k: 2, k1: 2 }), 'ERR_TREE_EXISTS')
    await rejectsWith(registry.place('nope', 'a'), 'ERR_TREE_NOT_FOUND')
    await rejectsWith(registry.remove('nope', 'a'), 'ERR_TREE_NOT_FOUND')
    await rejectsWith(registry.report('nope', 'a', 'b'), 'ERR_TREE_NOT_FOUND')
    await rejectsWith(registry.query('nope', 'a'), 'ERR_TREE_NOT_FOUND')
    await rejectsWith(registry.size('nope'), 'ERR_TREE_NOT_FOUND')
    await registry.place('t', 'a')
    await rejectsWith(registry.place('t', 'a'), 'ERR_ALREADY_IN_TREE')
    await rejectsWith(registry.place('t', 'b'), 'ERR_TREE_FULL')
    await rejectsWith(registry.remove('t', 'S'), 'ERR_IS_SOURCE')
    await rejectsWith(registry.remove('t', 'b'), 'ERR_NOT_IN_TREE')
    await rejectsWith(registry.report('t', 'a', 'b'), 'ERR_NOT_YOUR_PARENT')
  })

  it('rejects bad fan-outs and limits', async () => {
    expect(() => new MemoryTreeRegistry({ maxPeersPerTree: 0 })).toThrow(RangeError)
    await expect(new MemoryTreeRegistry().createTree('t', 'S', { k: 0, k1: 1 })).rejects.toThrow(RangeError)
  })
})
