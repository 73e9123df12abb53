// The socket side: every event is admitted (rate, known name), validated and
// dispatched to TreeService, and answered with exactly one ack. Nothing a
// client sends can throw past here, and abuse costs the abuser its connection.
import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import * as v from 'valibot'
import {
  CreateTreeSchema,
  JoinTreeSchema,
  LeaveTreeSchema,
  ReportParentSchema,
  SendSignalSchema,
  SignalingErrorCode,
  type Ack,
  type ClientToServerEvents
} from '../src/protocol/signaling.js'
import { ConnectionGuard } from './connection-guard.js'
import { toErrorBody } from './errors.js'
import type { SignalingLimits } from './limits.js'
import type { LoadShedder } from './load-shedder.js'
import type { ServerMetrics } from './metrics.js'
import { PacketRefused } from './packet-guard.js'
import { parsePayload } from './parse.js'
import type { Connection, IoServer, IoSocket, TreeService } from './trees.js'

/** tree:challenge takes an empty object. */
const EmptySchema = v.strictObject({})

/** Codes that only a broken or hostile client causes: each one is a strike against its connection. */
const ABUSIVE = new Set<string>([SignalingErrorCode.BAD_PAYLOAD, SignalingErrorCode.UNSUPPORTED_VERSION, SignalingErrorCode.UNKNOWN_EVENT])

type Handler = (conn: Connection, payload: never) => Promise<object>

/** One connection as the handlers see it. */
interface Client {
  conn: Connection
  guard: ConnectionGuard
}

export class SignalingHandlers {
  private readonly handlers: Record<keyof ClientToServerEvents, { schema: v.GenericSchema; run: Handler }>
  /** Told to every client on connect: a new one means this process restarted. */
  private readonly instance = randomUUID()
  private destroyed = false

  constructor(
    private readonly io: IoServer,
    private readonly trees: TreeService,
    private readonly limits: SignalingLimits,
    private readonly shedder: LoadShedder,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger
  ) {
    this.handlers = {
      'tree:challenge': { schema: EmptySchema, run: (conn) => trees.issueChallenge(conn) },
      'tree:create': { schema: CreateTreeSchema, run: (conn, req) => trees.createTree(conn, req) },
      'tree:join': { schema: JoinTreeSchema, run: (conn, req) => trees.joinTree(conn, req) },
      'tree:leave': { schema: LeaveTreeSchema, run: (conn, req: v.InferOutput<typeof LeaveTreeSchema>) => trees.leaveTree(conn, req.treeId) },
      'peer:report': { schema: ReportParentSchema, run: (conn, req) => trees.reportParent(conn, req) },
      signal: { schema: SendSignalSchema, run: (conn, req) => trees.relaySignal(conn, req) }
    }
    io.on('connection', this.onConnection)
  }

  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.io.off('connection', this.onConnection)
  }

  /**
   * Each connection's state, found from the socket by listeners shared by all
   * connections: per-connection closures and listener tables were a large part
   * of what a held peer cost (README, Performance).
   */
  private readonly clients = new WeakMap<IoSocket, Client>()

  private readonly onConnection = (socket: IoSocket): void => {
    const conn: Connection = { id: socket.id, socket, address: socket.handshake.address, memberships: new Map(), closed: false }
    this.clients.set(socket, { conn, guard: new ConnectionGuard(socket, this.limits, this.metrics) })
    this.metrics.connections.inc()
    socket.emit('server:hello', { instance: this.instance })
    socket.onAny(this.onEvent)
    socket.on('error', this.onError)
    socket.on('disconnect', this.onDisconnect)
  }

  // Shared by every socket: `this` is the socket the event came from.
  private readonly onEvent = onSocket(this.clients, (client, event: string, ...args: unknown[]) => {
    if (!client.guard.admit()) return
    if (!Object.hasOwn(this.handlers, event)) return client.guard.strike(SignalingErrorCode.UNKNOWN_EVENT)
    // Under overload a signal is refused before it costs a validation or a registry query.
    if (event === 'signal' && !this.shedder.admitSignal()) return this.shed(args[args.length - 1])
    void this.dispatch(client.conn, client.guard, event as keyof ClientToServerEvents, args)
  })

  // The guarded parser refused a packet (binary or oversize); socket.io closes the connection next.
  private readonly onError = onSocket(this.clients, (_client, err: unknown) => {
    const code = err instanceof PacketRefused ? err.code : SignalingErrorCode.BAD_PAYLOAD
    this.metrics.rejected.inc({ code })
    this.metrics.disconnected.inc({ code })
  })

  private readonly onDisconnect = onSocket(this.clients, (client) => {
    client.guard.destroy()
    this.metrics.connections.dec()
    if (!this.destroyed) this.trees.disconnected(client.conn)
  })

  private shed(ack: unknown): void {
    this.metrics.shed.inc()
    this.metrics.rejected.inc({ code: SignalingErrorCode.OVERLOADED })
    if (typeof ack === 'function') ack({ ok: false, error: { code: SignalingErrorCode.OVERLOADED, message: 'the server is shedding signals; retry shortly' } })
  }

  /** Validates one event's arguments (exactly a payload and an ack), runs it, acks once. */
  private async dispatch(conn: Connection, guard: ConnectionGuard, event: keyof ClientToServerEvents, args: unknown[]): Promise<void> {
    const ack = args[args.length - 1]
    if (typeof ack !== 'function') return guard.strike(SignalingErrorCode.BAD_PAYLOAD)
    const reply = ack as (res: Ack<object>) => void
    try {
      if (args.length !== 2) {
        const error = { code: SignalingErrorCode.BAD_PAYLOAD, message: `${event} takes exactly one payload and an ack, got ${args.length - 1} arguments` }
        guard.strike(error.code)
        return reply({ ok: false, error })
      }
      const { schema, run } = this.handlers[event]
      const payload = parsePayload(schema, args[0])
      reply({ ok: true, ...(await run(conn, payload as never)) })
    } catch (err) {
      const error = toErrorBody(err)
      if (error.code === SignalingErrorCode.INTERNAL) this.log.error({ err, event }, 'handler failed')
      if (ABUSIVE.has(error.code)) guard.strike(error.code)
      else this.metrics.rejected.inc({ code: error.code })
      reply({ ok: false, error })
    }
  }
}

/** A listener shared by every socket: socket.io calls it with `this` set to the socket, whose state it looks up. */
function onSocket<A extends unknown[]>(clients: WeakMap<IoSocket, Client>, run: (client: Client, ...args: A) => void): (this: IoSocket, ...args: A) => void {
  return function (this: IoSocket, ...args: A): void {
    const client = clients.get(this)
    if (client) run(client, ...args)
  }
}
