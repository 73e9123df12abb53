// Markdown tables for `npm run simulate`: one row per (k, policy), then the
// depth distributions, then the model the figures rest on.
import type { RunReport } from './churn.js'
import type { Workload } from './model.js'

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-')
const pct = (x: number) => `${f(100 * x)} %`

export function formatReport(reports: RunReport[], setup: { peers: number; seed: number; warmup: number; measure: number; k1: number; workload: Workload }): string {
  const w = setup.workload
  const lines = [
    `Churn simulation: ${setup.peers.toLocaleString('en')} viewers, k1 = ${setup.k1}, seed ${setup.seed}, ${setup.warmup} s warm-up then ${setup.measure} s measured (simulated time).`,
    '',
    '| k | policy | departures | with children | disrupted / departure (mean · p99 · max) | re-placements/s | depth (mean · p50 · p99 · max) | source-to-leaf delay ms (p50 · p90 · p99) | under-fed viewers | drops resumed · re-placed (under old parent) |',
    '|---|---|---|---|---|---|---|---|---|---|'
  ]
  for (const r of reports) {
    lines.push(
      `| ${r.k} | ${r.policy} | ${r.departures} | ${pct(r.interiorShare)} | ${f(r.disrupted.mean, 2)} · ${r.disrupted.p99} · ${r.disrupted.max} | ${f(r.replacementsPerS)} | ${f(r.depth.mean, 2)} · ${r.depth.p50} · ${r.depth.p99} · ${r.depth.max} | ${f(r.delayMs.p50, 0)} · ${f(r.delayMs.p90, 0)} · ${f(r.delayMs.p99, 0)} | ${pct(r.starvedShare)} | ${r.resumes} · ${r.rejoins} (${r.rejoinsUnderOldParent}) |`
    )
  }
  lines.push('', 'Depth distribution (share of viewers at each depth, pooled over the snapshots):', '')
  const maxDepth = Math.max(...reports.map((r) => r.depth.max))
  lines.push(`| k | policy | ${Array.from({ length: maxDepth }, (_, i) => i + 1).join(' | ')} |`, `|---|---|${'---|'.repeat(maxDepth)}`)
  for (const r of reports) {
    const cells = Array.from({ length: maxDepth }, (_, i) => {
      const share = r.depth.histogram[i + 1] ?? 0
      return share === 0 ? '' : share < 0.0005 ? '<0.1' : f(100 * share)
    })
    lines.push(`| ${r.k} | ${r.policy} | ${cells.join(' | ')} |`)
  }
  lines.push(
    '',
    `Model: sessions log-normal (median ${w.sessionMedianS} s, sigma ${w.sessionSigma}); Poisson arrivals at the rate that holds the population; ` +
      `${pct(w.dropShare)} of sessions drop once (away: log-normal median ${w.awayMedianS} s; back within ${w.graceS} s resumes, later is removed and re-placed under its old parent if it has room); ` +
      `${w.reportsPerPeerHour} reports per peer-hour. Hop delay = link latency (log-normal median ${w.latencyMedianMs} ms) + ${w.relayMs} ms relay + children x ${w.frameBytes} B / parent upload ` +
      `(log-normal median ${w.uploadMedianKbps / 1000} Mbit/s, sigma ${w.uploadSigma}; source ${w.sourceUploadKbps / 1000} Mbit/s). A viewer is under-fed when some ancestor's upload is below children x ${w.bitrateKbps / 1000} Mbit/s; delays are of the other leaves.`,
    ''
  )
  return lines.join('\n')
}
