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

export class ConnectionGuard {
  private readonly events: TokenBucket
  private readonly abuse: TokenBucket
  private queuedBytes = 0
  private dropped = false
  private readonly onPacketCreate = (packet: EnginePacket) => {
    const data = packet.data
    this.queuedBytes += data === undefined ? 1 : typeof data === 'string' ? data.length : data.byteLength
    if (this.queuedBytes > this.limits.maxQueuedBytes) this.drop(SignalingErrorCode.SLOW_READER)
  }
  // engine.io hands its whole write buffer to the transport at once: nothing is queued after a flush.
  private readonly onFlush = () => {
    this.queuedBytes = 0
  }

  constructor(
    private readonly socket: Socket,
    private readonly limits: SignalingLimits,
    private readonly metrics: ServerMetrics
  ) {
    this.events = new TokenBucket(limits.messagesPerSecond, limits.messageBurst)
    this.abuse = new TokenBucket(1, limits.abuseBurst)
    socket.conn.on('packetCreate', this.onPacketCreate)
    socket.conn.on('flush', this.onFlush)
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
    this.socket.conn.off('packetCreate', this.onPacketCreate)
    this.socket.conn.off('flush', this.onFlush)
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
