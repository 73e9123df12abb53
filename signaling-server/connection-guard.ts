// What one connection may cost: events per second (every event, known or
// not), a budget of abusive events after which it is disconnected, and a cap
// on the bytes queued towards it (a client that does not read is dropped
// instead of growing the server's memory).
import type { Socket } from 'socket.io'
import { SignalingErrorCode } from '../src/protocol/signaling.js'
import type { SignalingLimits } from './limits.js'
import type { ServerMetrics } from './metrics.js'
import { TokenBucket } from './rate-limit.js'

/** engine.io's packet as queued in its write buffer. */
interface EnginePacket {
  data?: string | Buffer | ArrayBuffer
}

/** engine.io socket -> its guard, for the listeners below (shared by every connection, so none costs a closure). */
const guards = new WeakMap<object, ConnectionGuard>()

function onPacketCreate(this: object, packet: EnginePacket): void {
  guards.get(this)?.queued(packet)
}

function onFlush(this: object): void {
  guards.get(this)?.flushed()
}

export class ConnectionGuard {
  private readonly events: TokenBucket
  private readonly abuse: TokenBucket
  private queuedBytes = 0
  private dropped = false

  constructor(
    private readonly socket: Socket,
    private readonly limits: SignalingLimits,
    private readonly metrics: ServerMetrics
  ) {
    this.events = new TokenBucket(limits.messagesPerSecond, limits.messageBurst)
    this.abuse = new TokenBucket(1, limits.abuseBurst)
    guards.set(socket.conn, this)
    socket.conn.on('packetCreate', onPacketCreate)
    socket.conn.on('flush', onFlush)
  }

  queued(packet: EnginePacket): void {
    const data = packet.data
    this.queuedBytes += data === undefined ? 1 : typeof data === 'string' ? data.length : data.byteLength
    if (this.queuedBytes > this.limits.maxQueuedBytes) this.drop(SignalingErrorCode.SLOW_READER)
  }

  /** engine.io hands its whole write buffer to the transport at once: nothing is queued after a flush. */
  flushed(): void {
    this.queuedBytes = 0
  }

  /** Takes one event from the per-connection budget; false means drop it (counted, never acked). */
  admit(): boolean {
    if (this.events.take()) return true
    this.strike(SignalingErrorCode.RATE_LIMITED)
    return false
  }

  /** Counts one abusive event; a connection that keeps sending them is disconnected. */
  strike(code: SignalingErrorCode): void {
    this.metrics.rejected.inc({ code })
    if (!this.abuse.take()) this.drop(SignalingErrorCode.ABUSE)
  }

  destroy(): void {
    this.socket.conn.off('packetCreate', onPacketCreate)
    this.socket.conn.off('flush', onFlush)
    guards.delete(this.socket.conn)
  }

  private drop(code: SignalingErrorCode): void {
    if (this.dropped) return
    this.dropped = true
    this.metrics.disconnected.inc({ code })
    // Not from inside engine.io's own emit: close once the current packet is handled. A plain
    // disconnect would wait for the write buffer to drain, which a client that does not read
    // never lets happen: discard what is queued and cut the TCP connection.
    setImmediate(() => {
      const conn = this.socket.conn as unknown as { close(discard: boolean): void; transport: { socket?: { terminate?(): void } } }
      conn.transport.socket?.terminate?.()
      conn.close(true)
      this.socket.disconnect(true)
    })
  }
}
