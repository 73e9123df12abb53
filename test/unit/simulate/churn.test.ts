// The churn simulation at 2,000 viewers: every registry operation keeps the
// tree's invariants under both policies, the report is internally
// consistent, and a seed fixes the figures.
import { describe, expect, it } from 'vitest'
import { MemoryTreeRegistry } from '../../../signaling-server/registry/memory-registry.js'
import type { PlacementPolicy } from '../../../signaling-server/registry/peer-tree.js'
import { runChurn, type RunOptions, type RunReport } from '../../../scripts/simulate/churn.js'
import { formatReport } from '../../../scripts/simulate/report.js'
import { DEFAULT_WORKLOAD } from '../../../scripts/simulate/model.js'

const PEERS = 2_000

function options(k: number, policy: PlacementPolicy, seed = 7): RunOptions {
  return { peers: PEERS, k, k1: 10, policy, reportUpload: true, seed, warmupS: 300, measureS: 900, snapshots: 3 }
}

/** Runs with a MemoryTreeRegistry it can inspect, checking every invariant after every 25th operation and at the end. */
async function checkedRun(opts: RunOptions): Promise<{ report: RunReport; operations: number }> {
  let registry: MemoryTreeRegistry | undefined
  let operations = 0
  const report = await runChurn({
    ...opts,
    registry: (now, policy) => (registry = new MemoryTreeRegistry({ now, policy })),
    afterOperation: () => {
      if (++operations % 25 === 0) registry!.peerTree('sim')!.check()
    }
  })
  registry!.peerTree('sim')!.check()
  return { report, operations }
}

/** The least mean depth any tree of n viewers can have with these fan-outs: fill each level completely. */
function idealMeanDepth(n: number, k: number, k1: number): number {
  let left = n
  let level = k1
  let depth = 1
  let total = 0
  while (left > 0) {
    const here = Math.min(left, level)
    total += here * depth
    left -= here
    level *= k
    depth++
  }
  return total / n
}

function expectSane(r: RunReport, k: number): void {
  expect(r.meanPeers).toBeGreaterThan(PEERS * 0.8)
  expect(r.meanPeers).toBeLessThan(PEERS * 1.2)
  // Session ends alone: about peers x measured time / mean session (18 min).
  expect(r.departures).toBeGreaterThan(PEERS * 0.5)
  expect(r.interiorShare).toBeGreaterThan(0)
  expect(r.interiorShare).toBeLessThan(1)
  // An interior departure disrupts at least its child and the promoted leaf; a leaf's, nobody.
  expect(r.disrupted.mean).toBeGreaterThanOrEqual(2 * r.interiorShare)
  expect(r.disrupted.p99).toBeLessThanOrEqual(r.disrupted.max)
  expect(r.disrupted.max).toBeLessThan(PEERS * 1.2)
  expect(r.replacementsPerS).toBeGreaterThan(0)
  expect(r.depth.mean).toBeGreaterThanOrEqual(idealMeanDepth(Math.round(r.meanPeers), k, 10) - 0.5)
  expect(r.depth.p50).toBeLessThanOrEqual(r.depth.p99)
  expect(r.depth.p99).toBeLessThanOrEqual(r.depth.max)
  expect(r.depth.histogram[0]).toBe(0)
  expect(r.depth.histogram.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9)
  expect(r.depth.histogram.at(-1)).toBeGreaterThan(0)
  // Every leaf is at least one hop away: one link latency plus the relay time.
  expect(r.delayMs.p50).toBeGreaterThan(DEFAULT_WORKLOAD.relayMs)
  expect(r.delayMs.p50).toBeLessThanOrEqual(r.delayMs.p90)
  expect(r.delayMs.p90).toBeLessThanOrEqual(r.delayMs.p99)
  expect(r.starvedShare).toBeGreaterThanOrEqual(0)
  expect(r.starvedShare).toBeLessThan(1)
  expect(r.resumes).toBeGreaterThan(0)
  expect(r.rejoins).toBeGreaterThan(0)
  expect(r.rejoinsUnderOldParent).toBeLessThanOrEqual(r.rejoins)
}

describe('churn simulation (2,000 viewers)', () => {
  for (const k of [2, 4]) {
    it(`keeps every tree invariant and reports sane figures for k=${k}, both policies on the same workload`, async () => {
      const bf = await checkedRun(options(k, 'breadth-first'))
      const sf = await checkedRun(options(k, 'stable-first'))
      for (const run of [bf, sf]) {
        expect(run.operations).toBeGreaterThan(PEERS * 2)
        expectSane(run.report, k)
      }
      // One seed, one workload: the same peers come, drop and go whatever the policy.
      expect(sf.report.departures).toBe(bf.report.departures)
      expect(sf.report.resumes).toBe(bf.report.resumes)
      expect(sf.report.rejoins).toBe(bf.report.rejoins)
      expect(sf.operations).toBe(bf.operations)
    }, 60_000)
  }

  it('gives the same report for the same seed and a different one for another seed', async () => {
    const strip = ({ wallMs: _, ...rest }: RunReport) => rest
    const a = strip(await runChurn(options(3, 'stable-first')))
    const b = strip(await runChurn(options(3, 'stable-first')))
    const c = strip(await runChurn(options(3, 'stable-first', 8)))
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
  }, 60_000)

  it('prints one table row per run and a depth row per run', async () => {
    const reports = [await runChurn(options(8, 'breadth-first')), await runChurn(options(8, 'stable-first'))]
    const text = formatReport(reports, { peers: PEERS, seed: 7, warmup: 300, measure: 900, k1: 10, workload: DEFAULT_WORKLOAD })
    expect(text.split('\n').filter((l) => /^\| 8 \| (breadth|stable)-first \|/.test(l))).toHaveLength(4)
    expect(text).toContain('log-normal')
    expect(text).not.toContain('NaN')
  }, 60_000)
})
