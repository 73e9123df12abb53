// Several munro-signal processes sharing trees through a real redis-server:
// one tree's peers spread over two and three processes, joins racing and
// churning across them, a process killed (its peers resume elsewhere or
// expire, their children re-attached), Redis restarted under a live tree.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import type { RelayedSignal } from '../../src/protocol/signaling.js'
import { nextEvent, waitFor } from '../helpers/signaling.js'
import { startRedis, type RedisProcess } from '../helpers/redis-server.js'
import { startBalancer } from '../helpers/tcp-balancer.js'
import { killProcess, serveOnRedis } from './cluster-processes.js'

const LEASE_MS = 1_500
let redis: RedisProcess
const cleanups: (() => Promise<void> | void)[] = []

beforeEach(async () => {
  redis = await startRedis()
})
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
  await redis.stop()
})

const serve = () => serveOnRedis(redis.url, LEASE_MS, cleanups)
const kill = killProcess

async function client(url: string): Promise<SignalingClient> {
  const c = new SignalingClient(url)
  cleanups.push(() => c.destroy())
  await nextEvent(c, 'connect')
  return c
}

interface NodeJson {
  peerId: string
  parent: string | null
  children: string[]
}

async function shape(url: string, treeId: string): Promise<NodeJson[]> {
  const res = await fetch(`${url}/trees/${treeId}`)
  if (res.status !== 200) return []
  const body = (await res.json()) as { nodes: NodeJson[] }
  return body.nodes.map((n) => ({ peerId: n.peerId, parent: n.parent, children: n.children })).sort((a, b) => a.peerId.localeCompare(b.peerId))
}

/** Both processes show the same tree of `size` peers, within the fan-outs, with no cycle (every peer reached from the source). */
async function expectOneTree(urls: string[], treeId: string, size: number, k = 4, k1 = 10): Promise<NodeJson[]> {
  let shapes: NodeJson[][] = []
  try {
    await waitFor(async () => {
      shapes = await Promise.all(urls.map((u) => shape(u, treeId)))
      return shapes.every((s) => s.length === size && JSON.stringify(s) === JSON.stringify(shapes[0]))
    }, 10_000, `every process to show the same ${size}-peer tree`)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${differences(urls, shapes)}`)
  }
  const nodes = await shape(urls[0]!, treeId)
  const byId = new Map(nodes.map((n) => [n.peerId, n]))
  const source = nodes.find((n) => n.parent === null)!
  for (const n of nodes) expect(n.children.length).toBeLessThanOrEqual(n === source ? k1 : k)
  const reached = new Set([source.peerId])
  const queue = [source.peerId]
  for (let i = 0; i < queue.length; i++) for (const c of byId.get(queue[i]!)!.children) if (!reached.has(c)) reached.add(c), queue.push(c)
  expect(reached.size).toBe(size)
  return nodes
}

/** What each process showed last, against the union of all: sizes, peers missing, peers placed elsewhere. */
function differences(urls: string[], shapes: NodeJson[][]): string {
  const parents = new Map<string, Set<string>>()
  for (const s of shapes) for (const n of s) (parents.get(n.peerId) ?? parents.set(n.peerId, new Set()).get(n.peerId)!).add(String(n.parent))
  return urls
    .map((url, i) => {
      const shown = new Map((shapes[i] ?? []).map((n) => [n.peerId, n]))
      const missing = [...parents.keys()].filter((id) => !shown.has(id))
      const disputed = [...shown.values()].filter((n) => parents.get(n.peerId)!.size > 1).map((n) => `${n.peerId}<-${n.parent}`)
      return `  ${url}: ${shown.size} peers; missing ${missing.length ? missing.join(' ') : 'none'}; parent differs elsewhere: ${disputed.length ? disputed.join(' ') : 'none'}`
    })
    .join('\n')
}

/** Each client's latest placement agrees with the shared tree. */
async function expectPlacementsAgree(clients: SignalingClient[], nodes: NodeJson[], treeId: string): Promise<void> {
  const parentOf = new Map(nodes.map((n) => [n.peerId, n.parent]))
  await waitFor(() => clients.every((c) => parentOf.get(c.placementOf(treeId)!.peerId) === c.placementOf(treeId)!.parent), 5_000, 'pushed placements to match the shared tree')
}

describe('munro-signal --redis: several processes, one tree', () => {
  it('two processes: peers spread over both, one tree, placements pushed across, signals relayed across', async () => {
    const [a, b] = await Promise.all([serve(), serve()])
    const source = await client(a.url)
    const treeId = (await source.createTree(generateKeyPair())).placement.treeId
    const viewers: SignalingClient[] = []
    for (let i = 0; i < 30; i++) {
      const c = await client(i % 2 ? a.url : b.url)
      await c.joinTree(treeId)
      viewers.push(c)
    }
    const nodes = await expectOneTree([a.url, b.url], treeId, 31)
    await expectPlacementsAgree([source, ...viewers], nodes, treeId)
    // Every child signals its parent; parents on the other process get them too.
    const all = [source, ...viewers]
    const byPeer = new Map(all.map((c) => [c.placementOf(treeId)!.peerId, c]))
    let crossing = 0
    for (const [i, child] of viewers.entries()) {
      const { peerId, parent } = child.placementOf(treeId)!
      const parentClient = byPeer.get(parent!)!
      if ((all.indexOf(parentClient) === 0 ? 0 : all.indexOf(parentClient) % 2) !== (i + 1) % 2) crossing++
      const got = nextEvent<RelayedSignal>(parentClient, 'signal')
      await child.sendSignal(treeId, parent!, { n: i })
      expect(await got).toMatchObject({ treeId, from: peerId, data: { n: i } })
    }
    expect(crossing).toBeGreaterThan(5)
  }, 60_000)

  it('three processes: joins racing for the same slots and churn across processes keep one consistent tree', async () => {
    const procs = await Promise.all([serve(), serve(), serve()])
    const urls = procs.map((p) => p.url)
    const source = await client(urls[0]!)
    const treeId = (await source.createTree(generateKeyPair())).placement.treeId
    const viewers = await Promise.all(Array.from({ length: 60 }, (_, i) => client(urls[i % 3]!)))
    await Promise.all(viewers.map((c) => c.joinTree(treeId)))
    await expectOneTree(urls, treeId, 61)
    // Churn: 20 leave and 20 join at once, over all three processes.
    const leaving = viewers.filter((_, i) => i % 3 === 1)
    const newcomers = await Promise.all(Array.from({ length: 20 }, (_, i) => client(urls[(i + 2) % 3]!)))
    await Promise.all([...leaving.map((c) => c.leaveTree(treeId)), ...newcomers.map((c) => c.joinTree(treeId))])
    const present = [source, ...viewers.filter((c) => !leaving.includes(c)), ...newcomers]
    const nodes = await expectOneTree(urls, treeId, present.length)
    await expectPlacementsAgree(present, nodes, treeId)
  }, 60_000)

  it('a killed process: its peers resume on the other with their ids, the ones that never return expire and their children are re-attached', async () => {
    const [a, b] = await Promise.all([serve(), serve()])
    const lb = await startBalancer([a.port, b.port])
    cleanups.push(() => lb.close())
    const source = await client(a.url)
    const treeId = (await source.createTree(generateKeyPair())).placement.treeId
    // Half through the balancer (they reconnect through it), half straight to B (they never come back).
    const roaming: SignalingClient[] = []
    const stranded: SignalingClient[] = []
    for (let i = 0; i < 24; i++) {
      const c = await client(i % 2 ? lb.url : b.url)
      await c.joinTree(treeId)
      ;(i % 2 ? roaming : stranded).push(c)
    }
    await expectOneTree([a.url, b.url], treeId, 25)
    const idsBefore = roaming.map((c) => c.placementOf(treeId)!.peerId)
    const ended: string[] = []
    for (const c of [source, ...roaming]) c.on('tree-ended', (e) => ended.push(e.reason))
    lb.backends = [a.port]
    await kill(b)
    // The stranded peers' process is dead: after its lease and the detach grace they leave, and their children move.
    const nodes = await expectOneTree([a.url], treeId, 1 + roaming.length)
    expect(roaming.map((c) => c.placementOf(treeId)!.peerId)).toEqual(idsBefore)
    expect(ended).toEqual([])
    await expectPlacementsAgree([source, ...roaming], nodes, treeId)
  }, 60_000)

  it('Redis restarted under a live tree: the processes reconnect, the tree goes on and takes newcomers on both', async () => {
    const [a, b] = await Promise.all([serve(), serve()])
    const source = await client(a.url)
    const treeId = (await source.createTree(generateKeyPair())).placement.treeId
    const viewers: SignalingClient[] = []
    for (let i = 0; i < 20; i++) {
      const c = await client(i % 2 ? a.url : b.url)
      await c.joinTree(treeId)
      viewers.push(c)
    }
    await expectOneTree([a.url, b.url], treeId, 21)
    await redis.restart()
    // Joins retry while the processes reconnect and write the tree back.
    const joinSoon = async (c: SignalingClient) => {
      for (let i = 0; ; i++) {
        try {
          return await c.joinTree(treeId)
        } catch (err) {
          if (i > 40) throw err
          await new Promise((r) => setTimeout(r, 250))
        }
      }
    }
    const newcomers = [await client(a.url), await client(b.url), await client(b.url)]
    for (const c of newcomers) await joinSoon(c)
    const nodes = await expectOneTree([a.url, b.url], treeId, 24)
    await expectPlacementsAgree([source, ...viewers, ...newcomers], nodes, treeId)
    // Signals still cross processes.
    const child = newcomers[2]!
    const { parent } = child.placementOf(treeId)!
    const parentClient = [source, ...viewers, ...newcomers].find((c) => c.placementOf(treeId)!.peerId === parent)!
    const got = nextEvent<RelayedSignal>(parentClient, 'signal')
    await child.sendSignal(treeId, parent!, { after: 'restart' })
    expect((await got).data).toEqual({ after: 'restart' })
  }, 60_000)
})
