// One churn run: the real placement code (a TreeRegistry, no sockets) under a
// seeded stream of arrivals, departures, dropped connections and reports.
// Every operation goes through the registry API exactly as the signaling
// server calls it. The workload draws nothing from the tree's state, so two
// runs with one seed see the same peers at the same moments whatever the
// policy: their figures differ only by placement.
import { prng } from '../../test/helpers/prng.js'
import { MemoryTreeRegistry } from '../../signaling-server/registry/memory-registry.js'
import type { PlacementPolicy } from '../../signaling-server/registry/peer-tree.js'
import type { TreeRegistry } from '../../signaling-server/registry/tree-registry.js'
import { EventQueue } from './event-queue.js'
import { canFeed, DEFAULT_WORKLOAD, exponential, hopDelayMs, logNormal, logNormalMean, quantile, type Workload } from './model.js'

export interface RunOptions {
  /** Viewers in the tree on average (the run starts in the steady state). */
  peers: number
  k: number
  k1: number
  policy: PlacementPolicy
  /** Whether viewers tell the registry their upload capacity (the signaling server does not yet). */
  reportUpload: boolean
  seed: number
  /** Simulated seconds of churn before measuring, then measured. */
  warmupS: number
  measureS: number
  /** Tree snapshots (depth, delay) taken evenly over the measured time. */
  snapshots: number
  workload?: Workload
  /** The registry under test; default MemoryTreeRegistry with `policy` and the simulated clock. */
  registry?: (now: () => number, policy: PlacementPolicy) => TreeRegistry
  /** Called after every registry operation (tests check invariants here). */
  afterOperation?: (registry: TreeRegistry) => void
}

export interface RunReport {
  k: number
  k1: number
  policy: PlacementPolicy
  reportUpload: boolean
  /** Viewers in the tree, averaged over the snapshots. */
  meanPeers: number
  measuredS: number
  /** Removals in the measured time (session ends and expired drops) and the share that had children. */
  departures: number
  interiorShare: number
  /** Peers whose parent or ancestor path changed, per departure. */
  disrupted: { mean: number; p99: number; max: number }
  /** Peers given a new parent per simulated second (departures, reports, re-attachments). */
  replacementsPerS: number
  /** Viewers' depth (source = 0) pooled over the snapshots; histogram[d] is the share at depth d. */
  depth: { mean: number; p50: number; p90: number; p99: number; max: number; histogram: number[] }
  /** Source-to-leaf delay of leaves whose every ancestor can feed its children. */
  delayMs: { p50: number; p90: number; p99: number }
  /** Share of viewers below a parent whose upload cannot carry all its children. */
  starvedShare: number
  /** Dropped connections back within the grace, and those re-placed after it (how many under their old parent). */
  resumes: number
  rejoins: number
  rejoinsUnderOldParent: number
  wallMs: number
}

interface Peer {
  id: string
  uploadKbps: number
  latencyMs: number
  state: 'in' | 'away' | 'out' | 'gone'
  /** Index in `present` while in the tree. */
  slot: number
  lastParent: string | undefined
}

type SimEvent =
  | { kind: 'arrive' }
  | { kind: 'report' }
  | { kind: 'snapshot' }
  | { kind: 'leave' | 'drop' | 'back' | 'expire' | 'rejoin'; peer: Peer; awayS: number }

const TREE = 'sim'
const SOURCE = 'source'

export async function runChurn(options: RunOptions): Promise<RunReport> {
  const started = performance.now()
  const w = options.workload ?? DEFAULT_WORKLOAD
  const rand = prng(options.seed)
  let clockMs = 0
  const now = () => clockMs
  const registry = options.registry?.(now, options.policy) ?? new MemoryTreeRegistry({ policy: options.policy, now })
  const after = options.afterOperation ?? (() => {})
  await registry.createTree(TREE, SOURCE, { k: options.k, k1: options.k1 })

  const peers = new Map<string, Peer>()
  const present: Peer[] = []
  const events = new EventQueue<SimEvent>()
  const measureFrom = options.warmupS
  const endS = options.warmupS + options.measureS
  const arrivalRate = options.peers / logNormalMean(w.sessionMedianS, w.sessionSigma)
  let nextId = 0
  let t = 0 // simulated seconds

  const m = { departures: 0, interior: 0, disrupted: [] as number[], reparented: 0, resumes: 0, rejoins: 0, rejoinsUnderOld: 0 }
  const depths: number[] = []
  const leafDelays: number[] = []
  let viewersSeen = 0
  let starved = 0
  let snapshotsTaken = 0
  const measuring = () => t >= measureFrom

  const enter = (p: Peer) => {
    p.slot = present.length
    present.push(p)
  }
  const exit = (p: Peer) => {
    const last = present.pop()!
    if (last !== p) {
      present[p.slot] = last
      last.slot = p.slot
    }
  }

  /** Draws a peer's whole life up front (the same draws whatever happens to it) and places it. */
  async function arrive(sessionS: number): Promise<void> {
    const p: Peer = {
      id: `v${nextId++}`,
      uploadKbps: logNormal(rand, w.uploadMedianKbps, w.uploadSigma),
      latencyMs: logNormal(rand, w.latencyMedianMs, w.latencySigma),
      state: 'in',
      slot: -1,
      lastParent: undefined
    }
    const drops = rand() < w.dropShare
    const dropAfterS = rand() * sessionS
    const awayS = logNormal(rand, w.awayMedianS, w.awaySigma)
    peers.set(p.id, p)
    const changes = await registry.place(TREE, p.id, undefined, options.reportUpload ? { uploadKbps: p.uploadKbps } : undefined)
    if (measuring()) m.reparented += changes.reparented
    after(registry)
    enter(p)
    events.push(t + sessionS, { kind: 'leave', peer: p, awayS })
    if (drops) events.push(t + dropAfterS, { kind: 'drop', peer: p, awayS })
  }

  /** Removes a peer, counting the peers whose path to the source changes: its whole subtree and the leaf that takes its slot. */
  async function depart(p: Peer): Promise<void> {
    const view = (await registry.query(TREE, p.id))!
    let disrupted = 0
    if (view.children.length > 0) {
      const queue = [...view.children]
      for (let i = 0; i < queue.length; i++) queue.push(...(await registry.query(TREE, queue[i]!))!.children)
      disrupted = queue.length + 1
    }
    const changes = await registry.remove(TREE, p.id)
    after(registry)
    exit(p)
    if (!measuring()) return
    m.departures++
    if (view.children.length > 0) m.interior++
    m.disrupted.push(disrupted)
    m.reparented += changes.reparented
  }

  async function snapshot(): Promise<void> {
    snapshotsTaken++
    const delay = new Map<string, number>([[SOURCE, 0]]) // -1: starved
    for (const v of await registry.nodes(TREE, Infinity)) {
      const own = delay.get(v.peerId)!
      if (v.parent !== null) {
        viewersSeen++
        depths.push(v.depth)
        if (own < 0) starved++
        else if (v.children.length === 0) leafDelays.push(own)
      }
      const upload = v.parent === null ? w.sourceUploadKbps : peers.get(v.peerId)!.uploadKbps
      const fed = own >= 0 && canFeed(w, upload, v.children.length)
      for (const c of v.children) delay.set(c, fed ? own + hopDelayMs(w, upload, v.children.length, peers.get(c)!.latencyMs) : -1)
    }
  }

  // The steady state to start from: a viewer present at a random moment has a
  // length-biased session (log-normal with mu + sigma^2), at a uniform point
  // of it. Its time in the tree so far is its age: it joins on a clock set
  // back by that age. The tree itself starts in placement order, which the
  // warm-up then churns.
  const biasedMedian = w.sessionMedianS * Math.exp(w.sessionSigma * w.sessionSigma)
  for (let i = 0; i < options.peers; i++) {
    const total = logNormal(rand, biasedMedian, w.sessionSigma)
    const age = rand() * total
    clockMs = -age * 1000
    await arrive(total - age)
  }
  clockMs = 0
  events.push(exponential(rand, arrivalRate), { kind: 'arrive' })
  const reportRate = (options.peers * w.reportsPerPeerHour) / 3600
  if (reportRate > 0) events.push(exponential(rand, reportRate), { kind: 'report' })
  for (let i = 1; i <= options.snapshots; i++) events.push(measureFrom + (options.measureS * i) / options.snapshots, { kind: 'snapshot' })

  for (let next = events.pop(); next !== undefined && next.at <= endS; next = events.pop()) {
    t = next.at
    clockMs = t * 1000
    const ev = next.event
    switch (ev.kind) {
      case 'arrive':
        await arrive(logNormal(rand, w.sessionMedianS, w.sessionSigma))
        events.push(t + exponential(rand, arrivalRate), { kind: 'arrive' })
        break
      case 'report': {
        const reporter = present[Math.floor(rand() * present.length)]
        events.push(t + exponential(rand, reportRate), { kind: 'report' })
        if (!reporter) break
        const parent = (await registry.query(TREE, reporter.id))!.parent!
        const changes = await registry.report(TREE, reporter.id, parent)
        after(registry)
        if (measuring()) m.reparented += changes.reparented
        break
      }
      case 'snapshot':
        await snapshot()
        break
      case 'leave':
        if (ev.peer.state === 'in' || ev.peer.state === 'away') await depart(ev.peer)
        ev.peer.state = 'gone'
        break
      case 'drop':
        if (ev.peer.state !== 'in') break
        ev.peer.state = 'away'
        await registry.setAway(TREE, ev.peer.id, true)
        after(registry)
        if (ev.awayS <= w.graceS) events.push(t + ev.awayS, { kind: 'back', peer: ev.peer, awayS: ev.awayS })
        else {
          events.push(t + w.graceS, { kind: 'expire', peer: ev.peer, awayS: ev.awayS })
          events.push(t + ev.awayS, { kind: 'rejoin', peer: ev.peer, awayS: ev.awayS })
        }
        break
      case 'back': {
        if (ev.peer.state !== 'away') break
        ev.peer.state = 'in'
        const changes = await registry.setAway(TREE, ev.peer.id, false)
        after(registry)
        if (measuring()) {
          m.resumes++
          m.reparented += changes.reparented
        }
        break
      }
      case 'expire':
        if (ev.peer.state !== 'away') break
        ev.peer.lastParent = (await registry.query(TREE, ev.peer.id))!.parent ?? undefined
        await depart(ev.peer)
        ev.peer.state = 'out'
        break
      case 'rejoin': {
        if (ev.peer.state !== 'out') break
        ev.peer.state = 'in'
        const changes = await registry.place(TREE, ev.peer.id, ev.peer.lastParent, options.reportUpload ? { uploadKbps: ev.peer.uploadKbps } : undefined)
        after(registry)
        enter(ev.peer)
        if (measuring()) {
          m.rejoins++
          if ((await registry.query(TREE, ev.peer.id))!.parent === ev.peer.lastParent) m.rejoinsUnderOld++
          m.reparented += changes.reparented
        }
        break
      }
    }
  }

  m.disrupted.sort((a, b) => a - b)
  depths.sort((a, b) => a - b)
  leafDelays.sort((a, b) => a - b)
  const maxDepth = depths.at(-1) ?? 0
  const histogram = new Array<number>(maxDepth + 1).fill(0)
  for (const d of depths) histogram[d]!++
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  return {
    k: options.k,
    k1: options.k1,
    policy: options.policy,
    reportUpload: options.reportUpload,
    meanPeers: snapshotsTaken ? viewersSeen / snapshotsTaken : NaN,
    measuredS: options.measureS,
    departures: m.departures,
    interiorShare: m.departures ? m.interior / m.departures : NaN,
    disrupted: { mean: m.departures ? sum(m.disrupted) / m.departures : NaN, p99: quantile(m.disrupted, 0.99), max: m.disrupted.at(-1) ?? 0 },
    replacementsPerS: m.reparented / options.measureS,
    depth: {
      mean: depths.length ? sum(depths) / depths.length : NaN,
      p50: quantile(depths, 0.5),
      p90: quantile(depths, 0.9),
      p99: quantile(depths, 0.99),
      max: maxDepth,
      histogram: histogram.map((c) => (depths.length ? c / depths.length : 0))
    },
    delayMs: { p50: quantile(leafDelays, 0.5), p90: quantile(leafDelays, 0.9), p99: quantile(leafDelays, 0.99) },
    starvedShare: viewersSeen ? starved / viewersSeen : NaN,
    resumes: m.resumes,
    rejoins: m.rejoins,
    rejoinsUnderOldParent: m.rejoinsUnderOld,
    wallMs: performance.now() - started
  }
}
