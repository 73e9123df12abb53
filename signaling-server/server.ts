import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pino, type Logger } from 'pino'
import { Server as IoServer } from 'socket.io'
import { SIGNALING_LIMITS, type ClientToServerEvents, type ServerToClientEvents } from '../src/protocol/signaling.js'
import { createHttpRoutes } from './http.js'
import { ServerMetrics } from './metrics.js'
import { MemoryTreeRegistry } from './registry/memory-registry.js'
import type { TreeRegistry } from './registry/tree-registry.js'
import { SignalingCore, type SignalingLimits } from './signaling-core.js'

export interface SignalingServerOptions extends Partial<SignalingLimits> {
  /** Attach to this http server instead of creating one (then mount `handleHttp` yourself for /healthz and /metrics). */
  httpServer?: HttpServer
  /** Use this socket.io server instead of creating one. */
  io?: IoServer
  /** Allowed browser origins for socket.io: '*' (default), one origin, or a list. */
  cors?: string | string[]
  /** Serve this folder over HTTP (used to host the demo page). */
  staticDir?: string
  /** Tree bookkeeping; defaults to one process's memory. */
  registry?: TreeRegistry
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

export const DEFAULT_LIMITS: SignalingLimits = {
  k: 4,
  k1: 10,
  maxK: 16,
  maxK1: SIGNALING_LIMITS.maxFanout,
  sourceGraceMs: 10_000,
  resumeTtlMs: 30_000,
  maxResumeTickets: 100_000,
  challengeTtlMs: 30_000,
  maxPendingChallenges: 4,
  maxTreesPerConnection: 4,
  messagesPerSecond: 50,
  messageBurst: 200,
  maxPayloadBytes: SIGNALING_LIMITS.maxPayloadBytes,
  evictAfterReports: 3
}

/** /trees/<id> lists at most this many nodes (breadth-first), so a huge tree cannot make a huge response. */
const MAX_TREE_NODES_SHOWN = 2_000

export function createSignalingServer(options: SignalingServerOptions = {}): SignalingServer {
  const limits = resolveLimits(options)
  const log = options.logger ?? pino({ level: 'silent' })
  const metrics = new ServerMetrics({ processMetrics: options.processMetrics })
  const registry = options.registry ?? new MemoryTreeRegistry()
  const ownsIo = !options.io
  const ownsHttp = !options.httpServer && ownsIo
  const httpServer = options.httpServer ?? createServer()
  const io: IoServer<ClientToServerEvents, ServerToClientEvents> =
    options.io ??
    new IoServer(httpServer, {
      cors: { origin: options.cors ?? '*' },
      // socket.io's own cap on one packet; the handlers enforce maxPayloadBytes per event.
      maxHttpBufferSize: limits.maxPayloadBytes * 4,
      pingInterval: options.pingIntervalMs ?? 5_000,
      pingTimeout: options.pingTimeoutMs ?? 5_000
    })
  const core = new SignalingCore(io, registry, limits, metrics, log)
  const handleHttp = createHttpRoutes({
    metrics,
    staticDir: options.staticDir,
    health: () => ({ trees: core.treeCount, peers: core.peerCount }),
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
      closed ??= new Promise((resolvePromise) => {
        core.destroy()
        if (ownsHttp) {
          io.close(() => resolvePromise())
          httpServer.closeAllConnections?.()
          return
        }
        // Attached to someone else's server: leave it running, drop only our sockets.
        if (ownsIo) io.disconnectSockets(true)
        resolvePromise()
      })
      return closed
    }
  }
}

function resolveLimits(options: Partial<SignalingLimits>): SignalingLimits {
  const limits = { ...DEFAULT_LIMITS }
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof SignalingLimits)[]) {
    const value = options[key]
    if (value === undefined) continue
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${String(value)}`)
    limits[key] = value
  }
  if (limits.maxK > SIGNALING_LIMITS.maxFanout || limits.maxK1 > SIGNALING_LIMITS.maxFanout) {
    throw new RangeError(`maxK and maxK1 must be at most ${SIGNALING_LIMITS.maxFanout}`)
  }
  limits.k = Math.min(limits.k, limits.maxK)
  limits.k1 = Math.min(limits.k1, limits.maxK1)
  return limits
}
