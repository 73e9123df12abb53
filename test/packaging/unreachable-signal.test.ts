// A signaling server nobody answers at: createSource/joinTree fail within
// connectTimeoutMs with ERR_SIGNAL_UNREACHABLE and the connection error as
// the cause, not with a request timeout that hides why.
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createSource, joinTree, generateKeyPair, treeIdFromPublicKey, SignalingClient, type SignalingClientError } from '../../src/index.js'

/** A loopback port with nothing listening: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function failure(attempt: Promise<unknown>): Promise<{ err: SignalingClientError; ms: number }> {
  const started = Date.now()
  const err = await attempt.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: SignalingClientError) => e
  )
  return { err, ms: Date.now() - started }
}

describe('unreachable signaling server', () => {
  it('createSource fails with ERR_SIGNAL_UNREACHABLE and the refusal as its cause, within connectTimeoutMs', async () => {
    const signal = `http://127.0.0.1:${await closedPort()}`
    const { err, ms } = await failure(createSource({ signal, connectTimeoutMs: 1_500 }))
    expect(err.code).toBe('ERR_SIGNAL_UNREACHABLE')
    expect(err.message).toContain(signal)
    expect(err.message).toMatch(/ECONNREFUSED/)
    expect(err.cause).toBeInstanceOf(Error)
    expect(ms).toBeGreaterThanOrEqual(1_400)
    expect(ms).toBeLessThan(4_000)
  })

  it('joinTree fails the same way with the default connectTimeoutMs (10 s)', async () => {
    const signal = `http://127.0.0.1:${await closedPort()}`
    const treeId = treeIdFromPublicKey(generateKeyPair().publicKey)
    const { err, ms } = await failure(joinTree(treeId, { signal }))
    expect(err.code).toBe('ERR_SIGNAL_UNREACHABLE')
    expect(err.message).toMatch(/ECONNREFUSED/)
    expect(ms).toBeGreaterThanOrEqual(9_900)
    expect(ms).toBeLessThan(13_000)
  }, 20_000)

  it('destroy() ends the wait at once, with ERR_DESTROYED, and leaves no timer behind', async () => {
    const client = new SignalingClient(`http://127.0.0.1:${await closedPort()}`)
    const joining = failure(client.joinTree(treeIdFromPublicKey(generateKeyPair().publicKey)))
    client.destroy()
    const { err, ms } = await joining
    expect(err.code).toBe('ERR_DESTROYED')
    expect(ms).toBeLessThan(500)
  })
})
