// A munro-signal process killed (SIGKILL) and restarted on the same port with
// the same --secret while a tree streams (issue 7 defect 8, signaling side).
// Measured before: 0-2 viewers per run ended with tree-ended "source-gone"
// (TREE_NOT_FOUND before the source was back), and the tree was rebuilt from
// scratch. Now: nobody ends, every peer keeps its id, and the restarted
// server rebuilds every edge both ends claim (link hints).
//
// The hints are set here from each peer's placement, standing in for TreePeer,
// which calls setLinkHints with its live links (helper 7B's side).
import { afterEach, describe, expect, it } from 'vitest'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import type { MunroSource, MunroViewer } from '../../src/index.js'
import { nextEvent, waitFor } from '../helpers/signaling.js'
import { allConnected, makeMessages, record, startSource, startViewers } from '../helpers/tree.js'
import { startServerProcess, type ServerProcess } from './server-process.js'

const SECRET = 'restart-test-secret-0123456789'
const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function serve(port = 0): Promise<ServerProcess> {
  const proc = await startServerProcess(['--port', String(port), '--host', '127.0.0.1', '--secret', SECRET])
  cleanups.push(async () => {
    proc.child.kill('SIGKILL')
    await proc.exited
  })
  return proc
}

async function kill(proc: ServerProcess): Promise<void> {
  proc.child.kill('SIGKILL')
  await proc.exited
}

async function edges(url: string, treeId: string): Promise<Map<string, string | null>> {
  const res = (await (await fetch(`${url}/trees/${treeId}`)).json()) as { nodes: { peerId: string; parent: string | null }[] }
  return new Map(res.nodes.map((n) => [n.peerId, n.parent]))
}

/** What TreePeer will do: tell the client which links this peer holds. */
function hintFromPlacement(client: SignalingClient, treeId: string): void {
  client.setLinkHints(treeId, () => {
    const p = client.placementOf(treeId)!
    return { parentId: p.parent, childIds: p.children }
  })
}

interface Watched {
  client: SignalingClient
  lost: number
  restored: number
  ended: string[]
}

function watch(client: SignalingClient): Watched {
  const w: Watched = { client, lost: 0, restored: 0, ended: [] }
  client.on('signaling-lost', () => w.lost++)
  client.on('signaling-restored', () => w.restored++)
  client.on('tree-ended', (e) => w.ended.push(e.reason))
  return w
}

describe('signaling server restart', () => {
  it('rebuilds a 40-viewer tree (default k = 4, k1 = 10) with the same ids and edges; nobody ends', async () => {
    const first = await serve()
    const peers: Watched[] = []
    const add = async () => {
      const c = new SignalingClient(first.url)
      cleanups.push(() => c.destroy())
      await nextEvent(c, 'connect')
      const w = watch(c)
      peers.push(w)
      return c
    }
    const source = await add()
    const treeId = (await source.createTree(generateKeyPair())).placement.treeId
    hintFromPlacement(source, treeId)
    for (let i = 0; i < 40; i++) {
      const c = await add()
      await c.joinTree(treeId)
      hintFromPlacement(c, treeId)
    }
    await waitFor(async () => (await edges(first.url, treeId)).size === 41, 5_000, 'all placed')
    const before = await edges(first.url, treeId)
    expect(Math.max(...[...before.keys()].map((id) => depthOf(before, id)))).toBeGreaterThanOrEqual(2)

    await kill(first)
    await waitFor(() => peers.every((p) => p.lost === 1), 5_000, 'every client to notice')
    const second = await serve(first.port)
    await waitFor(() => peers.every((p) => p.restored === 1 || p.ended.length > 0), 40_000, 'every client to be restored')

    for (const p of peers) expect(p.ended).toEqual([])
    const after = await edges(second.url, treeId)
    const moved = [...before].filter(([id, parent]) => after.get(id) !== parent)
    expect(moved, `peers whose parent changed: ${JSON.stringify(moved.map(([id, parent]) => [id, parent, after.get(id)]))}`).toEqual([])
    // Placements agree with the server's view.
    for (const p of peers) {
      const placement = p.client.placementOf(treeId)!
      expect(after.get(placement.peerId)).toBe(placement.parent)
    }
  }, 90_000)

  it('keeps real WebRTC viewers in the tree through a restart mid-stream, with the same edges', async () => {
    const first = await serve()
    const source: MunroSource = await startSource(first.url)
    cleanups.push(() => source.destroy())
    const treeId = source.treeId
    const viewers: MunroViewer[] = await startViewers(first.url, treeId, 12)
    cleanups.push(() => viewers.forEach((v) => v.destroy()))
    const got = viewers.map(record)
    const ended: string[] = []
    for (const v of viewers) v.on('tree-ended', (e) => ended.push(e.reason))
    const clients = [source, ...viewers].map((x) => (x as unknown as { signaling: SignalingClient }).signaling)
    const watched = clients.map(watch)
    for (const c of clients) hintFromPlacement(c, treeId)
    await allConnected(viewers)

    const messages = makeMessages(60)
    const writer = (async () => {
      for (const m of messages) {
        await source.write(m)
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    await new Promise((r) => setTimeout(r, 1_500))
    const before = await edges(first.url, treeId)
    await kill(first)
    await new Promise((r) => setTimeout(r, 1_000))
    const second = await serve(first.port)
    await waitFor(() => watched.every((w) => w.restored === 1), 40_000, 'every peer to be restored')
    await writer
    expect(ended).toEqual([])
    expect(await edges(second.url, treeId)).toEqual(before)
    await new Promise((r) => setTimeout(r, 2_000))
    // Whether every message crossed the outage is the data plane's promise (TreePeer keeps its links: helper 7B); reported here.
    console.log(`restart mid-stream: messages per viewer ${got.map((g) => g.length).join(',')} of ${messages.length}`)
    expect(Math.min(...got.map((g) => g.length))).toBeGreaterThan(0)
  }, 120_000)
})

function depthOf(parents: Map<string, string | null>, id: string): number {
  let d = 0
  for (let p = parents.get(id); p; p = parents.get(p)) d++
  return d
}
