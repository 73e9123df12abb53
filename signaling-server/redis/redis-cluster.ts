// Everything `munro-signal --redis` adds: the shared registry, sessions and
// report policy, the socket.io adapter that carries signals and placement
// pushes to sockets on other processes, process leases with the sweep that
// takes over a dead process's peers, and the re-seed after Redis lost its
// data. TreeService sees only ClusterHooks.
import { randomUUID } from 'node:crypto'
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { TreeEnded } from '../../src/protocol/signaling.js'
import type { SignalingLimits } from '../limits.js'
import type { ReportPolicy } from '../report-policy.js'
import type { ClusterHooks, IoServer, TreeService } from '../trees.js'
import { ProcessLeases } from './process-leases.js'
import { RedisTreeRegistry } from './redis-registry.js'
import { RedisSessionStore } from './redis-sessions.js'

export interface RedisClusterOptions {
  /** redis://[user:password@]host:port[/db] */
  url: string
  /** Prefix of every key and channel, so several deployments can share one Redis. Default 'munro:'. */
  prefix?: string
  /** A process that has not renewed its lease for this long is dead; its peers are taken over. Default 10 s. */
  leaseMs?: number
  /** Ticket secret; default: one shared through Redis. */
  secret?: Uint8Array
}

export class RedisCluster {
  readonly processId = randomUUID()
  readonly registry: RedisTreeRegistry
  readonly sessions: RedisSessionStore
  readonly reportPolicy: ReportPolicy
  private readonly redis: Redis
  private readonly subscriber: Redis
  private readonly leases: ProcessLeases
  private readonly prefix: string
  private sweeper: ReturnType<typeof setInterval> | undefined
  private boot: string | undefined
  private trees: TreeService | undefined
  private closed = false

  constructor(
    options: RedisClusterOptions,
    limits: SignalingLimits,
    private readonly log: Logger
  ) {
    this.prefix = options.prefix ?? 'munro:'
    // Commands issued while Redis is away wait (a bounded number of retries) instead of failing at once.
    this.redis = new Redis(options.url, { maxRetriesPerRequest: 20, lazyConnect: false })
    this.subscriber = this.redis.duplicate()
    for (const client of [this.redis, this.subscriber]) client.on('error', (err) => this.log.warn({ err: err.message }, 'redis connection error'))
    this.leases = new ProcessLeases(this.redis, this.prefix, this.processId, options.leaseMs ?? 10_000)
    this.registry = new RedisTreeRegistry({
      redis: this.redis,
      subscriber: this.subscriber,
      processId: this.processId,
      prefix: this.prefix,
      policyLimits: limits,
      lingerMs: limits.resumeTtlMs,
      onHold: (treeId) => void this.leases.holdIn(treeId).catch(() => undefined)
    })
    this.sessions = new RedisSessionStore(this.redis, this.prefix, limits.resumeTtlMs, options.secret)
    this.reportPolicy = this.registry.reportPolicy()
  }

  /** Connects socket.io to the shared stream and starts leases, the sweep and the watch for a Redis that lost its data. */
  attach(io: IoServer, trees: TreeService): void {
    this.trees = trees
    io.adapter(createAdapter(this.redis, { streamName: `${this.prefix}sio`, maxLen: 50_000 }) as never)
    this.registry.on('ended', (treeId, reason, members) => trees.endedElsewhere(treeId, reason as TreeEnded['reason'], members))
    this.redis.on('ready', () => void this.checkBoot().catch((err) => this.log.error({ err }, 'redis re-seed failed')))
    void Promise.all([this.registry.start(), this.leases.start(), this.checkBoot()]).catch((err) => this.log.error({ err }, 'redis cluster start failed'))
    this.sweeper = setInterval(() => void this.sweep().catch((err) => this.log.warn({ err: err.message }, 'sweep failed')), Math.max(50, Math.floor(this.leases.leaseMs / 2)))
    this.sweeper.unref?.()
  }

  hooks(io: IoServer): ClusterHooks {
    return {
      io,
      refresh: (treeId) => this.registry.refresh(treeId),
      takeOver: (treeId, peerId, dead) => this.registry.takeOver(treeId, peerId, dead)
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.sweeper) clearInterval(this.sweeper)
    await this.leases.stop()
    this.registry.destroy()
    this.subscriber.disconnect()
    this.redis.disconnect()
  }

  /** Takes over the peers of processes whose lease expired. */
  private async sweep(): Promise<void> {
    if (!this.trees) return
    for (const dead of await this.leases.claimDead()) {
      for (const treeId of dead.trees) {
        const orphans = await this.registry.heldBy(treeId, dead.id)
        if (orphans.length) this.log.warn({ treeId, process: dead.id, peers: orphans.length }, 'a server process died; its peers are away until they resume')
        await this.trees.orphaned(treeId, orphans, dead.id)
      }
      await this.leases.swept(dead.id)
    }
  }

  /**
   * A boot marker tells whether Redis kept its data since this process last
   * saw it. If not (restarted without persistence), every tree this process
   * serves is written back from its replica (the first process wins), and
   * peers this process holds that the surviving log lacks are placed again.
   */
  private async checkBoot(): Promise<void> {
    const key = `${this.prefix}boot`
    await this.redis.set(key, randomUUID(), 'NX')
    const boot = (await this.redis.get(key)) ?? undefined
    const lost = this.boot !== undefined && boot !== this.boot
    this.boot = boot
    if (!lost || !this.trees) return
    this.log.warn('redis lost its data: re-seeding the trees this process serves')
    this.leases.forgetHeld()
    for (const treeId of this.registry.replicatedTrees()) {
      await this.registry.reseed(treeId)
      await this.trees.reconcile(treeId)
    }
  }
}
