// The Redis side of a tree: an append-only list of operations and an epoch
// (a random id given at creation), changed only by two Lua scripts, which
// Redis runs atomically. An append states the log length its writer has
// applied; if anyone appended since, nothing is written and the writer gets
// the entries it missed, replays them and tries again (compare-and-append).
// That is the whole cross-process atomicity: two processes placing at the
// same moment are ordered by Redis, and each decides on the full history.
import type { Redis } from 'ioredis'
import { orUnavailable } from './unavailable.js'

/** KEYS: log, epoch. ARGV: epoch, length applied, op, channel, notice. */
const APPEND = `
local epoch = redis.call('GET', KEYS[2])
if epoch ~= ARGV[1] then return {'epoch', epoch or ''} end
local n = redis.call('LLEN', KEYS[1])
if n ~= tonumber(ARGV[2]) then return {'behind', redis.call('LRANGE', KEYS[1], ARGV[2], -1)} end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ' ' .. (n + 1))
return {'ok', n + 1}
`

/** KEYS: log, epoch, tree set. ARGV: epoch, first op, tree id. Creates the tree unless it exists. */
const CREATE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return 1
`

export type AppendOutcome = { kind: 'ok' } | { kind: 'behind'; missed: string[] } | { kind: 'epoch'; current: string }

interface LogCommands {
  munroAppend(log: string, epoch: string, expectEpoch: string, applied: number, op: string, channel: string, notice: string): Promise<[string, unknown]>
  munroCreate(log: string, epoch: string, trees: string, newEpoch: string, op: string, treeId: string): Promise<number>
}

export class TreeLog {
  readonly channel: string
  private readonly cmd: Redis & LogCommands

  constructor(
    redis: Redis,
    private readonly prefix: string
  ) {
    redis.defineCommand('munroAppend', { numberOfKeys: 2, lua: APPEND })
    redis.defineCommand('munroCreate', { numberOfKeys: 3, lua: CREATE })
    this.cmd = redis as Redis & LogCommands
    this.channel = `${prefix}log`
  }

  private logKey = (treeId: string) => `${this.prefix}t:{${treeId}}:log`
  private epochKey = (treeId: string) => `${this.prefix}t:{${treeId}}:epoch`
  get treesKey(): string {
    return `${this.prefix}trees`
  }

  /** false if a tree with that id exists. */
  async create(treeId: string, epoch: string, op: string): Promise<boolean> {
    return (await orUnavailable(this.cmd.munroCreate(this.logKey(treeId), this.epochKey(treeId), this.treesKey, epoch, op, treeId))) === 1
  }

  async append(treeId: string, epoch: string, applied: number, op: string): Promise<AppendOutcome> {
    const [kind, data] = await orUnavailable(this.cmd.munroAppend(this.logKey(treeId), this.epochKey(treeId), epoch, applied, op, this.channel, treeId))
    if (kind === 'ok') return { kind }
    if (kind === 'behind') return { kind, missed: data as string[] }
    return { kind: 'epoch', current: data as string }
  }

  /** The epoch and the entries from `from` on, read together; undefined when the tree is not in Redis. */
  async read(treeId: string, from: number): Promise<{ epoch: string; entries: string[] } | undefined> {
    const results = await orUnavailable(this.cmd.multi().get(this.epochKey(treeId)).lrange(this.logKey(treeId), from, -1).exec())
    const epoch = results?.[0]?.[1] as string | null
    if (!epoch) return undefined
    return { epoch, entries: (results?.[1]?.[1] as string[]) ?? [] }
  }

  /** An ended tree's keys linger a little, so processes still replaying can read its end. */
  async retire(treeId: string, lingerMs: number): Promise<void> {
    await orUnavailable(this.cmd.multi().pexpire(this.logKey(treeId), lingerMs).pexpire(this.epochKey(treeId), lingerMs).srem(this.treesKey, treeId).exec())
  }

  treeCount(): Promise<number> {
    return orUnavailable(this.cmd.scard(this.treesKey))
  }
}
