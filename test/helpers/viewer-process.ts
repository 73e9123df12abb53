// A viewer in its own process, so a test can SIGKILL it (a crash: no goodbye)
// or SIGSTOP it (a frozen tab: connections stay open, nothing moves).
// argv: signaling URL, tree id, and optionally "defaults" (the SDK's own
// timings instead of the fast test ones). MUNRO_CLOCK_OFFSET_MS skews this
// process's wall clock (Date.now), as on a machine whose clock is off. Prints one JSON line per event on
// stdout: joined, children, parent-changed, parent-connected, gap, messages (every 50), message (each id: the
// first four bytes of the payload, as test/helpers/tree.ts's makeMessages writes them), stall, tree-ended,
// signaling-lost, signaling-restored, error.
import { joinTree } from '../../src/index.js'
import { DEFAULTS, FAST } from './tree.js'

const [url, treeId, timings] = process.argv.slice(2)
const offset = Number(process.env.MUNRO_CLOCK_OFFSET_MS ?? 0)
if (offset !== 0) {
  const now = Date.now
  Date.now = () => now() + offset
}
const options = timings === 'defaults' ? DEFAULTS : FAST
const viewer = await joinTree(treeId!, { signal: url!, ...options })
const say = (event: object) => process.stdout.write(JSON.stringify(event) + '\n')
say({ event: 'joined', placement: viewer.placement })
viewer.on('children-changed', (children) => say({ event: 'children', children }))
viewer.on('stall', (parentId) => say({ event: 'stall', parentId }))
viewer.on('parent-changed', (parentId) => say({ event: 'parent-changed', parentId }))
viewer.on('gap', (gap) => say({ event: 'gap', ...gap }))
viewer.on('tree-ended', (ended) => say({ event: 'tree-ended', reason: ended.reason }))
viewer.on('parent-connected', (parentId) => say({ event: 'parent-connected', parentId }))
viewer.on('signaling-lost', () => say({ event: 'signaling-lost' }))
viewer.on('signaling-restored', () => say({ event: 'signaling-restored' }))
viewer.on('error', (err) => say({ event: 'error', message: err.message, code: (err as { code?: string }).code }))
let count = 0
viewer.on('message', (m) => {
  count++
  if (m.data.byteLength >= 4) say({ event: 'message', id: new DataView(m.data.buffer, m.data.byteOffset).getUint32(0) })
  if (count % 50 === 0) say({ event: 'messages', count })
})
// SIGUSR2: a frozen tab as browsers freeze one: JavaScript stops for MUNRO_FREEZE_MS (no timers, no events, no
// pongs to the signaling server) while the network stack underneath goes on. (SIGSTOP stops the native WebRTC
// threads too; @roamhq/wrtc sometimes dies with SIGSEGV when such a process resumes after its peers closed their links.)
process.on('SIGUSR2', () => {
  say({ event: 'freezing' })
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.MUNRO_FREEZE_MS ?? 8_000))
  say({ event: 'woke' })
})
process.on('SIGTERM', () => {
  viewer.destroy()
  process.exit(0)
})
