// A source process is killed mid-stream and started again with its saved key
// (within the server's source grace period). Its new run signs a newer epoch
// from index 0 again; every viewer must follow it (issue 7, defect 3) instead
// of dropping the new session's munros as conflicts with the old one and
// stalling. Real socket.io server, real WebRTC (@roamhq/wrtc), the source in
// its own process, the SDK's default timings and k.
import { afterEach, describe, expect, it } from 'vitest'
import { exportKeyPair, generateKeyPair, treeIdFromPublicKey, type MunroViewer } from '../../src/index.js'
import { startServer, waitFor, type TestServer } from '../helpers/signaling.js'
import { DEFAULTS, allConnected, startViewers } from '../helpers/tree.js'
import { startSourceProcess } from '../helpers/source-process.js'

let server: TestServer | undefined
const cleanup: Array<() => void> = []
afterEach(async () => {
  for (const f of cleanup.splice(0)) f()
  await server?.close()
})

describe('a source restarted with its saved key', () => {
  it('every viewer follows the new run from its first message, with a gap event, and nobody ends', async () => {
    server = await startServer()
    const keys = generateKeyPair()
    const key = JSON.stringify(exportKeyPair(keys))
    const treeId = treeIdFromPublicKey(keys.publicKey)
    const first = await startSourceProcess(server.url, key, 'A')
    cleanup.push(() => first.kill('SIGKILL'))
    const viewers: MunroViewer[] = await startViewers(server.url, treeId, 6, DEFAULTS)
    cleanup.push(() => viewers.forEach((v) => v.destroy()))
    const got = viewers.map(() => [] as string[])
    const gaps = viewers.map(() => [] as string[])
    const ended: string[] = []
    viewers.forEach((v, i) => {
      v.on('message', (m) => got[i]!.push(new TextDecoder().decode(m.data)))
      v.on('gap', (g) => gaps[i]!.push(g.code ?? 'gap'))
      v.on('tree-ended', (e) => ended.push(e.reason))
    })
    await allConnected(viewers)
    await waitFor(() => got.every((g) => g.filter((m) => m.startsWith('A:')).length >= 10), 20_000, 'the first run reaches everyone')

    first.kill('SIGKILL')
    await new Promise((r) => setTimeout(r, 500))
    const second = await startSourceProcess(server.url, key, 'B')
    cleanup.push(() => second.kill('SIGKILL'))
    await waitFor(() => got.every((g) => g.filter((m) => m.startsWith('B:')).length >= 20), 30_000, 'the second run reaches everyone')

    expect(ended).toEqual([])
    for (let i = 0; i < viewers.length; i++) {
      const b = got[i]!.filter((m) => m.startsWith('B:')).map((m) => Number(m.slice(2)))
      // The new run from its first message (B:0 is a start point and the window still holds it), in order, nothing missing.
      expect(b.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, n) => n))
      expect(gaps[i]).toContain('ERR_STALE_EPOCH')
    }
  }, 90_000)
})
