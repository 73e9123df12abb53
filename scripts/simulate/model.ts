// The workload and delay model of the churn simulation: who arrives, how long
// they stay, what their links can do. Pure functions of a seeded PRNG.
//
// Session lengths are log-normal. Measurement studies of live-streaming
// audiences find viewer sessions heavy-tailed, most of them a few minutes
// (channel surfing) and a few lasting the whole event, fitted either by a
// log-normal or a Pareto tail. We use the log-normal: it fits the body as
// well as the tail (a Pareto only fits above a cut-off), all its moments are
// finite so an hour of simulated churn settles on stable averages (a Pareto
// with shape < 2 has infinite variance and never does), and its stationary
// state is exact to start from (the length-biased law of a log-normal is
// again log-normal). Like the data, its hazard falls with age: a viewer who
// has stayed long is likely to stay longer, which is what the stable-first
// policy bets on. A Pareto would favour that policy even more. Parameters:
// median 5 min, sigma 1.6, so the mean is 18 min and 5 % stay over 70 min.

export interface Workload {
  /** Session length: log-normal median (s) and sigma. */
  sessionMedianS: number
  sessionSigma: number
  /** Upload capacity of a viewer: log-normal median (kbit/s) and sigma. */
  uploadMedianKbps: number
  uploadSigma: number
  /** One-way latency of a viewer's link to its parent: log-normal median (ms) and sigma. */
  latencyMedianMs: number
  latencySigma: number
  /** Share of sessions whose connection drops once, at a uniformly random moment. */
  dropShare: number
  /** How long a dropped connection stays away: log-normal median (s) and sigma. */
  awayMedianS: number
  awaySigma: number
  /** The server's detach grace: away longer than this and the peer is removed, then re-placed under its old parent if it has room. */
  graceS: number
  /** Reports of an unresponsive parent, per peer and hour. */
  reportsPerPeerHour: number
  /** Stream bitrate (kbit/s): a parent whose upload is below children x bitrate cannot feed them (they starve). */
  bitrateKbps: number
  /** Frame size on the data channel: a parent sends each frame to its children one after the other. */
  frameBytes: number
  sourceUploadKbps: number
  /** Verify-and-forward time per hop (ms). */
  relayMs: number
}

export const DEFAULT_WORKLOAD: Workload = {
  sessionMedianS: 300,
  sessionSigma: 1.6,
  uploadMedianKbps: 20_000,
  uploadSigma: 1,
  latencyMedianMs: 25,
  latencySigma: 0.6,
  dropShare: 0.2,
  awayMedianS: 2,
  awaySigma: 1,
  graceS: 3,
  reportsPerPeerHour: 0.2,
  bitrateKbps: 2_500,
  frameBytes: 16_384,
  sourceUploadKbps: 100_000,
  relayMs: 2
}

/** Standard normal draw (Box-Muller; one of the pair is dropped so draws stay in lockstep). */
export function normal(rand: () => number): number {
  const u = 1 - rand() // (0, 1]: log(0) is -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand())
}

export function logNormal(rand: () => number, median: number, sigma: number): number {
  return median * Math.exp(sigma * normal(rand))
}

export function logNormalMean(median: number, sigma: number): number {
  return median * Math.exp((sigma * sigma) / 2)
}

/** Exponential inter-arrival time for a Poisson process of `rate` per second. */
export function exponential(rand: () => number, rate: number): number {
  return -Math.log(1 - rand()) / rate
}

/**
 * Hop delay (ms) from a parent to one of its children: the child's link
 * latency, the relay's verify-and-forward time, and the time the parent's
 * uplink needs to send one frame to each of its children in turn (the last
 * child waits for all of them). kbit/s is bit/ms, so bits / kbps is ms.
 */
export function hopDelayMs(w: Workload, parentUploadKbps: number, parentChildren: number, childLatencyMs: number): number {
  return childLatencyMs + w.relayMs + (parentChildren * w.frameBytes * 8) / parentUploadKbps
}

/** Whether a parent's uplink can carry the stream to all its children. */
export function canFeed(w: Workload, uploadKbps: number, children: number): boolean {
  return uploadKbps >= children * w.bitrateKbps
}

/** p-quantile (0..1) of an ascending array, nearest rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}
