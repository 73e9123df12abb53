// `npm run bench -- signaling`: munro-signal under load from simulated
// socket.io clients (no WebRTC). The server runs in its own process so its
// heap, RSS and CPU come from its own /metrics; the driver (this process)
// shares the machine's cores with it, which caps what one driver can offer.
//
//   peers held        N clients joined to one tree (k = 4), all connected at once
//   heap, RSS / peer  the server's growth from idle to N peers, divided by N
//   joins/s           N joins in bursts of 500 in flight; join latency p50/p99
//   signals/s         children sending ICE-candidate-sized signals to their source
//                     with 16 in flight each: relayed per second and server CPU,
//                     once with limits lifted (capacity) and once with the
//                     defaults (what is relayed and what is shed)
//
// Then the same peers and signals with `--redis` (a redis-server child on a
// loopback port): one process, and two processes with the clients spread
// over both (every other signal crosses processes). Figures of several
// processes are summed; CPU is the servers' own (Redis's shown apart).
//
// BENCH_SIGNALING_PEERS sets N (default 8,000; each peer is a file descriptor
// on both sides: raise `ulimit -n` for more); BENCH_SIGNALING_REDIS_PEERS the
// N of the Redis runs (default 4,000). BENCH_SIGNALING_HELD_ONLY=1 runs only
// the peers-held section: munro-signal, then a bare socket.io server (same
// options, no handlers) under the same N clients, so socket.io's own cost per
// connection shows apart from ours.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { io as connect, type Socket } from 'socket.io-client'
import { generateKeyPair } from '../src/crypto/keys.js'
import { SignalingClient } from '../src/signaling/signaling-client.js'
import { SIGNALING_PROTOCOL_VERSION as V, type Ack, type JoinResult } from '../src/protocol/signaling.js'
import { startRedis, type RedisProcess } from '../test/helpers/redis-server.js'

// SIGUSR2 runs a full garbage collection (the bench starts servers with --expose-gc): heap per peer is read after one, so garbage does not count.
const GC_ON_SIGNAL = "process.on('SIGUSR2', () => globalThis.gc());"
const MAIN = `${GC_ON_SIGNAL} import('./signaling-server/cli.ts').then((m) => m.main([process.argv[0], 'munro-signal', ...process.argv.slice(1)]))`

interface Server {
  child: ChildProcess
  url: string
}

// socket.io alone, as munro-signal sets it up (ping times, upgrade request dropped), answering
// the same /metrics lines the bench reads: its heap per connection is socket.io's own cost.
const BARE_SOCKET_IO = `${GC_ON_SIGNAL}
const { createServer } = await import('node:http')
const { Server } = await import('socket.io')
const http = createServer((req, res) => {
  const m = process.memoryUsage()
  const cpu = process.cpuUsage()
  res.end(\`nodejs_heap_size_used_bytes \${m.heapUsed}\\nprocess_resident_memory_bytes \${m.rss}\\nprocess_cpu_seconds_total \${(cpu.user + cpu.system) / 1e6}\\n\`)
})
const io = new Server(http, { pingInterval: 5000, pingTimeout: 5000 })
io.engine.on('connection', (raw) => { raw.request = null })
http.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: http.address().port })))`

async function startServer(args: string[], bare = false): Promise<Server> {
  const argv = ['--expose-gc', ...(bare ? ['--input-type=module', '-e', BARE_SOCKET_IO] : ['--import', 'tsx', '-e', MAIN, '--', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...args])]
  const child = spawn(process.execPath, argv, {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`munro-signal exited with ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const p = (JSON.parse(line) as { port?: number }).port
      if (p) resolve(p)
    })
  })
  return { child, url: `http://127.0.0.1:${port}` }
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r))
  server.child.kill('SIGKILL')
  await exited
}

interface ProcessFigures {
  rss: number
  heap: number
  cpu: number
}

async function figures(url: string): Promise<ProcessFigures> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const read = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN)
  return { rss: read('process_resident_memory_bytes'), heap: read('nodejs_heap_size_used_bytes'), cpu: read('process_cpu_seconds_total') }
}

async function counter(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)
}

/** Figures after a full garbage collection in each server. */
async function collected(servers: Server[]): Promise<ProcessFigures> {
  for (const s of servers) s.child.kill('SIGUSR2')
  await new Promise((r) => setTimeout(r, 500))
  return figuresAll(servers)
}

/** Summed over every server process. */
async function figuresAll(servers: Server[]): Promise<ProcessFigures> {
  const all = await Promise.all(servers.map((s) => figures(s.url)))
  return all.reduce((a, b) => ({ rss: a.rss + b.rss, heap: a.heap + b.heap, cpu: a.cpu + b.cpu }))
}

async function counterAll(servers: Server[], name: string): Promise<number> {
  return (await Promise.all(servers.map((s) => counter(s.url, name)))).reduce((a, b) => a + b, 0)
}

async function startServers(n: number, args: string[]): Promise<Server[]> {
  const servers: Server[] = []
  for (let i = 0; i < n; i++) servers.push(await startServer(args))
  return servers
}

/** CPU seconds Redis has used (its own INFO), to show beside the servers'. */
async function redisCpu(redis: RedisProcess | undefined): Promise<number> {
  if (!redis) return 0
  const { Redis } = await import('ioredis')
  const client = new Redis(redis.url)
  try {
    const info = await client.info('cpu')
    const read = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0)
    return read('used_cpu_sys') + read('used_cpu_user')
  } finally {
    client.disconnect()
  }
}

function open(url: string): Promise<Socket> {
  const s = connect(url, { transports: ['websocket'], reconnection: false, forceNew: true })
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s))
    s.once('connect_error', reject)
  })
}

async function createTree(url: string, k1?: number): Promise<{ client: SignalingClient; treeId: string; sourceId: string }> {
  const client = new SignalingClient(url, { requestTimeoutMs: 60_000 })
  await new Promise((r) => client.once('connect', () => r(undefined)))
  const created = await client.createTree(generateKeyPair(), k1 === undefined ? {} : { k1 })
  return { client, treeId: created.placement.treeId, sourceId: created.placement.peerId }
}

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`

async function holdAndJoin(peers: number, processes = 1, redis?: RedisProcess): Promise<string[]> {
  // Limits lifted that would refuse a benchmark's burst from one address, nothing else.
  const servers = await startServers(processes, ['--rate', '1000000', ...(redis ? ['--redis', redis.url] : [])])
  const server = servers[0]!
  let next = 0
  try {
    const { client, treeId } = await createTree(server.url)
    const idle = await collected(servers)
    const redis0 = await redisCpu(redis)
    const sockets: Socket[] = []
    const latencies: number[] = []
    const t0 = performance.now()
    for (let done = 0; done < peers; ) {
      const batch = Math.min(500, peers - done)
      await Promise.all(
        Array.from({ length: batch }, async () => {
          const s = await open(servers[next++ % servers.length]!.url)
          const t = performance.now()
          const res = (await s.timeout(60_000).emitWithAck('tree:join', { version: V, treeId })) as Ack<JoinResult>
          latencies.push(performance.now() - t)
          if (!res.ok) throw new Error(`join refused: ${res.error.code}`)
          sockets.push(s)
        })
      )
      done += batch
    }
    const seconds = (performance.now() - t0) / 1000
    const held = await collected(servers)
    const redisUsed = (await redisCpu(redis)) - redis0
    const peersSeen = { peers: await (await fetch(`${server.url}/trees/${treeId}`)).json().then((t: { size: number }) => t.size - 1) }
    latencies.sort((a, b) => a - b)
    for (const s of sockets) s.disconnect()
    client.destroy()
    return [
      `  peers held                  ${peersSeen.peers} (one tree, k = 4, ${processes} process${processes > 1 ? 'es' : ''}${redis ? ' on Redis' : ''})`,
      `  server heap per peer        ${kb((held.heap - idle.heap) / peers)}   (heap ${mb(idle.heap)} -> ${mb(held.heap)})`,
      `  server RSS per peer         ${kb((held.rss - idle.rss) / peers)}   (RSS ${mb(idle.rss)} -> ${mb(held.rss)})`,
      `  connect + join, 500 at once ${(peers / seconds).toFixed(0)} peers/s; join ack p50 ${pct(latencies, 0.5).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms; server CPU ${(held.cpu - idle.cpu).toFixed(1)} s over ${seconds.toFixed(1)} s${redis ? `, Redis CPU ${redisUsed.toFixed(1)} s` : ''}`
    ]
  } finally {
    for (const s of servers) await stopServer(s)
  }
}

/** N connections held by a bare socket.io server (no tree, no handlers): socket.io's own cost per connection. */
async function holdBare(peers: number): Promise<string> {
  const server = await startServer([], true)
  const sockets: Socket[] = []
  try {
    const idle = await collected([server])
    for (let done = 0; done < peers; done += 500) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(500, peers - done) }, () => open(server.url)))))
    }
    const held = await collected([server])
    return `  bare socket.io, per connection ${kb((held.heap - idle.heap) / peers)} heap, ${kb((held.rss - idle.rss) / peers)} RSS (${peers} connections; the same clients, no handlers: socket.io's own share of the figures above)`
  } finally {
    for (const s of sockets) s.disconnect()
    await stopServer(server)
  }
}

/** 1,000 trees of a few peers each: joins spread over the processes, every tree ordered on its own. */
async function smallTrees(processes: number, redis: RedisProcess | undefined, trees = 1_000, perTree = 4): Promise<string> {
  const servers = await startServers(processes, ['--rate', '1000000', ...(redis ? ['--redis', redis.url] : [])])
  try {
    const sources: Awaited<ReturnType<typeof createTree>>[] = []
    for (let i = 0; i < trees; i += 100) sources.push(...(await Promise.all(Array.from({ length: Math.min(100, trees - i) }, (_, j) => createTree(servers[(i + j) % servers.length]!.url)))))
    const before = await figuresAll(servers)
    const redis0 = await redisCpu(redis)
    const latencies: number[] = []
    const sockets: Socket[] = []
    const t0 = performance.now()
    let next = 0
    // 500 in flight, each a new connection joining the next tree, round-robin over the processes.
    const jobs = Array.from({ length: trees * perTree }, (_, i) => sources[i % trees]!.treeId)
    const lane = async () => {
      for (let job = next++; job < jobs.length; job = next++) {
        const s = await open(servers[job % servers.length]!.url)
        const t = performance.now()
        const res = (await s.timeout(60_000).emitWithAck('tree:join', { version: V, treeId: jobs[job]! })) as Ack<JoinResult>
        latencies.push(performance.now() - t)
        if (!res.ok) throw new Error(`join refused: ${res.error.code}`)
        sockets.push(s)
      }
    }
    await Promise.all(Array.from({ length: 500 }, lane))
    const seconds = (performance.now() - t0) / 1000
    const after = await figuresAll(servers)
    const redisUsed = (await redisCpu(redis)) - redis0
    latencies.sort((a, b) => a - b)
    for (const s of sockets) s.disconnect()
    for (const t of sources) t.client.destroy()
    const label = `${trees} small trees, ${processes} proc${redis ? ', Redis' : ''}`
    return `  ${label.padEnd(34)}${(jobs.length / seconds).toFixed(0)} joins/s (${jobs.length}); p50 ${pct(latencies, 0.5).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms; server CPU ${(after.cpu - before.cpu).toFixed(1)} s over ${seconds.toFixed(1)} s${redis ? `, Redis CPU ${redisUsed.toFixed(1)} s` : ''}`
  } finally {
    for (const s of servers) await stopServer(s)
  }
}

async function signals(args: string[], label: string, processes = 1, redis?: RedisProcess): Promise<string> {
  const servers = await startServers(processes, [...args, ...(redis ? ['--redis', redis.url] : [])])
  const server = servers[0]!
  try {
    const trees = await Promise.all(Array.from({ length: 10 }, () => createTree(server.url, 64)))
    const senders: { s: Socket; treeId: string; to: string }[] = []
    for (const tree of trees) {
      for (let i = 0; i < 50; i++) {
        // With two processes, every other sender is on the one its source is not on.
        const s = await open(servers[(i + 1) % servers.length]!.url)
        await s.timeout(60_000).emitWithAck('tree:join', { version: V, treeId: tree.treeId })
        senders.push({ s, treeId: tree.treeId, to: tree.sourceId })
      }
    }
    const data = { candidate: 'candidate:1 1 udp 2122260223 192.168.1.20 54400 typ host generation 0', sdpMid: '0', sdpMLineIndex: 0 }
    const durationMs = 5_000
    const before = await figuresAll(servers)
    const redis0 = await redisCpu(redis)
    const relayed0 = await counterAll(servers, 'munro_signals_relayed_total')
    const shed0 = await counterAll(servers, 'munro_signals_shed_total')
    const end = performance.now() + durationMs
    let refusedOther = 0
    // Each sender keeps 16 signals in flight: a closed loop, so the offered load follows what the server answers.
    await Promise.all(
      senders.map(async ({ s, treeId, to }) => {
        const lane = async () => {
          while (performance.now() < end) {
            const res = (await s.timeout(20_000).emitWithAck('signal', { treeId, to, data }).catch(() => null)) as Ack<object> | null
            if (res && !res.ok && res.error.code !== 'ERR_OVERLOADED') refusedOther++
            if (res && !res.ok && res.error.code === 'ERR_RATE_LIMITED') await new Promise((r) => setTimeout(r, 20))
          }
        }
        await Promise.all(Array.from({ length: 16 }, lane))
      })
    )
    const after = await figuresAll(servers)
    const redisUsed = (await redisCpu(redis)) - redis0
    const relayed = (await counterAll(servers, 'munro_signals_relayed_total')) - relayed0
    const shed = (await counterAll(servers, 'munro_signals_shed_total')) - shed0
    for (const { s } of senders) s.disconnect()
    for (const t of trees) t.client.destroy()
    const secs = durationMs / 1000
    return `  ${label.padEnd(28)}${(relayed / secs).toFixed(0)} relayed/s, ${(shed / secs).toFixed(0)} shed/s, ${refusedOther} other refusals; server CPU ${(((after.cpu - before.cpu) / secs) * 100).toFixed(0)}%${redis ? `, Redis CPU ${((redisUsed / secs) * 100).toFixed(0)}%` : ''}`
  } finally {
    for (const s of servers) await stopServer(s)
  }
}

export async function runSignalingBench(): Promise<string> {
  const peers = Number(process.env.BENCH_SIGNALING_PEERS ?? 8_000)
  const lines = ['signaling (munro-signal in its own process; simulated socket.io clients in the bench process)']
  lines.push(...(await holdAndJoin(peers)))
  lines.push(await holdBare(peers))
  if (process.env.BENCH_SIGNALING_HELD_ONLY) return lines.join('\n')
  lines.push(await signals(['--rate', '1000000', '--max-signals', '1000000', '--max-lag', '1000000', '--max-queued-bytes', '100000000'], 'signals, limits lifted'))
  lines.push(await signals([], 'signals, default limits'))
  const lifted = ['--rate', '1000000', '--max-signals', '1000000', '--max-lag', '1000000', '--max-queued-bytes', '100000000']
  const redisPeers = Number(process.env.BENCH_SIGNALING_REDIS_PEERS ?? 4_000)
  lines.push(`scale-out: in-memory vs --redis, ${redisPeers} peers`)
  lines.push(...(await holdAndJoin(redisPeers)))
  lines.push(await signals(lifted, 'signals, in-memory'))
  lines.push(await smallTrees(1, undefined))
  const redis = await startRedis()
  try {
    for (const processes of [1, 2]) {
      lines.push(...(await holdAndJoin(redisPeers, processes, redis)))
      lines.push(await signals(lifted, `signals, Redis, ${processes} proc`, processes, redis))
      lines.push(await smallTrees(processes, redis))
    }
  } finally {
    await redis.stop()
  }
  return lines.join('\n')
}
