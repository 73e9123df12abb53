import { randomBytes } from 'node:crypto'
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino, type Logger } from 'pino'
import { Server as IoServer } from 'socket.io'
import type { ClientToServerEvents, ServerToClientEvents } from '../src/protocol/signaling.js'
import { SignalingHandlers } from './handlers.js'
import { createHttpRoutes } from './http.js'
import { DEFAULT_LIMITS, resolveLimits, type SignalingLimits } from './limits.js'
import { LoadShedder } from './load-shedder.js'
import { ServerMetrics } from './metrics.js'
import { guardedParser } from './packet-guard.js'
import { MemoryTreeRegistry } from './registry/memory-registry.js'
import type { TreeRegistry } from './registry/tree-registry.js'
import { MemoryReportPolicy, type ReportPolicy } from './report-policy.js'
import { GraceTimers, MemorySessionStore, type SessionStore } from './sessions.js'
import { MemorySourceAuth, type SourceAuth } from './source-auth.js'
import { TreeService } from './trees.js'
import { RedisCluster, type RedisClusterOptions } from './redis/redis-cluster.js'

export { DEFAULT_LIMITS }

export interface SignalingServerOptions extends Partial<SignalingLimits> {
  /** Attach to this http server instead of creating one (then mount `handleHttp` yourself for /healthz and /metrics). */
  httpServer?: HttpServer
  /** Use this socket.io server instead of creating one. */
  io?: IoServer
  /** Allowed browser origins for socket.io: '*' (default), one origin, or a list. */
  cors?: string | string[]
  /** Serve this folder over HTTP (used to host the demo page). */
  staticDir?: string
  /**
   * Share trees with other processes through this Redis (a redis:// URL or
   * options): registry, sessions and report policy live there, and signals
   * reach sockets on other processes. Overrides registry and sessions; a
   * reportPolicy given still judges (it then decides alone what several
   * processes count). See docs/ARCHITECTURE.md, "Scale-out on Redis".
   */
  redis?: string | RedisClusterOptions
  /** Tree bookkeeping; defaults to one process's memory. */
  registry?: TreeRegistry
  /** Resume tickets; defaults to one process's memory. */
  sessions?: SessionStore
  /** Source challenges and proofs; defaults to one process's memory. */
  sourceAuth?: SourceAuth
  /** Who may get a relay evicted; defaults to the policy in the README's security model, in memory. */
  reportPolicy?: ReportPolicy
  /**
   * Key for resume tickets (at least 16 bytes). Give the same secret to a restarted
   * server and peers keep their ids, so the tree is rebuilt from the links they
   * hold; the default is random per process (peers then rejoin under new ids).
   */
  secret?: Uint8Array
  logger?: Logger
  /** Also export Node process metrics (CPU, memory, event loop) on /metrics. */
  processMetrics?: boolean
  /** socket.io heartbeat; a silent connection is dropped after interval + timeout. */
  pingIntervalMs?: number
  pingTimeoutMs?: number
}

export interface SignalingServer {
  readonly io: IoServer<ClientToServerEvents, ServerToClientEvents>
  readonly httpServer: HttpServer
  readonly metrics: ServerMetrics
  /** Handles /healthz, /metrics and static files; resolves false for anything else. */
  readonly handleHttp: ReturnType<typeof createHttpRoutes>
  listen(port?: number, host?: string): Promise<AddressInfo>
  close(): Promise<void>
}

/** Room for the event name, ack id and framing around a payload of maxPayloadBytes. */
const PACKET_OVERHEAD = 256

/** /trees/<id> lists at most this many nodes (breadth-first), so a huge tree cannot make a huge response. */
const MAX_TREE_NODES_SHOWN = 2_000

export function createSignalingServer(options: SignalingServerOptions = {}): SignalingServer {
  const limits = resolveLimits(options)
  const log = options.logger ?? pino({ level: 'silent' })
  const metrics = new ServerMetrics({ processMetrics: options.processMetrics })
  const cluster = options.redis === undefined ? undefined : new RedisCluster(typeof options.redis === 'string' ? { url: options.redis, secret: options.secret } : { secret: options.secret, ...options.redis }, limits, log)
  const registry = cluster?.registry ?? options.registry ?? new MemoryTreeRegistry()
  const ownsIo = !options.io
  const ownsHttp = !options.httpServer && ownsIo
  const httpServer = options.httpServer ?? createServer()
  const io: IoServer<ClientToServerEvents, ServerToClientEvents> =
    options.io ??
    new IoServer(httpServer, {
      cors: { origin: options.cors ?? '*' },
      // The door: engine.io drops a frame past 4x the limit outright; the guarded parser refuses
      // (and counts) any packet over the limit or binary. Both act before JSON parsing.
      maxHttpBufferSize: 4 * (limits.maxPayloadBytes + PACKET_OVERHEAD),
      parser: guardedParser(limits.maxPayloadBytes + PACKET_OVERHEAD),
      pingInterval: options.pingIntervalMs ?? 5_000,
      pingTimeout: options.pingTimeoutMs ?? 5_000
    })
  if (ownsIo) {
    // Once connected, nothing reads the upgrade request (the client's address is copied to the
    // engine.io socket first): dropping it frees its headers and parser state for every held peer.
    io.engine.on('connection', (raw: { request: unknown }) => {
      raw.request = null
    })
  }
  const timers = new GraceTimers()
  const shedder = new LoadShedder(limits.signalsPerSecond, limits.maxLagMs)
  const trees = new TreeService({
    registry,
    sessions: cluster?.sessions ?? options.sessions ?? new MemorySessionStore(options.secret ?? randomBytes(32), limits.resumeTtlMs, limits.maxResumeTickets),
    auth: options.sourceAuth ?? new MemorySourceAuth(limits.challengeTtlMs, limits.maxPendingChallenges),
    policy: options.reportPolicy ?? cluster?.reportPolicy ?? new MemoryReportPolicy(limits),
    timers,
    limits,
    metrics,
    log,
    cluster: cluster?.hooks(io)
  })
  cluster?.attach(io, trees)
  const handlers = new SignalingHandlers(io, trees, limits, shedder, metrics, log)
  const handleHttp = createHttpRoutes({
    metrics,
    staticDir: options.staticDir,
    health: () => ({ trees: trees.treeCount, peers: trees.peerCount }),
    tree: async (treeId) => {
      if (!(await registry.hasTree(treeId))) return undefined
      const nodes = await registry.nodes(treeId, MAX_TREE_NODES_SHOWN)
      return { treeId, size: await registry.size(treeId), nodes }
    }
  })
  if (ownsHttp) {
    httpServer.on('request', (req, res) => {
      // socket.io answers its own path; everything else is ours.
      if (req.url?.startsWith('/socket.io/')) return
      handleHttp(req, res)
        .then((handled) => {
          if (!handled && !res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
        })
        .catch((err) => {
          log.error({ err }, 'http handler failed')
          if (!res.headersSent) res.writeHead(500).end()
        })
    })
  }

  let closed: Promise<void> | undefined
  return {
    io,
    httpServer,
    metrics,
    handleHttp,
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolvePromise, reject) => {
        httpServer.once('error', reject)
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject)
          resolvePromise(httpServer.address() as AddressInfo)
        })
      })
    },
    close() {
      closed ??= new Promise<void>((resolvePromise) => {
        handlers.destroy()
        timers.destroy()
        shedder.destroy()
        if (ownsHttp) {
          io.close(() => resolvePromise())
          httpServer.closeAllConnections?.()
          return
        }
        // Attached to someone else's server: leave it running, drop only our sockets.
        if (ownsIo) io.disconnectSockets(true)
        resolvePromise()
      }).then(() => cluster?.close())
      return closed
    }
  }
}
