// Overload sheds signals first. Signals are the bulk of the traffic and the
// only messages a peer can retry without harm; pings, joins and leaves keep
// the event loop when it is scarce, so no connection times out (and no tree
// ends) because the server was busy. Two gates: a global signals-per-second
// budget, and an event-loop lag probe that refuses every signal while the
// loop is late.
import { TokenBucket } from './rate-limit.js'

const PROBE_INTERVAL_MS = 50

export class LoadShedder {
  private readonly budget: TokenBucket
  private lagging = false
  private expected = performance.now() + PROBE_INTERVAL_MS
  private readonly probe: ReturnType<typeof setInterval>

  constructor(signalsPerSecond: number, private readonly maxLagMs: number) {
    // A quarter second of burst: enough for a join storm's offers, too little to starve pings.
    this.budget = new TokenBucket(signalsPerSecond, Math.max(1, Math.ceil(signalsPerSecond / 4)))
    this.probe = setInterval(() => {
      const now = performance.now()
      this.lagging = now - this.expected > this.maxLagMs
      this.expected = now + PROBE_INTERVAL_MS
    }, PROBE_INTERVAL_MS)
    this.probe.unref?.()
  }

  /** Whether one more signal may be relayed now. */
  admitSignal(): boolean {
    return !this.lagging && this.budget.take()
  }

  destroy(): void {
    clearInterval(this.probe)
  }
}
