// A child process of the soak test (test/relay/soak.test.ts), so that the
// heap of the signaling server and that of the long-lived viewers are each
// measured on their own (one process would mix them with the source and the
// churners). argv: `server`, or `viewers <signal url> <tree id>`. Answers
// requests from the test over IPC, each reply carrying the request's id:
// - both: sample (a MemorySample after a full GC);
// - server: close;
// - viewers: join (one more viewer; answers its peer id and parent), connected (resolves once every viewer's
//   parent link is up), finish (waits until each has `written` messages, then
//   destroys them all and reports their tallies, any event after destroy(),
//   and which of them were not garbage-collected after it).
import { joinTree, type MunroViewer } from '../../src/index.js'
import { MemoryTreeRegistry } from '../../signaling-server/index.js'
import { startServer, waitFor } from './signaling.js'
import { gc, sampleMemory, tallyMessages, viewerParts, watchAfterDestroy, type MessageTally } from './soak.js'
import { allConnected, DEFAULTS, sleep } from './tree.js'

type Request = { id: number; type: string; t?: number; written?: number }
const [role, url, treeId] = process.argv.slice(2)
const reply = (request: Request, answer: object): void => void process.send!({ ...answer, id: request.id })

if (role === 'server') {
  const server = await startServer({ registry: new MemoryTreeRegistry() })
  process.on('message', (request: Request) => {
    if (request.type === 'sample') reply(request, sampleMemory(request.t!))
    if (request.type === 'close') void server.close().then(() => reply(request, {}))
  })
  process.send!({ type: 'ready', url: server.url })
} else {
  const viewers: MunroViewer[] = []
  const tallies: MessageTally[] = []
  const late: string[] = []
  process.on('message', (request: Request) => {
    void handle(request).catch((err: Error) => reply(request, { error: err.message }))
  })
  async function handle(request: Request): Promise<void> {
    if (request.type === 'sample') return reply(request, sampleMemory(request.t!))
    if (request.type === 'join') {
      const viewer = await joinTree(treeId!, { signal: url!, ...DEFAULTS })
      const { tally, onMessage } = tallyMessages()
      viewer.on('message', onMessage)
      for (const [suffix, part] of Object.entries(viewerParts(viewer))) watchAfterDestroy(part, `stayer${viewers.length}${suffix}`, late)
      viewers.push(viewer)
      tallies.push(tally)
      return reply(request, { peerId: viewer.placement!.peerId, parent: viewer.placement!.parent })
    }
    if (request.type === 'connected') {
      await allConnected(viewers)
      return reply(request, {})
    }
    if (request.type === 'finish') {
      const written = request.written!
      await waitFor(() => tallies.every((t) => t.received >= written), 30_000, 'every long-lived viewer to have every message').catch(() => undefined)
      const snapshot = tallies.map((t) => ({ ...t, problems: [...t.problems] }))
      const refs = viewers.flatMap((v, i) => Object.entries(viewerParts(v)).map(([suffix, part]) => ({ name: `stayer${i}${suffix}`, ref: new WeakRef(part) })))
      destroyAll()
      // Leaving (the server's ack), sockets and peer connections close asynchronously; then nothing may hold them.
      await sleep(2_000)
      gc()
      await sleep(100)
      gc()
      const alive = refs.filter((r) => r.ref.deref() !== undefined).map((r) => r.name)
      return reply(request, { tallies: snapshot, late, alive })
    }
  }
  // Not inside the async handler: its suspended frame could keep the last viewer alive in a register.
  function destroyAll(): void {
    for (const v of viewers.splice(0)) v.destroy()
  }
  process.send!({ type: 'ready' })
}
