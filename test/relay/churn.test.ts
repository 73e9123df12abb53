import { afterEach, describe, expect, it } from 'vitest'
import { joinTree, type MunroSource, type MunroViewer } from '../../src/index.js'
import { MemoryTreeRegistry } from '../../signaling-server/index.js'
import { startServer, waitFor, type TestServer } from '../helpers/signaling.js'
import { spawnViewer, type ViewerProcess } from '../helpers/processes.js'
import { allConnected, digest, FAST, makeMessages, record, sleep, startSource } from '../helpers/tree.js'

let server: TestServer
let source: MunroSource | undefined
let viewers: MunroViewer[] = []
let processes: ViewerProcess[] = []

afterEach(async () => {
  for (const p of processes) p.kill('SIGKILL')
  for (const v of viewers) v.destroy()
  source?.destroy()
  viewers = []
  processes = []
  source = undefined
  await server?.close()
})

function shuffle<T>(items: T[]): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j]!, a[i]!]
  }
  return a
}

describe('churn', () => {
  it('loses nothing when a third of the interior peers crash and one freezes mid-stream', async () => {
    const registry = new MemoryTreeRegistry()
    // A frozen process keeps its socket open; a short heartbeat lets the server notice it within ~2 s.
    server = await startServer({ registry, pingIntervalMs: 1_000, pingTimeoutMs: 1_000 })
    source = await startSource(server.url, { k: 2, k1: 3 })
    const treeId = source.treeId

    // 30 viewers joined in order (BFS placement). Seven of the first nine joins, chosen at random,
    // are separate processes: those slots are interior, and a process can be crashed or frozen for real.
    const processSlots = new Set(shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8]).slice(0, 7))
    for (let i = 0; i < 30; i++) {
      if (processSlots.has(i)) processes.push(await spawnViewer(server.url, treeId))
      else viewers.push(await joinTree(treeId, { signal: server.url, ...FAST }))
    }
    const logs = viewers.map(record)
    await allConnected(viewers)
    let moves = 0
    for (const v of viewers) v.on('parent-changed', () => moves++)

    const tree = registry.peerTree(treeId)!
    const interior = [...tree.snapshot().values()].filter((n) => n.parent !== null && n.children.length > 0)
    const killCount = Math.round(interior.length / 3)
    const candidates = shuffle(processes.filter((p) => interior.some((n) => n.peerId === p.placement.peerId)))
    expect(candidates.length).toBeGreaterThanOrEqual(killCount + 1)
    const killed = candidates.slice(0, killCount)
    const frozen = candidates[killCount]!

    const messages = makeMessages(300)
    const expected = messages.map(digest)
    const writing = (async () => {
      for (const m of messages) {
        source!.write(m)
        await sleep(15)
      }
    })()
    await sleep(800)
    frozen.kill('SIGSTOP')
    for (const p of killed) {
      p.kill('SIGKILL')
      await sleep(250)
    }
    await writing

    await waitFor(() => logs.every((l) => l.length >= expected.length), 45_000, 'every surviving viewer to have every message').catch((err: Error) => {
      const gone = new Set([...killed, frozen].map((p) => p.placement.peerId))
      const short = viewers.flatMap((v, i) => {
        if (logs[i]!.length >= expected.length) return []
        const s = v.stats()
        const parent = s.parent === null ? 'none' : gone.has(s.parent) ? 'gone' : tree.has(s.parent) ? 'present' : 'unknown'
        return [`${logs[i]!.length}/${expected.length} (parent ${parent}, depth ${s.depth}, reconnects ${s.reconnects}, buffer ${s.buffer.firstIndex}-${s.buffer.endIndex})`]
      })
      throw new Error(`${err.message}: short ${short.join('; ')}`)
    })
    for (const log of logs) expect(log).toEqual(expected)
    for (const v of viewers) expect(v.stats().chunksRejected).toBe(0)
    // Each crash orphaned at least one in-process child (or promoted a leaf): they really moved.
    expect(moves).toBeGreaterThanOrEqual(killCount)

    // The tree healed: crashed and frozen peers are gone, every survivor is in it, invariants hold.
    const gone = [...killed, frozen].map((p) => p.placement.peerId)
    await waitFor(() => gone.every((id) => !tree.has(id)), 15_000, 'server to drop crashed and frozen peers')
    tree.check()
    for (const v of viewers) expect(tree.has(v.placement!.peerId)).toBe(true)
    expect(tree.size).toBe(1 + viewers.length + processes.length - gone.length)
  }, 90_000)
})
