// Placement cost of PeerTree: joins/s at two sizes (their per-join ratio
// should stay near 1, since a join is O(1) amortized), leaves of random
// interior peers, reports, and heap per peer.
//
//   node --import tsx bench/placement.ts
import { randomBytes } from 'node:crypto'
import { PerformanceObserver } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { PeerTree } from '../signaling-server/registry/peer-tree.js'

const K = 4
const K1 = 10

/** Peer ids shaped like the real ones: base64url of 16 random bytes. */
function peerIds(n: number): string[] {
  const ids = new Array<string>(n)
  for (let i = 0; i < n; i++) ids[i] = randomBytes(16).toString('base64url')
  return ids
}

/** A full GC, with or without --expose-gc; undefined if neither works. */
function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (exposed) return exposed
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch {
    return undefined
  }
}

function grow(ids: string[]): { tree: PeerTree; start: number; end: number } {
  const tree = new PeerTree('source', { k: K, k1: K1 })
  const start = performance.now()
  for (const id of ids) tree.place(id)
  return { tree, start, end: performance.now() }
}

/**
 * The floor any per-peer registry pays: one Map entry and one small object
 * per peer. Its cost per insert also rises from 10k to 100k entries (caches,
 * GC), which separates that effect from the algorithm's.
 */
function growBaseline(ids: string[]): { start: number; end: number } {
  const map = new Map<string, object>()
  const start = performance.now()
  for (const id of ids) map.set(id, { id, parent: null, children: [], depth: 0, prev: null, next: null, linked: false })
  return { start, end: performance.now() }
}

/** Durations of garbage collections, as the runtime reports them (asynchronously). */
const gcPauses: Array<{ start: number; end: number }> = []
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push({ start: e.startTime, end: e.startTime + e.duration })
})

async function gcTimeWithin(start: number, end: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 10)) // let the observer deliver
  let ms = 0
  for (const p of gcPauses) ms += Math.max(0, Math.min(end, p.end) - Math.max(start, p.start))
  return ms
}

/**
 * Grows a tree of `n` peers `runs` times; returns ns per join of the fastest
 * run (the one least disturbed by other processes on a shared box), with and
 * without the garbage collector's pauses. `build` defaults to PeerTree joins.
 */
async function nsPerJoin(n: number, runs: number, build: (ids: string[]) => { start: number; end: number } = grow): Promise<{ total: number; withoutGc: number }> {
  const ids = peerIds(n)
  let best = { total: Infinity, withoutGc: Infinity }
  for (let r = 0; r < runs; r++) {
    const { start, end } = build(ids)
    const gcMs = await gcTimeWithin(start, end)
    const total = ((end - start) * 1e6) / n
    if (total < best.total) best = { total, withoutGc: ((end - start - gcMs) * 1e6) / n }
  }
  return best
}

/** Removes `count` random peers that have children; the time covers remove() only. */
function interiorLeaves(tree: PeerTree, ids: string[], count: number): { nsPerLeave: number; reparentedPerLeave: number } {
  const alive = ids.slice()
  let ns = 0
  let reparented = 0
  let done = 0
  while (done < count && alive.length > 0) {
    const i = Math.floor(Math.random() * alive.length)
    const id = alive[i]!
    if (tree.query(id)!.children.length === 0) continue
    alive[i] = alive[alive.length - 1]!
    alive.pop()
    const start = process.hrtime.bigint()
    const changes = tree.remove(id)
    ns += Number(process.hrtime.bigint() - start)
    reparented += changes.reparented
    done++
  }
  return { nsPerLeave: ns / done, reparentedPerLeave: reparented / done }
}

/** Random peers report their parent; the time covers report() only. */
function reports(tree: PeerTree, ids: string[], count: number): { nsPerReport: number; movedPerReport: number } {
  let ns = 0
  let moved = 0
  for (let done = 0; done < count; ) {
    const id = ids[Math.floor(Math.random() * ids.length)]!
    const parent = tree.query(id)?.parent
    if (!parent) continue
    const start = process.hrtime.bigint()
    const outcome = tree.report(id, parent)
    ns += Number(process.hrtime.bigint() - start)
    moved += outcome.changed.length
    done++
  }
  return { nsPerReport: ns / count, movedPerReport: moved / count }
}

export async function runPlacementBench(): Promise<Record<string, unknown>> {
  const gc = findGc()
  gcObserver.observe({ entryTypes: ['gc'] })
  await nsPerJoin(10_000, 3) // warm-up for the JIT
  const join10k = await nsPerJoin(10_000, 7)
  const join100k = await nsPerJoin(100_000, 5)
  await nsPerJoin(10_000, 3, growBaseline)
  const base10k = await nsPerJoin(10_000, 7, growBaseline)
  const base100k = await nsPerJoin(100_000, 5, growBaseline)
  gcObserver.disconnect()

  const ids = peerIds(100_000)
  const { tree } = grow(ids)
  const heightBefore = tree.height
  const leaves = interiorLeaves(tree, ids, 10_000)
  const heightAfter = tree.height
  const survivors = ids.filter((id) => tree.has(id))
  const report = reports(tree, survivors, 2_000)
  tree.check()

  let bytesPerPeer: number | undefined
  if (gc) {
    const memIds = peerIds(100_000) // allocated before the baseline: ids are the server's, not the tree's
    gc()
    const before = process.memoryUsage().heapUsed
    const { tree: measured } = grow(memIds)
    gc()
    const after = process.memoryUsage().heapUsed
    bytesPerPeer = (after - before) / measured.size
  }

  return {
    k: K,
    k1: K1,
    joinsPerSec10k: Math.round(1e9 / join10k.total),
    joinsPerSec100k: Math.round(1e9 / join100k.total),
    nsPerJoin10k: Math.round(join10k.total),
    nsPerJoin100k: Math.round(join100k.total),
    joinCostRatio100kTo10k: Number((join100k.total / join10k.total).toFixed(2)),
    joinCostRatioWithoutGc: Number((join100k.withoutGc / join10k.withoutGc).toFixed(2)),
    mapBaselineRatio100kTo10k: Number((base100k.total / base10k.total).toFixed(2)),
    mapBaselineRatioWithoutGc: Number((base100k.withoutGc / base10k.withoutGc).toFixed(2)),
    interiorLeavesPerSec: Math.round(1e9 / leaves.nsPerLeave),
    reparentedPerInteriorLeave: Number(leaves.reparentedPerLeave.toFixed(2)),
    heightBeforeLeaves: heightBefore,
    heightAfterLeaves: heightAfter,
    reportsPerSec: Math.round(1e9 / report.nsPerReport),
    changedPerReport: Number(report.movedPerReport.toFixed(1)),
    heapBytesPerPeer: bytesPerPeer === undefined ? 'n/a (no gc)' : Math.round(bytesPerPeer)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runPlacementBench()
  const width = Math.max(...Object.keys(result).map((key) => key.length))
  console.log(`PeerTree placement (one run, node ${process.version})`)
  for (const [key, value] of Object.entries(result)) console.log(`  ${key.padEnd(width)}  ${String(value)}`)
}
