// The facades' timers, with real MunroSource / MunroViewer objects on a
// scripted signaling client (no network): after the signer fails, no
// heartbeat throws; after tree-ended, the viewer's stats stop.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { generateKeyPair, treeIdFromPublicKey } from '../../../src/crypto/keys.js'
import { MunroSource } from '../../../src/source.js'
import { MunroViewer } from '../../../src/viewer.js'
import { FakeSignaling, placement } from '../../helpers/fake-signaling.js'

// Signing fails once `failSigning` is set, as a broken WebCrypto would.
const control = vi.hoisted(() => ({ failSigning: false }))
vi.mock('../../../src/crypto/ed25519.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/crypto/ed25519.js')>()
  return {
    ...real,
    signMessage: (secretKey: Uint8Array, message: Uint8Array) =>
      control.failSigning ? Promise.reject(new Error('signing broke')) : real.signMessage(secretKey, message)
  }
})

class Signaling extends FakeSignaling {
  async leaveTree(): Promise<void> {}
  destroy(): void {}
}

afterEach(() => {
  control.failSigning = false
  vi.useRealTimers()
})

describe('facade timers', () => {
  it('after the signer fails, the source reports it once and its heartbeat stops (no ERR_DESTROYED every beat)', async () => {
    vi.useFakeTimers()
    const keys = generateKeyPair()
    const treeId = treeIdFromPublicKey(keys.publicKey)
    const signaling = new Signaling()
    const source = new MunroSource(signaling.asClient(), keys, placement(treeId, 'src', null, [], 1), { signal: 'unused', statsIntervalMs: 0, heartbeatMs: 100 })
    const errors: Error[] = []
    source.on('error', (e) => errors.push(e))
    control.failSigning = true
    source.write('x')
    await vi.advanceTimersByTimeAsync(60) // past the old 50 ms munro deadline too
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(['ERR_BAD_KEY'])
    // Every beat would have thrown ERR_DESTROYED out of the timer.
    await vi.advanceTimersByTimeAsync(1_000)
    expect(errors.length).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
    source.destroy()
  })

  it("the viewer's stats timer stops on tree-ended", async () => {
    vi.useFakeTimers()
    const keys = generateKeyPair()
    const treeId = treeIdFromPublicKey(keys.publicKey)
    const signaling = new Signaling()
    const viewer = new MunroViewer(signaling.asClient(), treeId, keys.publicKey, { signal: 'unused', statsIntervalMs: 100 })
    let stats = 0
    viewer.on('stats', () => stats++)
    await vi.advanceTimersByTimeAsync(350)
    expect(stats).toBe(3)
    signaling.emit('tree-ended', { treeId, reason: 'source-gone' } as never)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(stats).toBe(3)
    viewer.destroy()
  })
})
