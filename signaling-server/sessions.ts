// Peer sessions: resume tickets and grace timers.
//
// A resume ticket is 32 bytes: an 8-byte nonce and 24 bytes of
// HMAC-SHA256(secret, tree id, peer id, nonce). The store keeps the current
// nonce of every peer it issued a ticket to, so a ticket is rotated on every
// issue and an old or replayed one is refused. The MAC lets a server that has
// lost its state (a restart with the same secret) still tell a genuine ticket
// from an invented one, so peers keep their ids across a restart and the tree
// can be rebuilt from what they hold (see TreeService.join).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { ResumeTicket } from '../src/protocol/signaling.js'
import { base64urlDecode, base64urlEncode } from '../src/crypto/bytes.js'

/**
 * current: the peer's latest ticket. stale: a genuine ticket this store has
 * since rotated or revoked (a replay). unknown: genuine (the MAC holds) but
 * never issued by this store: it predates a restart. forged: the MAC fails.
 */
export type TicketCheck = 'current' | 'stale' | 'unknown' | 'forged'

export interface SessionStore {
  /** A new ticket for the peer; every earlier one becomes stale. */
  issue(treeId: string, peerId: string): Promise<ResumeTicket>
  check(treeId: string, ticket: ResumeTicket): Promise<TicketCheck>
  /** The peer left without a goodbye: its current ticket stays good for the TTL, and it should go back under `lastParent`. */
  keep(treeId: string, peerId: string, lastParent: string | null): Promise<void>
  lastParent(treeId: string, peerId: string): Promise<string | null>
  /** The peer is gone for good (left, evicted, tree ended): its tickets are refused until the TTL passes. */
  revoke(treeId: string, peerId: string): Promise<void>
}

const NONCE_BYTES = 8
const MAC_BYTES = 24

/** A fresh ticket for the peer and the nonce that identifies it (the store keeps the nonce). */
export function mintTicket(secret: Uint8Array, treeId: string, peerId: string): { ticket: ResumeTicket; nonce: Uint8Array } {
  const nonce = randomBytes(NONCE_BYTES)
  const token = new Uint8Array(NONCE_BYTES + MAC_BYTES)
  token.set(nonce)
  token.set(ticketMac(secret, treeId, peerId, nonce), NONCE_BYTES)
  return { ticket: { peerId, token: base64urlEncode(token) }, nonce }
}

/** The ticket's nonce if its MAC holds (it was minted with this secret for this tree and peer), else null (forged). */
export function openTicket(secret: Uint8Array, treeId: string, ticket: ResumeTicket): Uint8Array | null {
  const token = base64urlDecode(ticket.token)
  const nonce = token.subarray(0, NONCE_BYTES)
  if (token.length !== NONCE_BYTES + MAC_BYTES || !timingSafeEqual(token.subarray(NONCE_BYTES), ticketMac(secret, treeId, ticket.peerId, nonce))) return null
  return nonce
}

function ticketMac(secret: Uint8Array, treeId: string, peerId: string, nonce: Uint8Array): Uint8Array {
  return createHmac('sha256', secret).update(`munro-resume\n${treeId}\n${peerId}\n`).update(nonce).digest().subarray(0, MAC_BYTES)
}

/** A peer that left: its ticket's nonce (null once revoked) stays known until the TTL passes. */
interface DepartedRecord {
  nonce: string | null
  lastParent: string | null
  expiresAt: number
}

export class MemorySessionStore implements SessionStore {
  /**
   * treeId -> peerId -> current nonce (base64url), for peers in a tree. Held for
   * every peer, so kept small: nested maps share the peer id strings the tree
   * already holds, and a nonce as text costs a fraction of a Uint8Array. Comparing
   * nonces needs no constant time: the MAC over them was checked first.
   */
  private readonly present = new Map<string, Map<string, string>>()
  /** `treeId/peerId` -> record, oldest first, so the oldest go first when there are too many. */
  private readonly departed = new Map<string, DepartedRecord>()

  constructor(
    private readonly secret: Uint8Array,
    private readonly ttlMs: number,
    private readonly maxDeparted: number,
    private readonly now: () => number = Date.now
  ) {
    if (secret.length < 16) throw new RangeError('the session secret must be at least 16 bytes')
  }

  async issue(treeId: string, peerId: string): Promise<ResumeTicket> {
    const { ticket, nonce } = mintTicket(this.secret, treeId, peerId)
    this.departed.delete(`${treeId}/${peerId}`)
    let peers = this.present.get(treeId)
    if (!peers) this.present.set(treeId, (peers = new Map()))
    peers.set(peerId, base64urlEncode(nonce))
    return ticket
  }

  async check(treeId: string, ticket: ResumeTicket): Promise<TicketCheck> {
    const nonce = openTicket(this.secret, treeId, ticket)
    if (!nonce) return 'forged'
    const current = this.present.get(treeId)?.get(ticket.peerId) ?? this.departedRecord(`${treeId}/${ticket.peerId}`)?.nonce
    if (current === undefined) return 'unknown'
    return current === base64urlEncode(nonce) ? 'current' : 'stale'
  }

  async keep(treeId: string, peerId: string, lastParent: string | null): Promise<void> {
    const nonce = this.takePresent(treeId, peerId)
    if (nonce === undefined) return
    this.depart(`${treeId}/${peerId}`, { nonce, lastParent, expiresAt: this.now() + this.ttlMs })
  }

  async lastParent(treeId: string, peerId: string): Promise<string | null> {
    return this.departedRecord(`${treeId}/${peerId}`)?.lastParent ?? null
  }

  async revoke(treeId: string, peerId: string): Promise<void> {
    this.takePresent(treeId, peerId)
    this.depart(`${treeId}/${peerId}`, { nonce: null, lastParent: null, expiresAt: this.now() + this.ttlMs })
  }

  /** Records held, present and departed (for tests of boundedness). */
  get size(): number {
    let n = this.departed.size
    for (const peers of this.present.values()) n += peers.size
    return n
  }

  /** Removes a present peer's nonce and returns it. */
  private takePresent(treeId: string, peerId: string): string | undefined {
    const peers = this.present.get(treeId)
    const nonce = peers?.get(peerId)
    if (nonce === undefined) return undefined
    peers!.delete(peerId)
    if (peers!.size === 0) this.present.delete(treeId)
    return nonce
  }

  private departedRecord(key: string): DepartedRecord | undefined {
    const record = this.departed.get(key)
    if (record && record.expiresAt <= this.now()) {
      this.departed.delete(key)
      return undefined
    }
    return record
  }

  private depart(key: string, record: DepartedRecord): void {
    this.departed.delete(key)
    this.departed.set(key, record)
    // Oldest first, and every record gets the same TTL: the expired ones lead. Dropping them here keeps churn from
    // filling the store up to maxDeparted with records nobody can use any more.
    const now = this.now()
    for (const [k, r] of this.departed) {
      if (this.departed.size <= this.maxDeparted && r.expiresAt > now) break
      this.departed.delete(k)
    }
  }
}

/** One-shot timers by key (source grace, detach grace, recovery windows): local to a process by nature. */
export class GraceTimers {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>()

  start(key: string, ms: number, fire: () => void): void {
    this.cancel(key)
    const timer = setTimeout(() => {
      this.timers.delete(key)
      fire()
    }, ms)
    timer.unref?.()
    this.timers.set(key, timer)
  }

  /** Stops the timer; true if one was running. */
  cancel(key: string): boolean {
    const timer = this.timers.get(key)
    if (!timer) return false
    clearTimeout(timer)
    this.timers.delete(key)
    return true
  }

  destroy(): void {
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
  }
}
