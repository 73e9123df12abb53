// A viewer in its own process, so a test can SIGKILL it (a crash: no goodbye)
// or SIGSTOP it (a frozen tab: connections stay open, nothing moves).
// argv: signaling URL, tree id. Prints one JSON line per event on stdout.
import { joinTree } from '../../src/index.js'
import { FAST } from './tree.js'

const [url, treeId] = process.argv.slice(2)
const viewer = await joinTree(treeId!, { signal: url!, ...FAST })
const say = (event: object) => process.stdout.write(JSON.stringify(event) + '\n')
say({ event: 'joined', placement: viewer.placement })
viewer.on('children-changed', (children) => say({ event: 'children', children }))
let count = 0
viewer.on('message', () => {
  count++
  if (count % 50 === 0) say({ event: 'messages', count })
})
process.on('SIGTERM', () => {
  viewer.destroy()
  process.exit(0)
})
