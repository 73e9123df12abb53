// Resume tickets in Redis, so a peer may come back through any process.
// Same tickets as MemorySessionStore (sessions.ts): the store keeps each
// peer's current nonce; a departed peer's record (nonce, or none once
// revoked, and its last parent) expires with the resume TTL by itself.
// The MAC secret is shared through Redis unless one is given.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { ResumeTicket } from '../../src/protocol/signaling.js'
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.js'
import { orUnavailable } from './unavailable.js'
import { mintTicket, openTicket, type SessionStore, type TicketCheck } from '../sessions.js'

/** A present peer's record outlives any session by far; it only bounds what a lost revoke leaves behind. */
const PRESENT_TTL_MS = 24 * 3600_000

export class RedisSessionStore implements SessionStore {
  private secret: Promise<Uint8Array>

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    secret?: Uint8Array
  ) {
    this.secret = secret ? Promise.resolve(secret) : this.sharedSecret()
  }

  async issue(treeId: string, peerId: string): Promise<ResumeTicket> {
    const { ticket, nonce } = mintTicket(await this.secret, treeId, peerId)
    await orUnavailable(this.redis.set(this.key(treeId, peerId), JSON.stringify({ n: base64urlEncode(nonce) }), 'PX', PRESENT_TTL_MS))
    return ticket
  }

  async check(treeId: string, ticket: ResumeTicket): Promise<TicketCheck> {
    const nonce = openTicket(await this.secret, treeId, ticket)
    if (!nonce) return 'forged'
    const record = await this.record(treeId, ticket.peerId)
    if (!record) return 'unknown'
    if (record.n === null) return 'stale'
    const current = base64urlDecode(record.n)
    return current.length === nonce.length && timingSafeEqual(current, nonce) ? 'current' : 'stale'
  }

  async keep(treeId: string, peerId: string, lastParent: string | null): Promise<void> {
    const record = await this.record(treeId, peerId)
    if (!record || record.n === null) return
    await orUnavailable(this.redis.set(this.key(treeId, peerId), JSON.stringify({ n: record.n, lp: lastParent }), 'PX', this.ttlMs))
  }

  async lastParent(treeId: string, peerId: string): Promise<string | null> {
    return (await this.record(treeId, peerId))?.lp ?? null
  }

  async revoke(treeId: string, peerId: string): Promise<void> {
    await orUnavailable(this.redis.set(this.key(treeId, peerId), JSON.stringify({ n: null }), 'PX', this.ttlMs))
  }

  private key(treeId: string, peerId: string): string {
    return `${this.prefix}s:${treeId}/${peerId}`
  }

  private async record(treeId: string, peerId: string): Promise<{ n: string | null; lp?: string | null } | undefined> {
    const text = await orUnavailable(this.redis.get(this.key(treeId, peerId)))
    return text ? (JSON.parse(text) as { n: string | null; lp?: string | null }) : undefined
  }

  /** The first process to start picks the secret; the rest read it. */
  private async sharedSecret(): Promise<Uint8Array> {
    const key = `${this.prefix}secret`
    await orUnavailable(this.redis.set(key, base64urlEncode(randomBytes(32)), 'NX'))
    const value = await orUnavailable(this.redis.get(key))
    if (!value) throw new Error('the shared ticket secret vanished from Redis')
    return base64urlDecode(value)
  }
}
