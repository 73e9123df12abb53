// Per-hop latency through the munro SDK against a raw RTCDataChannel relay
// chain, both in one Chromium page and one run (see sdk-relay-browser.page.ts),
// plus the time from joinTree() to the first verified message.
// Project target: SDK / raw per-hop latency at 16 KiB chunks ≤ 1.25.
//
//   bash scripts/netns.sh node --import tsx bench/sdk-relay-browser.ts [--hops 4] [--rounds 4] [--messages 30] [--joins 7] [--json]
//
// Per-hop latency of a message = its arrival at hop d minus its arrival at hop
// d-1, for d = 2..N (both chains). Arrival: the SDK viewer's `message` event;
// the raw relay's onmessage for the message's last piece (after forwarding it,
// as the SDK forwards before it delivers). The first hop (source -> v1) is left
// out: for the SDK it includes hashing and signing at the source.
import { pathToFileURL } from 'node:url'
import { startServer } from '../test/helpers/signaling.js'
import { CROSS_ORIGIN_ISOLATION_HEADERS, assertIsolatedNetwork, pageApi, startHarness } from '../test/browser/harness.js'
import type { CDPSession } from 'playwright-core'
import { quantile } from './raw-relay-browser.js'
import type { CryptoProbe, JoinTiming, RawStages, RelayBenchOptions, SdkRelayPageApi, SdkStages, Trip } from './sdk-relay-browser.page.js'

export interface SdkRelayBenchOptions {
  /** Hops per chain (viewers in the SDK chain); per-hop figures come from hops 2..N. Default 4. */
  hops?: number
  /** Nominal message sizes in bytes. Default 1 KiB, 16 KiB (one full chunk), 64 KiB. */
  sizes?: number[]
  messagesPerRound?: number
  rounds?: number
  warmup?: number
  /** One message starts every intervalMs. Default 25. */
  intervalMs?: number
  /** Chunks per munro. Default 32 (the SDK's default). */
  munroSpan?: number
  /** Instrumented messages per size and chain for the stage breakdown (0: none). Default 40. */
  profileMessages?: number
  /** Joins timed from joinTree() to the first message (each from a fresh page). Default 7. */
  joins?: number
  /** Print the pages' console (debugging). */
  log?: boolean
  /**
   * The page entry. Default bench/sdk-relay-browser.page.ts. For A/B trials of
   * an SDK change without editing src/: an entry that patches SDK prototypes
   * and then imports the default page.
   */
  pageEntry?: string
}

export interface Spread {
  p50: number
  p90: number
  n: number
}

export interface SdkRelaySizeResult {
  /** Nominal size in bytes. */
  sizeBytes: number
  /** What each chain sent: raw bytes in 16 KiB pieces; SDK message bytes in chunks. */
  rawBytes: number
  rawPieces: number
  sdkBytes: number
  sdkChunks: number
  /** Per-hop latency, hops 2..N, ms. */
  raw: Spread
  sdk: Spread
  /** sdk.p50 / raw.p50 */
  ratio: number
  /** Hop 1, for information: raw send -> hop 1; SDK write+flush -> v1 (includes hashing and signing). */
  firstHopRaw: Spread
  firstHopSdk: Spread
  /**
   * Main-thread CPU (Chromium TaskDuration) per message over the whole chain
   * (source + every hop, plus the page's idle housekeeping), ms; null without a reading.
   */
  cpuPerMessageRaw: number | null
  cpuPerMessageSdk: number | null
}

/**
 * Medians over instrumented hops (2..N; forwarding hops 2..N-1 where a
 * stage needs a forward), ms. Each is a median of per-sample durations.
 */
export interface StageBreakdown {
  /** Nominal message size. */
  sizeBytes: number
  rawSamples: number
  sdkSamples: number
  raw: {
    /** Previous hop's send() returned -> onmessage starts here. */
    transit: number
    /** onmessage starts -> send() to the next hop returned. */
    forward: number
    /** Previous hop's send() returned -> this hop's send() returned. */
    hop: number
  }
  sdk: {
    /** Previous viewer's send() of the CHUNK frame returned -> the MUNRO frame (sent just before it), decoded, reaches Ingest.push. */
    munroTransit: number
    /** Previous viewer's send() of the MUNRO frame returned -> it reaches Ingest.push here: its own transit. */
    munroOwnTransit: number
    /** The MUNRO frame's signature check (acceptMunro), call to verdict. */
    signatureCheck: number
    /** Previous viewer's send() of the CHUNK frame returned -> the frame, decoded, reaches Ingest.push. */
    transit: number
    /** CHUNK at Ingest.push -> acceptChunk() called (waits for the munro's check and earlier frames). */
    waitForMunro: number
    /** acceptChunk(): leaf SHA-256 + proof check. */
    chunkVerify: number
    /** Chunk verified -> the send() burst that carries it begins (buffer add, pump). */
    toForward: number
    /** Burst begins -> send() of the CHUNK frame begins (the MUNRO frame's send(), pump). */
    beforeChunkSend: number
    /** send() of the CHUNK frame. */
    chunkSend: number
    /** Both: the whole burst. */
    forward: number
    /** Previous viewer's chunk send() returned -> this viewer's chunk send() returned. */
    hop: number
    /** This viewer's chunk send() returned -> its `message` event. */
    deliverAfterForward: number
  }
}

export interface JoinResult {
  samples: JoinTiming[]
  firstMessage: Spread
  placedP50: number
  connectedP50: number
  /** How often the first message was a start point. */
  startPoints: number
}

export interface SdkRelayBenchResult {
  hops: number
  measuredHops: number
  intervalMs: number
  munroSpan: number
  results: SdkRelaySizeResult[]
  /** The project's target metric (≤ 1.25). */
  ratioAt16KiB: number | null
  /** One per size, when profileMessages > 0. */
  breakdown: StageBreakdown[]
  join: JoinResult | null
  /** Where this Chromium's WebCrypto does its work (medians, ms). */
  crypto: CryptoProbe | null
  crossOriginIsolated: boolean
  userAgent: string
  pageErrors: string[]
  durationMs: number
}

export const SDK_RELAY_DEFAULTS = {
  hops: 4,
  sizes: [1024, 16 * 1024, 64 * 1024],
  messagesPerRound: 40,
  rounds: 6,
  warmup: 10,
  intervalMs: 25,
  munroSpan: 32,
  profileMessages: 40,
  joins: 7
} as const

function spread(values: number[]): Spread {
  return { p50: quantile(values, 0.5), p90: quantile(values, 0.9), n: values.length }
}

/** Hop-to-hop differences of arrival times, hops 2..N, pooled over messages. */
function perHop(trips: Trip[]): number[] {
  const out: number[] = []
  for (const { arrivals } of trips) for (let d = 1; d < arrivals.length; d++) out.push(arrivals[d]! - arrivals[d - 1]!)
  return out
}

function firstHop(trips: Trip[]): number[] {
  return trips.map((t) => t.arrivals[0]! - t.sentAt)
}

function summarizeStages(sizeBytes: number, raw: RawStages[], sdk: SdkStages[]): StageBreakdown | null {
  if (raw.length === 0 || sdk.length === 0) return null
  const med = <T>(rows: T[], f: (s: T) => number) => quantile(rows.map(f).filter(Number.isFinite), 0.5)
  return {
    sizeBytes,
    rawSamples: raw.length,
    sdkSamples: sdk.length,
    raw: {
      transit: med(raw, (s) => s.received),
      forward: med(raw, (s) => s.forwarded - s.received),
      hop: med(raw, (s) => s.forwarded)
    },
    sdk: {
      transit: med(sdk, (s) => s.chunkPushed),
      munroTransit: med(sdk, (s) => s.munroPushed),
      munroOwnTransit: med(sdk, (s) => s.munroTransit),
      signatureCheck: med(sdk, (s) => s.munroVerifyEnd - s.munroVerifyStart),
      waitForMunro: med(sdk, (s) => s.chunkVerifyStart - s.chunkPushed),
      chunkVerify: med(sdk, (s) => s.chunkVerifyEnd - s.chunkVerifyStart),
      toForward: med(sdk, (s) => s.forwardStart - s.chunkVerifyEnd),
      beforeChunkSend: med(sdk, (s) => s.chunkSendStart - s.forwardStart),
      chunkSend: med(sdk, (s) => s.forwarded - s.chunkSendStart),
      forward: med(sdk, (s) => s.forwarded - s.forwardStart),
      hop: med(sdk, (s) => s.forwarded),
      deliverAfterForward: med(sdk, (s) => s.delivered - s.forwarded)
    }
  }
}

/** Starts a signaling server and Chromium, runs both chains in one page, then the join bench. */
export async function runSdkRelayBench(opts: SdkRelayBenchOptions = {}): Promise<SdkRelayBenchResult> {
  assertIsolatedNetwork()
  const D = SDK_RELAY_DEFAULTS
  const o = {
    hops: opts.hops ?? D.hops,
    sizes: opts.sizes ?? [...D.sizes],
    messagesPerRound: opts.messagesPerRound ?? D.messagesPerRound,
    rounds: opts.rounds ?? D.rounds,
    warmup: opts.warmup ?? D.warmup,
    intervalMs: opts.intervalMs ?? D.intervalMs,
    munroSpan: opts.munroSpan ?? D.munroSpan,
    profileMessages: opts.profileMessages ?? D.profileMessages,
    joins: opts.joins ?? D.joins,
    pageEntry: opts.pageEntry ?? 'bench/sdk-relay-browser.page.ts'
  }
  if (o.hops < 2) throw new Error('hops must be at least 2: per-hop figures come from hops 2..N')
  const started = performance.now()
  const server = await startServer()
  try {
    const harness = await startHarness(
      { bench: o.pageEntry },
      { minify: true, headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } }
    )
    try {
      const log = opts.log ?? false
      // The page asks for its main thread's task time around each block of
      // trips: CDP Performance.getMetrics, TaskDuration (seconds, cumulative).
      let cdp: CDPSession | undefined
      const main = await harness.open('bench', {
        log,
        beforeLoad: (page) =>
          page.exposeFunction('munroBenchCpuMs', async () => {
            const { metrics } = (await cdp!.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }
            return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? Number.NaN) * 1000
          })
      })
      cdp = await main.context.newCDPSession(main.page)
      await cdp.send('Performance.enable')
      main.page.setDefaultTimeout(0)
      const call = pageApi<SdkRelayPageApi>(main.page, 'munroSdkBench')
      const relayOptions: RelayBenchOptions = {
        url: server.url,
        hops: o.hops,
        sizes: [...o.sizes],
        messagesPerRound: o.messagesPerRound,
        rounds: o.rounds,
        warmup: o.warmup,
        intervalMs: o.intervalMs,
        munroSpan: o.munroSpan,
        profileMessages: o.profileMessages
      }
      const samples = await call('runRelayBench', relayOptions)
      const crypto = o.profileMessages > 0 ? await call('cryptoProbe', 100) : null
      const results = samples.plans.map((plan): SdkRelaySizeResult => {
        const raw = spread(perHop(samples.raw[plan.nominal] ?? []))
        const sdk = spread(perHop(samples.sdk[plan.nominal] ?? []))
        const cpu = samples.cpu?.[plan.nominal]
        return {
          cpuPerMessageRaw: cpu ? cpu.rawMs / cpu.messages : null,
          cpuPerMessageSdk: cpu ? cpu.sdkMs / cpu.messages : null,
          sizeBytes: plan.nominal,
          rawBytes: plan.rawBytes,
          rawPieces: plan.rawPieces,
          sdkBytes: plan.sdkBytes,
          sdkChunks: plan.sdkChunks,
          raw,
          sdk,
          ratio: sdk.p50 / raw.p50,
          firstHopRaw: spread(firstHop(samples.raw[plan.nominal] ?? [])),
          firstHopSdk: spread(firstHop(samples.sdk[plan.nominal] ?? []))
        }
      })

      let join: JoinResult | null = null
      const joinErrors: string[] = []
      if (o.joins > 0) {
        const treeId = await call('startJoinSource', server.url, o.joins + 1, 50)
        try {
          const timings: JoinTiming[] = []
          for (let i = 0; i < o.joins; i++) {
            // A fresh browser context per join: cold page, own socket, own renderer.
            const viewerPage = await harness.open('bench', { log })
            viewerPage.page.setDefaultTimeout(0)
            try {
              timings.push(await pageApi<SdkRelayPageApi>(viewerPage.page, 'munroSdkBench')('joinOnce', server.url, treeId))
            } finally {
              joinErrors.push(...viewerPage.errors)
              await viewerPage.close()
            }
          }
          join = {
            samples: timings,
            firstMessage: spread(timings.map((t) => t.firstMessageMs)),
            placedP50: quantile(timings.map((t) => t.placedMs), 0.5),
            connectedP50: quantile(timings.map((t) => t.connectedMs), 0.5),
            startPoints: timings.filter((t) => t.startPoint).length
          }
        } finally {
          await call('stopJoinSource')
        }
      }
      return {
        hops: o.hops,
        measuredHops: o.hops - 1,
        intervalMs: o.intervalMs,
        munroSpan: o.munroSpan,
        results,
        ratioAt16KiB: results.find((r) => r.sizeBytes === 16 * 1024)?.ratio ?? null,
        breakdown: samples.plans
          .map((plan) => summarizeStages(plan.nominal, samples.profile[plan.nominal]?.raw ?? [], samples.profile[plan.nominal]?.sdk ?? []))
          .filter((b): b is StageBreakdown => b !== null),
        join,
        crypto,
        crossOriginIsolated: samples.crossOriginIsolated,
        userAgent: samples.userAgent,
        pageErrors: [...new Set([...main.errors, ...joinErrors])],
        durationMs: performance.now() - started
      }
    } finally {
      await harness.close()
    }
  } finally {
    await server.close()
  }
}

export function formatSdkRelayBench(result: SdkRelayBenchResult): string {
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a')
  const size = (bytes: number) => `${bytes / 1024} KiB`
  const lines = [
    `Per-hop latency in Chromium, SDK chain vs raw RTCDataChannel relay chain, same page, same run: ${result.hops} hops each, ` +
      `hops 2..${result.hops} measured (hop 1 excluded: for the SDK it includes the source's hashing and signing). ` +
      `One message in flight, one every ${result.intervalMs} ms; munroSpan ${result.munroSpan}, flush() after each write.`,
    '',
    '| message | raw p50 ms | SDK p50 ms | SDK/raw | raw p90 ms | SDK p90 ms | samples | SDK chunks |',
    '|---|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const r of result.results) {
    lines.push(
      `| ${size(r.sizeBytes)} | ${ms(r.raw.p50)} | ${ms(r.sdk.p50)} | ${r.ratio.toFixed(2)} | ${ms(r.raw.p90)} | ${ms(r.sdk.p90)} | ${Math.min(r.raw.n, r.sdk.n)} | ${r.sdkChunks} |`
    )
  }
  const target = result.ratioAt16KiB
  lines.push(
    '',
    `SDK/raw at 16 KiB: ${target === null ? 'n/a' : target.toFixed(2)} (target ≤ 1.25: ${target !== null && target <= 1.25 ? 'met' : 'NOT met'}). ` +
      `16 KiB = one full frame: raw sends 16384 bytes, the SDK a ${result.results.find((r) => r.sizeBytes === 16384)?.sdkBytes ?? '?'}-byte message (one CHUNK frame after a MUNRO frame; its one-chunk munro has span 1, so the frame is 16384 bytes less its unused proof). ` +
      `64 KiB: raw sends four 16 KiB pieces, the SDK five chunks; time to the whole message.`,
    `Main-thread CPU per message, whole chain (source + ${result.hops} hops; Chromium TaskDuration over the timed rounds): ` +
      result.results.map((r) => `${size(r.sizeBytes)} raw ${ms(r.cpuPerMessageRaw ?? Number.NaN)} / SDK ${ms(r.cpuPerMessageSdk ?? Number.NaN)} ms`).join('; ') +
      '.',
    `Hop 1 p50 (not in the ratio): ${result.results.map((r) => `${size(r.sizeBytes)} raw ${ms(r.firstHopRaw.p50)} / SDK ${ms(r.firstHopSdk.p50)} ms`).join('; ')}.`
  )
  const bs = result.breakdown
  if (bs.length > 0) {
    const row = (label: string, raw: (b: StageBreakdown) => string, sdk: (b: StageBreakdown) => string) =>
      `| ${label} | ${bs.map((b) => `${raw(b)} | ${sdk(b)}`).join(' | ')} |`
    const none = () => '–'
    lines.push(
      '',
      `Where a hop's time goes (instrumented trips after the timed rounds, chains alternating; medians of per-hop durations in ms over ` +
        `${bs.map((b) => `${b.rawSamples}/${b.sdkSamples}`).join(', ')} raw/SDK hop samples; forwarding rows: hops 2..${result.hops - 1}; ` +
        `for a multi-piece message, the stages of its last piece):`,
      '',
      `| stage | ${bs.map((b) => `${size(b.sizeBytes)} raw | ${size(b.sizeBytes)} SDK`).join(' | ')} |`,
      `|---|${bs.map(() => '---:|---:').join('|')}|`,
      row("SDK: MUNRO frame in (decoded, at Ingest.push), after the previous hop's send() of the (last) chunk returned (< 0: it came earlier)", none, (b) => ms(b.sdk.munroTransit)),
      row("SDK: the MUNRO frame's own transit (previous hop's send() of it returned → at Ingest.push here)", none, (b) => ms(b.sdk.munroOwnTransit)),
      row('SDK: its signature check (acceptMunro)', none, (b) => ms(b.sdk.signatureCheck)),
      row("transit: previous hop's send() returned → (last) frame in JS here (SDK: CHUNK decoded, at Ingest.push)", (b) => ms(b.raw.transit), (b) => ms(b.sdk.transit)),
      row("CHUNK at Ingest.push → acceptChunk() (waits for the munro's check)", none, (b) => ms(b.sdk.waitForMunro)),
      row('verify the chunk (leaf SHA-256 + proof)', none, (b) => ms(b.sdk.chunkVerify)),
      row('verified → send() burst begins (buffer, pump)', none, (b) => ms(b.sdk.toForward)),
      row('  burst → CHUNK send() (MUNRO frame send(), pump)', none, (b) => ms(b.sdk.beforeChunkSend)),
      row('  send() of the (last) CHUNK frame / raw piece', (b) => ms(b.raw.forward), (b) => ms(b.sdk.chunkSend)),
      row("**hop: previous hop's send() returned → this hop's send() returned**", (b) => `**${ms(b.raw.hop)}**`, (b) => `**${ms(b.sdk.hop)}**`),
      row('after the forward: reassemble, `message` event', none, (b) => ms(b.sdk.deliverAfterForward))
    )
  }
  const c = result.crypto
  if (c) {
    lines.push(
      '',
      `WebCrypto in this Chromium (medians, ms; "returns" = the call's synchronous part, "settles" = until its promise resolves): ` +
        `Ed25519 verify returns ${ms(c.verifySyncMs)}, settles ${ms(c.verifyTotalMs)}; the SDK's verifySignature() settles ${ms(c.sdkVerifyTotalMs)}; ` +
        `SHA-256 of 16 KiB returns ${ms(c.digestSyncMs)}, settles ${ms(c.digestTotalMs)}.`
    )
  }
  const j = result.join
  if (j) {
    lines.push(
      '',
      `Join to first verified message (${j.samples.length} joins, each from a fresh page; source writes 1 KiB every 50 ms, a start point every 10th): ` +
        `median ${ms(j.firstMessage.p50)} ms, p90 ${ms(j.firstMessage.p90)} ms (medians: placed ${ms(j.placedP50)} ms, parent link open ${ms(j.connectedP50)} ms; ` +
        `first message a start point in ${j.startPoints}/${j.samples.length}; ` +
        `all: ${j.samples.map((s) => s.firstMessageMs.toFixed(0)).join(', ')} ms).`
    )
  }
  lines.push(
    '',
    `timer: ${result.crossOriginIsolated ? '5 µs (cross-origin isolated)' : '100 µs'}; ${result.userAgent}; ${(result.durationMs / 1000).toFixed(1)} s` +
      (result.pageErrors.length > 0 ? `\npage errors:\n${result.pageErrors.join('\n')}` : '')
  )
  return lines.join('\n')
}

function parseArgs(argv: string[]): SdkRelayBenchOptions {
  const options: SdkRelayBenchOptions = {}
  const ints: Record<string, keyof SdkRelayBenchOptions> = {
    '--hops': 'hops',
    '--rounds': 'rounds',
    '--messages': 'messagesPerRound',
    '--warmup': 'warmup',
    '--interval': 'intervalMs',
    '--span': 'munroSpan',
    '--profile': 'profileMessages',
    '--joins': 'joins'
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--json' || flag === '--log') continue
    const key = ints[flag]
    if (key === undefined) throw new Error(`unknown argument ${flag}; known: ${Object.keys(ints).join(' ')} --json --log`)
    const value = Number(argv[++i])
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} needs a non-negative integer`)
    ;(options as Record<string, number>)[key] = value
  }
  options.log = argv.includes('--log')
  return options
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2)
  runSdkRelayBench(parseArgs(argv))
    .then((result) => {
      console.log(argv.includes('--json') ? JSON.stringify(result, null, 2) : formatSdkRelayBench(result))
    })
    .catch((err: unknown) => {
      console.error(err)
      process.exitCode = 1
    })
}
