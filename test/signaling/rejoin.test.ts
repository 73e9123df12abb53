// SignalingClient's rejoin after a reconnect, against a scripted socket.io
// server (real sockets, answers chosen by the test): a refusal that says
// "retry shortly" is retried, not turned into an error that leaves the peer
// out of its tree for good.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Server, type Socket } from 'socket.io'
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair, treeIdFromPublicKey } from '../../src/index.js'
import { SignalingErrorCode, type Placement } from '../../src/protocol/signaling.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import { waitFor } from '../helpers/signaling.js'

const treeId = treeIdFromPublicKey(generateKeyPair().publicKey)
// Canonical base64url: the last character's unused low bits are zero.
const peerId = 'A'.repeat(22)
const parentId = 'A'.repeat(21) + 'Q'
const ticket = (n: number) => ({ peerId, token: 'A'.repeat(42) + 'AEIMQUYcgk'[n % 10]! })
const placement = (version: number): Placement => ({ treeId, peerId, parent: parentId, depth: 1, children: [], version })

let io: Server | undefined
let client: SignalingClient | undefined
afterEach(async () => {
  client?.destroy()
  await new Promise((resolve) => (io ? io.close(resolve) : resolve(undefined)))
  io = client = undefined
})

/** A server that answers every tree:join with `answer(attempt)`, and says hello on every connection. */
async function scriptedServer(answer: (attempt: number) => object): Promise<{ url: string; joins: unknown[]; sockets: Socket[] }> {
  const http = createServer()
  io = new Server(http)
  const joins: unknown[] = []
  const sockets: Socket[] = []
  io.on('connection', (socket) => {
    sockets.push(socket)
    socket.emit('server:hello', { instance: 'one' })
    socket.on('tree:join', (req: unknown, ack: (res: object) => void) => {
      joins.push(req)
      ack(answer(joins.length))
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, joins, sockets }
}

describe('SignalingClient rejoin', () => {
  it.each([SignalingErrorCode.NO_SLOT, SignalingErrorCode.OVERLOADED, SignalingErrorCode.UNAVAILABLE, SignalingErrorCode.RATE_LIMITED])(
    'retries a rejoin refused with %s, and rejoins once the server takes it',
    async (code) => {
      // The first join is taken; the rejoin is refused twice with `code`, then taken.
      const server = await scriptedServer((attempt) =>
        attempt === 1 || attempt >= 4
          ? { ok: true, placement: placement(attempt), resume: ticket(attempt), tree: { k: 4, k1: 10 } }
          : { ok: false, error: { code, message: 'retry shortly' } }
      )
      client = new SignalingClient(server.url, { reconnectionDelayMs: 50 })
      await client.joinTree(treeId)
      const errors: Error[] = []
      const resumed: Placement[] = []
      client.on('error', (err) => errors.push(err))
      client.on('resumed', (_treeId, result) => resumed.push(result.placement))

      server.sockets[0]!.disconnect() // the server drops the connection; the client reconnects and rejoins
      await waitFor(() => resumed.length > 0 || errors.length > 0, 10_000, 'the rejoin to end')
      expect(errors).toEqual([])
      expect(resumed).toEqual([placement(4)])
      expect(server.joins.slice(1)).toEqual(Array(3).fill(expect.objectContaining({ treeId, resume: ticket(1) })))
    }
  )

  it('gives up on a refusal that retrying cannot cure, with an error naming it', async () => {
    const server = await scriptedServer((attempt) =>
      attempt === 1
        ? { ok: true, placement: placement(1), resume: ticket(1), tree: { k: 4, k1: 10 } }
        : { ok: false, error: { code: SignalingErrorCode.TREE_FULL, message: 'the tree is full' } }
    )
    client = new SignalingClient(server.url, { reconnectionDelayMs: 50 })
    await client.joinTree(treeId)
    const errors: Array<{ code?: string }> = []
    client.on('error', (err) => errors.push(err as { code?: string }))
    server.sockets[0]!.disconnect()
    await waitFor(() => errors.length > 0, 10_000, 'the rejoin to fail')
    expect(errors.map((e) => e.code)).toEqual([SignalingErrorCode.TREE_FULL])
    expect(server.joins).toHaveLength(2)
  })
})
