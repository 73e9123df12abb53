// Browser side of tree.browser.test.ts: a source or a viewer of munro, built
// by Vite from the public entry point exactly as an application would use it.
import { createSource, joinTree, type MunroSource, type MunroViewer, type PeerStats } from '../../src/index.js'

let source: MunroSource | undefined
let viewer: MunroViewer | undefined
const digests: Promise<string>[] = []

async function hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')
}

const timings = { iceServers: [], keepaliveMs: 200, stallMs: 1_500, statsIntervalMs: 0 }

const api = {
  async startSource(url: string, k: number, k1: number): Promise<string> {
    source = await createSource({ signal: url, k, k1, ...timings })
    return source.treeId
  },
  write(data: Uint8Array): void {
    source!.write(data)
  },
  async join(url: string, treeId: string): Promise<{ peerId: string; depth: number }> {
    viewer = await joinTree(treeId, { signal: url, ...timings })
    viewer.on('message', (m) => digests.push(hex(m.data)))
    return { peerId: viewer.placement!.peerId, depth: viewer.placement!.depth }
  },
  async received(): Promise<string[]> {
    return Promise.all(digests)
  },
  connected(): boolean {
    return (viewer as unknown as { peer: { parentConnected: boolean } } | undefined)?.peer.parentConnected ?? false
  },
  stats(): PeerStats | undefined {
    return (viewer ?? source)?.stats()
  },
  destroy(): void {
    viewer?.destroy()
    source?.destroy()
  }
}

export type TreePageApi = typeof api
;(globalThis as unknown as { munroTree: typeof api }).munroTree = api
;(globalThis as { __munroReady?: boolean }).__munroReady = true
