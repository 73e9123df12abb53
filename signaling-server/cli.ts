// `munro-signal`: run the signaling server from the command line.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { Command, InvalidArgumentError, Option } from 'commander'
import { pino } from 'pino'
import { createSignalingServer, DEFAULT_LIMITS } from './server.js'

const positiveInt = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer')
  return n
}
const port = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535')
  return n
}

/** What the installed package knows about itself (bin/munro-signal.js passes it). */
export interface PackageInfo {
  version: string
  /** The demo page built into the package, served at / unless --static or --no-static says otherwise. */
  demoDir: string
}

const secret = (value: string): string => {
  if (value.length < 16) throw new InvalidArgumentError('expected at least 16 characters')
  return value
}

export function buildCli(info?: PackageInfo): Command {
  const program = new Command('munro-signal')
  if (info) program.version(info.version, '-V, --version', 'print the version and exit')
  return program
    .description('Signaling server for munro: places peers in k-ary trees and relays WebRTC offers, answers and ICE candidates.')
    .addOption(new Option('-p, --port <port>', 'port to listen on (0 picks a free one)').env('MUNRO_PORT').default(8080).argParser(port))
    .addOption(new Option('-H, --host <host>', 'address to listen on').env('MUNRO_HOST').default('0.0.0.0'))
    .addOption(new Option('--k <n>', 'default most children of a viewer').env('MUNRO_K').default(DEFAULT_LIMITS.k).argParser(positiveInt))
    .addOption(new Option('--k1 <n>', 'default most children of a source').env('MUNRO_K1').default(DEFAULT_LIMITS.k1).argParser(positiveInt))
    .addOption(new Option('--max-k <n>', 'largest k a tree may ask for').env('MUNRO_MAX_K').default(DEFAULT_LIMITS.maxK).argParser(positiveInt))
    .addOption(new Option('--max-k1 <n>', 'largest k1 a tree may ask for').env('MUNRO_MAX_K1').default(DEFAULT_LIMITS.maxK1).argParser(positiveInt))
    .addOption(new Option('--cors <origins>', "allowed browser origins, comma-separated, or '*'").env('MUNRO_CORS').default('*'))
    .addOption(new Option('--source-grace <ms>', 'how long a disconnected source may take to come back before its tree ends').env('MUNRO_SOURCE_GRACE_MS').default(DEFAULT_LIMITS.sourceGraceMs).argParser(positiveInt))
    .addOption(new Option('--detach-grace <ms>', 'how long a disconnected viewer keeps its place and children before it is detached').env('MUNRO_DETACH_GRACE_MS').default(DEFAULT_LIMITS.detachGraceMs).argParser(positiveInt))
    .addOption(new Option('--secret <text>', 'key for resume tickets (16+ characters); the same secret after a restart lets peers keep their ids and the tree be rebuilt from their links (default: random per process)').env('MUNRO_SECRET').argParser(secret))
    .addOption(new Option('--rate <n>', 'messages per second allowed per connection').env('MUNRO_RATE').default(DEFAULT_LIMITS.messagesPerSecond).argParser(positiveInt))
    .addOption(new Option('--max-signals <n>', 'signals relayed per second by the whole server; beyond it signals are refused (ERR_OVERLOADED) so pings and joins stay responsive').env('MUNRO_MAX_SIGNALS').default(DEFAULT_LIMITS.signalsPerSecond).argParser(positiveInt))
    .addOption(new Option('--max-lag <ms>', 'event-loop lag beyond which every signal is refused until the server catches up').env('MUNRO_MAX_LAG_MS').default(DEFAULT_LIMITS.maxLagMs).argParser(positiveInt))
    .addOption(new Option('--max-queued-bytes <n>', 'bytes queued towards one connection before it is dropped as a client that does not read').env('MUNRO_MAX_QUEUED_BYTES').default(DEFAULT_LIMITS.maxQueuedBytes).argParser(positiveInt))
    .addOption(new Option('--evict-after <n>', 'distinct addresses whose invalid-data reports evict a relay').env('MUNRO_EVICT_AFTER').default(DEFAULT_LIMITS.evictAfterReports).argParser(positiveInt))
    .addOption(new Option('--report-tenure <ms>', 'how long a peer must have been in the tree before its invalid-data report counts').env('MUNRO_REPORT_TENURE_MS').default(DEFAULT_LIMITS.reportTenureMs).argParser(positiveInt))
    .addOption(new Option('--max-trees-per-connection <n>', 'trees one connection may be in').env('MUNRO_MAX_TREES_PER_CONNECTION').default(DEFAULT_LIMITS.maxTreesPerConnection).argParser(positiveInt))
    .addOption(new Option('--redis <url>', 'share trees with other munro-signal processes through this Redis (redis://host:port); put the processes behind any load balancer').env('MUNRO_REDIS_URL'))
    .addOption(new Option('--lease <ms>', 'with --redis: a process silent for this long is dead and its peers are taken over').env('MUNRO_LEASE_MS').default(10_000).argParser(positiveInt))
    .addOption(new Option('--static <dir>', 'serve this folder over HTTP at / (default: the demo page built into munro-signal)').env('MUNRO_STATIC'))
    .addOption(new Option('--no-static', 'serve no files: GET / then answers a short page naming the endpoints'))
    .addOption(new Option('--log-level <level>', 'log level').env('MUNRO_LOG_LEVEL').default('info').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addHelpText(
      'after',
      `
HTTP endpoints:
  GET /healthz   JSON status: {"status":"ok","trees":N,"peers":N}
  GET /metrics   Prometheus text format (munro_peers, munro_trees, munro_joins_total,
                 munro_departures_total, munro_reparents_total, munro_reports_total,
                 munro_rejected_messages_total{code}, munro_connections_dropped_total{code},
                 munro_evictions_total, munro_signals_shed_total, ...)
  GET /trees/<id>  JSON shape of one tree, breadth-first (at most 2000 nodes)

Every option can also be set by the environment variable shown beside it.
Logs are JSON lines on stdout (pino).

Each connection holds one file descriptor: raise the limit before serving many
peers, e.g. \`ulimit -n 65536\` in the shell or LimitNOFILE=65536 in a systemd unit.`
    )
}

export async function main(argv: string[] = process.argv, info?: PackageInfo): Promise<void> {
  const program = buildCli(info)
  program.parse(argv)
  const opts = program.opts<{
    port: number
    host: string
    k: number
    k1: number
    maxK: number
    maxK1: number
    cors: string
    sourceGrace: number
    rate: number
    detachGrace: number
    secret?: string
    maxSignals: number
    maxLag: number
    maxQueuedBytes: number
    evictAfter: number
    reportTenure: number
    maxTreesPerConnection: number
    static?: string | false
    redis?: string
    lease: number
    logLevel: string
  }>()
  const logger = pino({ level: opts.logLevel })
  const cors = opts.cors === '*' ? '*' : opts.cors.split(',').map((o) => o.trim()).filter(Boolean)
  let server: ReturnType<typeof createSignalingServer>
  try {
    server = createSignalingServer({
      k: opts.k,
      k1: opts.k1,
      maxK: opts.maxK,
      maxK1: opts.maxK1,
      cors,
      sourceGraceMs: opts.sourceGrace,
      messagesPerSecond: opts.rate,
      detachGraceMs: opts.detachGrace,
      signalsPerSecond: opts.maxSignals,
      maxLagMs: opts.maxLag,
      maxQueuedBytes: opts.maxQueuedBytes,
      evictAfterReports: opts.evictAfter,
      reportTenureMs: opts.reportTenure,
      // Any text of 16+ characters: hashed to the 32-byte key.
      secret: opts.secret === undefined ? undefined : createHash('sha256').update(opts.secret).digest(),
      maxTreesPerConnection: opts.maxTreesPerConnection,
      staticDir: opts.static === false ? undefined : (opts.static ?? (info && existsSync(info.demoDir) ? info.demoDir : undefined)),
      redis: opts.redis === undefined ? undefined : { url: opts.redis, leaseMs: opts.lease },
      logger,
      processMetrics: true
    })
  } catch (err) {
    return program.error(`munro-signal: ${(err as Error).message}`, { exitCode: 2 })
  }
  const address = await server.listen(opts.port, opts.host)
  logger.info({ host: address.address, port: address.port }, `munro-signal listening on http://${address.address}:${address.port}`)
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down')
    void server.close().then(() => process.exit(0))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
