// PeerLink: one WebRTC connection that carries binary frames, with bounded
// memory and explicit backpressure. Every relay hop of the tree is one of these.
//
// Who does what:
// - simple-peer does the connection: offer/answer, trickle ICE, negotiation
//   quirks across browsers and node-webrtc, and teardown.
// - PeerLink does the data path itself, on simple-peer's RTCDataChannel
//   (private `_channel`), because simple-peer's stream API costs the hot path:
//   * receive: simple-peer turns every ArrayBuffer into a Buffer and pushes it
//     through a readable-stream, which buffers without bound when nobody reads
//     and hands out Buffers. We take over its `_onChannelMessage` hook (the one
//     place its channel `onmessage` calls) so each message becomes one
//     `Uint8Array` view over the channel's own ArrayBuffer: no copy, no stream.
//     Taking the hook from construction on also covers messages that arrive
//     before simple-peer announces `connect`.
//   * send: simple-peer's `send()` is only `_channel.send()`; its writable stream
//     has a fixed 64 KiB high-water mark and unbounded buffering in the stream.
//     We write to the channel ourselves against our own water marks, and take
//     over `_onChannelBufferedAmountLow` (what its channel `onbufferedamountlow`
//     calls) to flush our bounded queue.
//   Both hooks exist, with these names, in simple-peer 9.x. Browser builds
//   count on this takeover: their simple-peer (scripts/simple-peer-browser.ts)
//   leaves out the Buffer and stream data path that no byte ever takes.
//
// Sections: options and events · PeerLink · helpers.

import { EventEmitter } from 'eventemitter3'
import SimplePeer from 'simple-peer'
import { FrameQueue } from './frame-queue.js'
import { PeerLinkError, PeerLinkErrorCode, toPeerLinkError } from './errors.js'

// ------------------------------------------------------- options and events

/** Defaults, exported so callers and tests can reason about them. */
export const PEER_LINK_DEFAULTS = {
  maxFrameBytes: 16 * 1024,
  maxQueuedBytes: 1024 * 1024,
  lowWaterMark: 256 * 1024,
  highWaterMark: 1024 * 1024,
  connectTimeoutMs: 15_000
} as const

/**
 * Chromium closes a data channel whose send buffer would pass 16 MiB, and
 * node-webrtc silently drops messages past it. The high-water mark plus one
 * frame must stay well below that.
 */
export const MAX_HIGH_WATER_MARK = 8 * 1024 * 1024

/**
 * The fallback path, for data channels without a `bufferedamountlow` event:
 * node-webrtc (@roamhq/wrtc) has `bufferedAmount` but never fires the event.
 * Browsers always take the event path and never run the fallback's timers.
 * - While a link waits for its buffer to drain, it checks `bufferedAmount` this often.
 * - node-webrtc also updates `bufferedAmount` late: from its own threads, seen
 *   by JS only between turns of the event loop. Within one synchronous burst it
 *   reads stale (a tight loop of 4 KiB sends can hand it 400 MB while it still
 *   reads 0), so the link counts bytes written since the event loop last turned
 *   as buffered until the next turn (see #unsettled).
 */
const FALLBACK_POLL_MS = 5

/**
 * A WebRTC implementation for runtimes without a global one, e.g. Node with
 * `import wrtc from '@roamhq/wrtc'`. Structural, so any package shaped like the
 * browser globals fits.
 */
export interface WebRtcImplementation {
  RTCPeerConnection: abstract new (...args: never[]) => unknown
  RTCSessionDescription: abstract new (...args: never[]) => unknown
  RTCIceCandidate: abstract new (...args: never[]) => unknown
}

export interface PeerLinkOptions {
  /** True on the side that makes the offer (in a munro tree, the child). */
  initiator: boolean
  /** WebRTC implementation; omit in browsers. */
  wrtc?: WebRtcImplementation
  /** ICE servers. Omitted: simple-peer's defaults (public STUN). Tests pass `[]`. */
  iceServers?: RTCIceServer[]
  /** Full RTCPeerConnection configuration; `iceServers` above overrides its field. */
  config?: RTCConfiguration
  /** Largest frame send() accepts and the remote may send us. Default 16 KiB. */
  maxFrameBytes?: number
  /** Cap of the send queue that holds frames while the channel is full. Default 1 MiB. */
  maxQueuedBytes?: number
  /** The queue is flushed (and `drain` may fire) when bufferedAmount falls to this. Default 256 KiB (at most highWaterMark / 4). */
  lowWaterMark?: number
  /** Frames go straight to the channel only while bufferedAmount is below this. Default 1 MiB. */
  highWaterMark?: number
  /** The data channel must open within this, or ERR_CONNECT_TIMEOUT. Default 15 s. */
  connectTimeoutMs?: number
}

/**
 * Signaling data as simple-peer emits and accepts it: JSON-safe, opaque to callers.
 * Declared here, not as simple-peer's type, so the published types need no @types/simple-peer.
 */
export type SignalData = Record<string, unknown>

export type PeerLinkState = 'connecting' | 'open' | 'closed'

export interface PeerLinkEvents {
  /** Signaling data to hand to the remote link's signal(); several per connection (trickle ICE). */
  signal: (data: SignalData) => void
  /** The data channel is open; send() now writes to it. Once. */
  open: () => void
  /**
   * A frame from the remote, in order. It views an ArrayBuffer of its own (not
   * a pooled Buffer): keep it, or forward it with send(), without copying.
   */
  frame: (frame: Uint8Array) => void
  /** After send() returned false: the queue is empty and the channel's buffer is at or below lowWaterMark. */
  drain: () => void
  /** Why the link is closing; always followed by `close`. */
  error: (err: PeerLinkError) => void
  /** The last event, exactly once. `err` is set when the link ended on an error. */
  close: (err: PeerLinkError | undefined) => void
}

/** The parts of a simple-peer instance PeerLink reaches into; see the top of this file. */
interface SimplePeerInternals {
  _channel: RTCDataChannel | null
  _onChannelMessage: (event: MessageEvent) => void
  _onChannelBufferedAmountLow: () => void
}
type Peer = SimplePeer.Instance & SimplePeerInternals

// ---------------------------------------------------------------- PeerLink

export class PeerLink extends EventEmitter<PeerLinkEvents> {
  readonly initiator: boolean
  readonly maxFrameBytes: number
  readonly maxQueuedBytes: number
  readonly lowWaterMark: number
  readonly highWaterMark: number
  readonly connectTimeoutMs: number

  #state: PeerLinkState = 'connecting'
  #peer: Peer | null
  #channel: RTCDataChannel | null = null
  /** Whether #channel fires `bufferedamountlow`; if not, the fallback path is taken (see FALLBACK_POLL_MS). */
  #lowEventSupported = false
  /** Fallback path only: bytes written since the event loop last turned; always 0 in browsers. */
  #unsettled = 0
  #settleTimer: ReturnType<typeof setTimeout> | null = null
  readonly #queue: FrameQueue
  /** send() returned false and `drain` has not been emitted since. */
  #needDrain = false
  #connectTimer: ReturnType<typeof setTimeout> | null = null
  #pollTimer: ReturnType<typeof setInterval> | null = null
  #disposers: Array<() => void> = []
  #bytesSent = 0
  #bytesReceived = 0

  constructor(options: PeerLinkOptions) {
    super()
    if (typeof options !== 'object' || options === null) {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_OPTION, `options must be an object, got ${describe(options)}`)
    }
    if (typeof options.initiator !== 'boolean') {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_OPTION, `options.initiator must be a boolean, got ${describe(options.initiator)}`)
    }
    this.initiator = options.initiator
    this.maxFrameBytes = intOption(options, 'maxFrameBytes', 1, 256 * 1024)
    this.maxQueuedBytes = intOption(options, 'maxQueuedBytes', this.maxFrameBytes, 1024 * 1024 * 1024)
    this.highWaterMark = intOption(options, 'highWaterMark', 1, MAX_HIGH_WATER_MARK)
    // Default low-water mark: 256 KiB, or a quarter of a smaller high-water mark.
    const defaultLow = Math.min(PEER_LINK_DEFAULTS.lowWaterMark, Math.floor(this.highWaterMark / 4))
    this.lowWaterMark = intOption(options, 'lowWaterMark', 0, this.highWaterMark - 1, defaultLow)
    this.connectTimeoutMs = intOption(options, 'connectTimeoutMs', 1, 10 * 60_000)
    if (options.iceServers !== undefined && !Array.isArray(options.iceServers)) {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_OPTION, `options.iceServers must be an array, got ${describe(options.iceServers)}`)
    }
    if (options.wrtc !== undefined && typeof options.wrtc?.RTCPeerConnection !== 'function') {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_OPTION, 'options.wrtc must provide RTCPeerConnection, RTCSessionDescription and RTCIceCandidate')
    }
    this.#queue = new FrameQueue(this.maxQueuedBytes)

    const config: RTCConfiguration = { ...options.config }
    if (options.iceServers !== undefined) config.iceServers = options.iceServers
    let peer: Peer
    try {
      peer = new SimplePeer({
        initiator: this.initiator,
        trickle: true,
        config,
        ...(options.wrtc === undefined ? {} : { wrtc: options.wrtc as unknown as SimplePeer.Options['wrtc'] })
      }) as Peer
    } catch (err) {
      // simple-peer throws ERR_WEBRTC_SUPPORT synchronously when there is no WebRTC.
      throw toPeerLinkError(err, PeerLinkErrorCode.WEBRTC)
    }
    this.#peer = peer
    peer._onChannelMessage = this.#onMessage
    peer._onChannelBufferedAmountLow = this.#onBufferedAmountLow

    this.#listen(peer, 'signal', (data: SignalData) => {
      if (this.#state !== 'closed') this.#emit('signal', data)
    })
    this.#listen(peer, 'connect', () => this.#open())
    this.#listen(peer, 'error', (err: unknown) => this.destroy(toPeerLinkError(err, PeerLinkErrorCode.WEBRTC)))
    this.#listen(peer, 'close', () => this.destroy())

    this.#connectTimer = setTimeout(() => {
      this.#connectTimer = null
      this.destroy(new PeerLinkError(PeerLinkErrorCode.CONNECT_TIMEOUT, `the data channel did not open within ${this.connectTimeoutMs} ms`))
    }, this.connectTimeoutMs)
    unref(this.#connectTimer)
  }

  // ------------------------------------------------------------- accessors

  get state(): PeerLinkState {
    return this.#state
  }

  get destroyed(): boolean {
    return this.#state === 'closed'
  }

  /** Bytes waiting in the send queue (not yet handed to the channel). At most maxQueuedBytes. */
  get queuedBytes(): number {
    return this.#queue.bytes
  }

  /**
   * The data channel's send buffer, in bytes: its `bufferedAmount` (plus, on the
   * fallback path, bytes written since the event loop last turned); 0 before
   * open and after close.
   */
  get bufferedAmount(): number {
    return this.#channel === null ? 0 : this.#buffered(this.#channel)
  }

  /** Bytes of frames handed to the data channel. */
  get bytesSent(): number {
    return this.#bytesSent
  }

  /** Bytes of frames received. */
  get bytesReceived(): number {
    return this.#bytesReceived
  }

  // ------------------------------------------------------------ signaling

  /**
   * Feeds signaling data from the remote link. Ignored once the link is
   * destroyed (late candidates are normal). Malformed data ends the link with
   * simple-peer's ERR_SIGNALING.
   */
  signal(data: SignalData | Record<string, unknown>): void {
    if (this.#state === 'closed') return
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_SIGNAL, `signal data must be an object, got ${describe(data)}`)
    }
    try {
      this.#peer!.signal(data as SimplePeer.SignalData)
    } catch (err) {
      this.destroy(toPeerLinkError(err, 'ERR_SIGNALING'))
    }
  }

  // ------------------------------------------------------------- sending

  /**
   * Sends one frame. Three outcomes, so a relay can tell "slow down" from "dropped":
   * - returns true: handed to the channel; keep writing;
   * - returns false: accepted (handed to the channel, or queued); stop writing
   *   until `drain`. Before `open`, frames are queued and returns false.
   * - throws PeerLinkError ERR_QUEUE_FULL: NOT accepted — the queue would pass
   *   maxQueuedBytes. The link stays open and keeps what it had queued; the
   *   caller decides (a relay points that child at repair).
   * Also throws ERR_INVALID_FRAME, ERR_FRAME_TOO_LARGE, or ERR_DESTROYED.
   *
   * The frame is not copied while queued: do not modify it after send().
   */
  send(frame: Uint8Array): boolean {
    if (this.#state === 'closed') {
      throw new PeerLinkError(PeerLinkErrorCode.DESTROYED, 'cannot send: the link is destroyed')
    }
    if (!(frame instanceof Uint8Array)) {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_FRAME, `frame must be a Uint8Array, got ${describe(frame)}`)
    }
    const length = frame.byteLength
    if (length === 0) {
      throw new PeerLinkError(PeerLinkErrorCode.INVALID_FRAME, 'frame must not be empty')
    }
    if (length > this.maxFrameBytes) {
      throw new PeerLinkError(PeerLinkErrorCode.FRAME_TOO_LARGE, `frame must be at most ${this.maxFrameBytes} bytes, got ${length}`)
    }
    const channel = this.#channel
    if (channel !== null && this.#queue.length === 0 && this.#buffered(channel) < this.highWaterMark) {
      try {
        channel.send(frame as Uint8Array<ArrayBuffer>)
      } catch (err) {
        this.destroy(toPeerLinkError(err, 'ERR_DATA_CHANNEL'))
        return false
      }
      this.#bytesSent += length
      if (!this.#lowEventSupported) this.#unsettle(length)
      if (this.#buffered(channel) < this.highWaterMark) return true
      this.#waitForDrain()
      return false
    }
    if (!this.#queue.push(frame)) {
      throw new PeerLinkError(
        PeerLinkErrorCode.QUEUE_FULL,
        `send queue full: ${this.#queue.bytes} of ${this.maxQueuedBytes} bytes queued, frame of ${length} bytes dropped`
      )
    }
    this.#waitForDrain()
    return false
  }

  // ------------------------------------------------------------- lifecycle

  /**
   * Closes the link. Idempotent. Synchronously: clears every timer, detaches
   * from simple-peer and closes the connection, drops the queue, emits `error`
   * (if `err` is given) and then `close`, and removes all listeners. No event
   * is emitted after destroy() returns.
   */
  destroy(err?: Error): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer)
    this.#connectTimer = null
    this.#stopPoll()
    if (this.#settleTimer !== null) clearTimeout(this.#settleTimer)
    this.#settleTimer = null
    this.#unsettled = 0
    for (const dispose of this.#disposers) dispose()
    this.#disposers = []

    const peer = this.#peer
    this.#peer = null
    this.#channel = null
    if (peer !== null) {
      peer._onChannelMessage = noop
      peer._onChannelBufferedAmountLow = noop
      // simple-peer tears down on a microtask and may still emit; nobody listens.
      peer.on('error', noop)
      try {
        peer.destroy()
      } catch {
        // already torn down
      }
    }
    this.#queue.clear()
    this.#needDrain = false

    const linkErr = err === undefined ? undefined : toPeerLinkError(err, PeerLinkErrorCode.ABORTED)
    if (linkErr !== undefined) this.#emit('error', linkErr)
    this.#emit('close', linkErr)
    this.removeAllListeners()
  }

  // ------------------------------------------------------------- internals

  #open(): void {
    if (this.#state !== 'connecting') return
    const channel = this.#peer?._channel ?? null
    if (channel === null || channel.readyState !== 'open') return // simple-peer reports what went wrong
    this.#state = 'open'
    if (this.#connectTimer !== null) clearTimeout(this.#connectTimer)
    this.#connectTimer = null
    this.#channel = channel
    this.#lowEventSupported = typeof channel.bufferedAmountLowThreshold === 'number'
    if (this.#lowEventSupported) channel.bufferedAmountLowThreshold = this.lowWaterMark
    this.#emit('open')
    // Frames sent before open, if a listener did not destroy us.
    if (this.#state === 'open' && (this.#queue.length > 0 || this.#needDrain)) this.#flush()
  }

  // The receive hot path: one Uint8Array view per message, no copy.
  readonly #onMessage = (event: MessageEvent): void => {
    if (this.#state === 'closed') return
    const data: unknown = event.data
    let frame: Uint8Array
    if (data instanceof ArrayBuffer) {
      frame = new Uint8Array(data)
    } else if (ArrayBuffer.isView(data)) {
      frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    } else {
      this.destroy(new PeerLinkError(PeerLinkErrorCode.BAD_REMOTE_FRAME, `the remote sent a ${typeof data} message; only binary frames are allowed`))
      return
    }
    if (frame.byteLength === 0 || frame.byteLength > this.maxFrameBytes) {
      this.destroy(new PeerLinkError(PeerLinkErrorCode.BAD_REMOTE_FRAME, `the remote sent a frame of ${frame.byteLength} bytes; allowed 1 to ${this.maxFrameBytes}`))
      return
    }
    // A message can beat simple-peer's `connect` (it first reads ICE stats).
    if (this.#state === 'connecting') {
      this.#open()
      if ((this.#state as PeerLinkState) !== 'open') return
    }
    this.#bytesReceived += frame.byteLength
    this.#emit('frame', frame)
  }

  readonly #onBufferedAmountLow = (): void => {
    if (this.#state === 'open') this.#flush()
  }

  #waitForDrain(): void {
    this.#needDrain = true
    if (this.#channel !== null && !this.#lowEventSupported) this.#startPoll()
  }

  /** Moves queued frames into the channel up to highWaterMark; emits `drain` when due. */
  #flush(): void {
    const channel = this.#channel!
    const queue = this.#queue
    try {
      while (queue.length > 0 && this.#buffered(channel) < this.highWaterMark) {
        const frame = queue.shift()!
        channel.send(frame as Uint8Array<ArrayBuffer>)
        this.#bytesSent += frame.byteLength
        if (!this.#lowEventSupported) this.#unsettle(frame.byteLength)
      }
    } catch (err) {
      this.destroy(toPeerLinkError(err, 'ERR_DATA_CHANNEL'))
      return
    }
    if (queue.length === 0 && this.#needDrain && this.#buffered(channel) <= this.lowWaterMark) {
      this.#needDrain = false
      this.#stopPoll()
      this.#emit('drain')
      return
    }
    // Still waiting: the next `bufferedamountlow` (or poll tick) calls us again.
    if (!this.#lowEventSupported) {
      if (queue.length > 0 || this.#needDrain) this.#startPoll()
      else this.#stopPoll()
    }
  }

  #buffered(channel: RTCDataChannel): number {
    return channel.bufferedAmount + this.#unsettled
  }

  /** Fallback path: counts `bytes` as buffered until the event loop turns. */
  #unsettle(bytes: number): void {
    this.#unsettled += bytes
    if (this.#settleTimer !== null) return
    this.#settleTimer = setTimeout(() => {
      this.#settleTimer = null
      this.#unsettled = 0
    }, 0)
    unref(this.#settleTimer)
  }

  #startPoll(): void {
    if (this.#pollTimer !== null) return
    this.#pollTimer = setInterval(() => {
      if (this.#channel !== null && this.#buffered(this.#channel) <= this.lowWaterMark) this.#flush()
    }, FALLBACK_POLL_MS)
    unref(this.#pollTimer)
  }

  #stopPoll(): void {
    if (this.#pollTimer === null) return
    clearInterval(this.#pollTimer)
    this.#pollTimer = null
  }

  #listen(peer: Peer, event: string, fn: (...args: never[]) => void): void {
    const listener = fn as (...args: unknown[]) => void
    peer.on(event, listener)
    this.#disposers.push(() => peer.removeListener(event, listener))
  }

  /** Emits without letting a listener's exception break the link's state machine; the exception is rethrown on a microtask. */
  #emit<E extends keyof PeerLinkEvents>(event: E, ...args: Parameters<PeerLinkEvents[E]>): void {
    try {
      ;(this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args)
    } catch (err) {
      queueMicrotask(() => {
        throw err
      })
    }
  }
}

// ----------------------------------------------------------------- helpers

function noop(): void {}

function unref(timer: unknown): void {
  ;(timer as { unref?: () => void }).unref?.()
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'Object'}`
  if (typeof value === 'string') return `a string of length ${value.length}`
  return `${typeof value} ${String(value)}`
}

type IntOptionName = 'maxFrameBytes' | 'maxQueuedBytes' | 'lowWaterMark' | 'highWaterMark' | 'connectTimeoutMs'

function intOption(
  options: PeerLinkOptions,
  name: IntOptionName,
  min: number,
  max: number,
  fallback: number = PEER_LINK_DEFAULTS[name]
): number {
  const value = options[name] ?? fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new PeerLinkError(PeerLinkErrorCode.INVALID_OPTION, `options.${name} must be an integer from ${min} to ${max}, got ${describe(value)}`)
  }
  return value
}
