// Which server processes are alive. Each holds a lease key that expires
// unless renewed; a process whose lease is gone is dead, and one surviving
// process (whoever claims the sweep first) takes over the peers it held, in
// the trees it recorded holding peers in.
import type { Redis } from 'ioredis'

export interface DeadProcess {
  id: string
  /** Trees in which it held peers. */
  trees: string[]
}

export class ProcessLeases {
  private timer: ReturnType<typeof setInterval> | undefined
  private readonly held = new Set<string>()

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly processId: string,
    readonly leaseMs: number
  ) {}

  private leaseKey = (id: string) => `${this.prefix}proc:${id}`
  private treesKey = (id: string) => `${this.prefix}proc:${id}:trees`
  private get allKey(): string {
    return `${this.prefix}procs`
  }

  /** Takes the lease and renews it every third of its length. */
  async start(): Promise<void> {
    await this.renew()
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(50, Math.floor(this.leaseMs / 3)))
    this.timer.unref?.()
  }

  /** Records that this process holds peers of `treeId` (once per tree). */
  async holdIn(treeId: string): Promise<void> {
    if (this.held.has(treeId)) return
    this.held.add(treeId)
    await this.redis.sadd(this.treesKey(this.processId), treeId)
  }

  /** Processes whose lease expired, each claimed for this process to sweep (no other process gets the same one). */
  async claimDead(): Promise<DeadProcess[]> {
    const out: DeadProcess[] = []
    for (const id of await this.redis.smembers(this.allKey)) {
      if (id === this.processId || (await this.redis.exists(this.leaseKey(id)))) continue
      if (!(await this.redis.set(`${this.prefix}sweep:${id}`, this.processId, 'PX', this.leaseMs * 4, 'NX'))) continue
      out.push({ id, trees: await this.redis.smembers(this.treesKey(id)) })
    }
    return out
  }

  /** Its peers are taken over: forget the dead process. */
  async swept(id: string): Promise<void> {
    await this.redis.multi().del(this.treesKey(id)).srem(this.allKey, id).exec()
  }

  /** A clean shutdown: the lease goes at once (peers still held are then swept like a crash's). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.redis.del(this.leaseKey(this.processId)).catch(() => undefined)
  }

  /** Redis lost its data (restarted without persistence): record the trees again as peers are re-placed. */
  forgetHeld(): void {
    this.held.clear()
  }

  /** Also re-registers the process, which matters only after Redis lost its data. */
  private async renew(): Promise<void> {
    await this.redis.multi().set(this.leaseKey(this.processId), '1', 'PX', this.leaseMs).sadd(this.allKey, this.processId).exec()
  }
}
