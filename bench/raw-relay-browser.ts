// Per-hop relay latency in Chromium: plain RTCDataChannel hops against PeerLink
// hops, measured in the same page and the same run (see raw-relay-browser.page.ts).
// Project target: PeerLink / raw at 16 KiB ≤ 1.25.
//
//   bash scripts/netns.sh node --import tsx bench/raw-relay-browser.ts [--hops 4] [--rounds 6] [--messages 50]
import { pathToFileURL } from 'node:url'
import { CROSS_ORIGIN_ISOLATION_HEADERS, assertIsolatedNetwork, pageApi, startHarness } from '../test/browser/harness.js'
import type { ChainBenchOptions, RawRelayPageApi } from './raw-relay-browser.page.js'

export interface RawRelayBenchOptions extends Partial<ChainBenchOptions> {
  /** Print the page's console (debugging). */
  log?: boolean
}

export interface RawRelaySizeResult {
  sizeBytes: number
  samples: number
  rawMedianMs: number
  peerLinkMedianMs: number
  /** peerLinkMedianMs / rawMedianMs */
  ratio: number
  rawP90Ms: number
  peerLinkP90Ms: number
}

export interface RawRelayBenchResult {
  hops: number
  results: RawRelaySizeResult[]
  /** The ratio at 16 KiB, the project's target metric (≤ 1.25). */
  ratioAt16KiB: number | null
  crossOriginIsolated: boolean
  userAgent: string
  durationMs: number
}

export const RAW_RELAY_DEFAULTS: ChainBenchOptions = {
  hops: 4,
  sizes: [1024, 16 * 1024, 64 * 1024],
  messagesPerRound: 50,
  rounds: 6,
  warmup: 20
}

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((x, y) => x - y)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/** Builds the bench page, runs both chains in one Chromium page, and summarizes. */
export async function runRawRelayBench(opts: RawRelayBenchOptions = {}): Promise<RawRelayBenchResult> {
  assertIsolatedNetwork()
  const options: ChainBenchOptions = {
    hops: opts.hops ?? RAW_RELAY_DEFAULTS.hops,
    sizes: opts.sizes ?? RAW_RELAY_DEFAULTS.sizes,
    messagesPerRound: opts.messagesPerRound ?? RAW_RELAY_DEFAULTS.messagesPerRound,
    rounds: opts.rounds ?? RAW_RELAY_DEFAULTS.rounds,
    warmup: opts.warmup ?? RAW_RELAY_DEFAULTS.warmup
  }
  const started = performance.now()
  const harness = await startHarness(
    { bench: 'bench/raw-relay-browser.page.ts' },
    { minify: true, headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } }
  )
  try {
    const { page } = await harness.open('bench', { log: opts.log ?? false })
    page.setDefaultTimeout(0)
    const samples = await pageApi<RawRelayPageApi>(page, 'munroBench')('runChainBench', options)
    const results = options.sizes.map((size): RawRelaySizeResult => {
      const raw = samples.raw[size] ?? []
      const peerlink = samples.peerlink[size] ?? []
      const rawMedianMs = quantile(raw, 0.5)
      const peerLinkMedianMs = quantile(peerlink, 0.5)
      return {
        sizeBytes: size,
        samples: Math.min(raw.length, peerlink.length),
        rawMedianMs,
        peerLinkMedianMs,
        ratio: peerLinkMedianMs / rawMedianMs,
        rawP90Ms: quantile(raw, 0.9),
        peerLinkP90Ms: quantile(peerlink, 0.9)
      }
    })
    return {
      hops: options.hops,
      results,
      ratioAt16KiB: results.find((r) => r.sizeBytes === 16 * 1024)?.ratio ?? null,
      crossOriginIsolated: samples.crossOriginIsolated,
      userAgent: samples.userAgent,
      durationMs: performance.now() - started
    }
  } finally {
    await harness.close()
  }
}

export function formatRawRelayBench(result: RawRelayBenchResult): string {
  const ms = (v: number) => v.toFixed(3).padStart(8)
  const lines = [
    `per-hop latency, ${result.hops} hops, one message in flight (median / p90, ms)`,
    `${'size'.padStart(7)} ${'raw p50'.padStart(8)} ${'link p50'.padStart(8)} ${'ratio'.padStart(6)} ${'raw p90'.padStart(8)} ${'link p90'.padStart(8)} ${'n'.padStart(5)}`
  ]
  for (const r of result.results) {
    lines.push(
      `${`${r.sizeBytes / 1024} KiB`.padStart(7)} ${ms(r.rawMedianMs)} ${ms(r.peerLinkMedianMs)} ${r.ratio.toFixed(2).padStart(6)} ${ms(r.rawP90Ms)} ${ms(r.peerLinkP90Ms)} ${String(r.samples).padStart(5)}`
    )
  }
  const target = result.ratioAt16KiB
  lines.push(
    `ratio PeerLink/raw at 16 KiB: ${target === null ? 'n/a' : target.toFixed(2)} (target ≤ 1.25: ${target !== null && target <= 1.25 ? 'met' : 'NOT met'})`,
    `timer: ${result.crossOriginIsolated ? '5 µs (cross-origin isolated)' : '100 µs'}; ${result.userAgent}; ${(result.durationMs / 1000).toFixed(1)} s`
  )
  return lines.join('\n')
}

function parseArgs(argv: string[]): RawRelayBenchOptions {
  const options: RawRelayBenchOptions = {}
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = Number(argv[i + 1])
    const take = (name: string) => {
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`)
      i++
      return value
    }
    if (flag === '--hops') options.hops = take('--hops')
    else if (flag === '--rounds') options.rounds = take('--rounds')
    else if (flag === '--messages') options.messagesPerRound = take('--messages')
    else if (flag === '--warmup') options.warmup = take('--warmup')
    else if (flag === '--json' || flag === '--log') continue
    else throw new Error(`unknown argument ${flag}; known: --hops N --rounds N --messages N --warmup N --json --log`)
  }
  options.log = argv.includes('--log')
  return options
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2)
  runRawRelayBench(parseArgs(argv))
    .then((result) => {
      console.log(argv.includes('--json') ? JSON.stringify(result, null, 2) : formatRawRelayBench(result))
    })
    .catch((err: unknown) => {
      console.error(err)
      process.exitCode = 1
    })
}
