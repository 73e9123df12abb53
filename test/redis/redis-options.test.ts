// Options of createSignalingServer that still apply with `redis`: a report
// policy the caller gives is the one that judges (it was silently replaced by
// the replicated default).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import { createSignalingServer } from '../../signaling-server/server.js'
import type { ReportFacts, ReportPolicy } from '../../signaling-server/report-policy.js'
import { nextEvent } from '../helpers/signaling.js'
import { startRedis, type RedisProcess } from '../helpers/redis-server.js'

let redis: RedisProcess
beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  await redis?.stop()
})

describe('createSignalingServer({ redis }) options', () => {
  it('a given reportPolicy judges the reports', async () => {
    const judged: ReportFacts[] = []
    const reportPolicy: ReportPolicy = {
      judge: async (facts) => (judged.push(facts), { verdict: 'counted', count: 1 }),
      peerLeft: async () => undefined,
      treeEnded: async () => undefined
    }
    const server = createSignalingServer({ redis: redis.url, reportPolicy })
    const { port } = await server.listen(0)
    const clients: SignalingClient[] = []
    try {
      const url = `http://127.0.0.1:${port}`
      const source = new SignalingClient(url)
      const child = new SignalingClient(url)
      clients.push(source, child)
      await Promise.all([nextEvent(source, 'connect'), nextEvent(child, 'connect')])
      const treeId = (await source.createTree(generateKeyPair())).placement.treeId
      const parent = (await child.joinTree(treeId)).placement.parent!
      await child.reportParent(treeId, parent, 'invalid-data')
      expect(judged).toMatchObject([{ treeId, accusedId: parent }])
    } finally {
      for (const c of clients) c.destroy()
      await server.close()
    }
  })
})
