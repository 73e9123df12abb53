import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { MemorySessionStore } from '../../../signaling-server/sessions.js'

const T = 'T'.repeat(43)

describe('MemorySessionStore', () => {
  it('rotates tickets: the newest is current, every earlier one stale, a tampered one forged', async () => {
    const store = new MemorySessionStore(randomBytes(32), 30_000, 10)
    const first = await store.issue(T, 'p')
    expect(await store.check(T, first)).toBe('current')
    const second = await store.issue(T, 'p')
    expect(await store.check(T, first)).toBe('stale')
    expect(await store.check(T, second)).toBe('current')
    const tampered = { ...second, token: (second.token[0] === 'A' ? 'B' : 'A') + second.token.slice(1) }
    expect(await store.check(T, tampered)).toBe('forged')
    expect(await store.check('U'.repeat(43), second)).toBe('forged')
    expect(await store.check(T, { ...second, peerId: 'q' })).toBe('forged')
  })

  it('vouches for a ticket from before a restart only when the secret is the same', async () => {
    const secret = randomBytes(32)
    const ticket = await new MemorySessionStore(secret, 30_000, 10).issue(T, 'p')
    expect(await new MemorySessionStore(secret, 30_000, 10).check(T, ticket)).toBe('unknown')
    expect(await new MemorySessionStore(randomBytes(32), 30_000, 10).check(T, ticket)).toBe('forged')
  })

  it('keeps a departed ticket for the TTL with its last parent, refuses a revoked one, and holds a bounded number', async () => {
    let now = 0
    const store = new MemorySessionStore(randomBytes(32), 1_000, 3, () => now)
    const kept = await store.issue(T, 'p')
    await store.keep(T, 'p', 'parent')
    expect(await store.check(T, kept)).toBe('current')
    expect(await store.lastParent(T, 'p')).toBe('parent')
    const revoked = await store.issue(T, 'r')
    await store.revoke(T, 'r')
    expect(await store.check(T, revoked)).toBe('stale')
    now = 1_000
    expect(await store.check(T, kept)).toBe('unknown')
    for (let i = 0; i < 10; i++) {
      await store.issue(T, `d${i}`)
      await store.keep(T, `d${i}`, null)
    }
    expect(store.size).toBeLessThanOrEqual(3)
  })

  it('forgets departed peers once their TTL has passed, without waiting for the count bound (churn must not grow the server)', async () => {
    let now = 0
    const store = new MemorySessionStore(randomBytes(32), 1_000, 100_000, () => now)
    for (let i = 0; i < 500; i++) {
      now = i * 10 // one departure every 10 ms: at most 100 within a 1 s TTL
      await store.issue(T, `p${i}`)
      if (i % 2 === 0) await store.keep(T, `p${i}`, null)
      else await store.revoke(T, `p${i}`)
    }
    expect(store.size).toBeLessThanOrEqual(101)
    const last = await store.issue(T, 'last')
    await store.keep(T, 'last', 'parent')
    expect(await store.check(T, last)).toBe('current')
    expect(await store.lastParent(T, 'last')).toBe('parent')
  })
})
