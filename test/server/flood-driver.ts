// A signal flood in its own process: `trees` small trees whose children all
// send ICE-candidate-sized signals to their source as fast as the
// per-connection limit allows. Prints one JSON line of counts when done.
// Usage: node --import tsx test/server/flood-driver.ts <url> <trees> <children> <signalsPerChildPerSecond> <seconds>
import { io as connect, type Socket } from 'socket.io-client'
import { generateKeyPair } from '../../src/crypto/keys.js'
import { SignalingClient } from '../../src/signaling/signaling-client.js'
import { SIGNALING_PROTOCOL_VERSION as V, type Ack, type JoinResult } from '../../src/protocol/signaling.js'

const [url, trees, children, rate, seconds] = [process.argv[2]!, ...process.argv.slice(3, 7).map(Number)] as [string, number, number, number, number]

async function open(): Promise<Socket> {
  const s = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve())
    s.once('connect_error', reject)
  })
  return s
}

const senders: { socket: Socket; treeId: string; to: string }[] = []
const sources: SignalingClient[] = []
for (let t = 0; t < trees; t++) {
  const source = new SignalingClient(url, { requestTimeoutMs: 20_000 })
  await new Promise((r) => source.once('connect', () => r(undefined)))
  const created = await source.createTree(generateKeyPair(), { k1: 64 })
  sources.push(source)
  for (let c = 0; c < children; c++) {
    const socket = await open()
    const res = (await socket.timeout(20_000).emitWithAck('tree:join', { version: V, treeId: created.placement.treeId })) as Ack<JoinResult>
    if (res.ok) senders.push({ socket, treeId: created.placement.treeId, to: created.placement.peerId })
  }
}

const counts = { senders: senders.length, offered: 0, ok: 0, overloaded: 0, other: 0 }
const onAck = (res: Ack<object>) => {
  if (res.ok) counts.ok++
  else if (res.error.code === 'ERR_OVERLOADED') counts.overloaded++
  else counts.other++
}
process.stdout.write(JSON.stringify({ ready: true }) + '\n')
const perTick = rate / 10
const end = Date.now() + seconds * 1000
const data = { candidate: 'candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0 }
while (Date.now() < end) {
  for (const s of senders) {
    for (let i = 0; i < perTick; i++) s.socket.emit('signal', { treeId: s.treeId, to: s.to, data }, onAck)
    counts.offered += perTick
  }
  await new Promise((r) => setTimeout(r, 100))
}
await new Promise((r) => setTimeout(r, 2_000))
process.stdout.write(JSON.stringify(counts) + '\n')
for (const s of senders) s.socket.disconnect()
for (const s of sources) s.destroy()
process.exit(0)
