// play(): feeds a viewer's messages into a <video> through MediaSource:
// starts at the init message and a start point, keeps near the live edge,
// trims the back buffer, waits for a start point after a gap, and says why
// whenever the picture stops (typed events, stable codes).
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from '../errors.js'
import type { MunroMessage, MunroViewer } from '../viewer.js'
import { mimeTypeOfInit } from './codec.js'

export interface PlayOptions {
  /** Seconds of media kept behind the playhead; older media is removed before the next append. Default 10. */
  backBufferSec?: number
  /** How far behind the newest buffered frame to play, in seconds. Default 0.3. */
  targetLatencySec?: number
  /** Playback rate while catching up with the live edge (at most 1.1). Default 1.1. */
  catchUpRate?: number
  /** Further behind the live edge than this: seek instead of speeding up. Default 3 s. */
  maxBehindSec?: number
  /** The picture did not advance for this long while playing: an ERR_MEDIA_STALL error. Default 4000 ms. */
  stallMs?: number
  /** Messages waiting for the SourceBuffer; past this, drop them and wait for the next start point. Default 64. */
  maxQueue?: number
}

export type PlayerState = 'waiting-init' | 'waiting-start' | 'playing' | 'stalled' | 'failed' | 'destroyed'

export interface PlayerStats {
  state: PlayerState
  /** The type the SourceBuffer was created with, from the init message. */
  mimeType: string | null
  /**
   * How far behind the source the frame on screen is, in ms: now minus the
   * source's signed wall time of the message holding it, plus the frame's age
   * inside that message. Null before the first frame.
   */
  liveLatencyMs: number | null
  /** Seconds between the playhead and the newest buffered frame. */
  behindLiveEdgeSec: number
  bufferedSec: number
  framesDecoded: number
  framesDropped: number
  videoWidth: number
  videoHeight: number
  messagesAppended: number
  /** Messages dropped while waiting for a start point (joining, after a gap or a recovery). */
  messagesSkipped: number
  bytesAppended: number
  /** Appended media over the last few seconds, bits per second. */
  bitrateBps: number
  /** ms from play() to the first frame on screen; null until then. */
  firstFrameMs: number | null
  gaps: number
  seeks: number
  stalls: number
  recoveries: number
}

export interface PlayerEvents {
  /** A frame is on screen: the first one, and again after a stall or a recovery. */
  playing: () => void
  /** No picture until the next start point: at the start, after a gap in the stream, after a recovery. */
  waiting: (reason: 'start' | 'gap' | 'recovery') => void
  /** The browser refused to start playback without a user gesture: call `video.play()` from a click (or mute the video). */
  'autoplay-blocked': () => void
  /**
   * ERR_UNSUPPORTED_CODEC (fatal: state `failed`), ERR_DECODE and ERR_MEDIA_QUOTA (the
   * player rebuilds itself and resumes at the next start point), ERR_MEDIA_STALL (the
   * picture froze; `playing` follows when it moves again).
   */
  error: (err: MunroError) => void
}

/** What play() needs of a viewer: its messages (with the source's signed `timestamp` and `gap`). */
export type PlayableViewer = Pick<MunroViewer, 'on' | 'off' | 'stats'>

export type MediaSourceConstructor = { new (): MediaSource; isTypeSupported(type: string): boolean }

/** MediaSource, or ManagedMediaSource where it is the only one (iPhone Safari). */
export function mediaSourceConstructor(scope: Record<string, unknown> = globalThis as unknown as Record<string, unknown>): MediaSourceConstructor | null {
  return ((scope.MediaSource ?? scope.ManagedMediaSource) as MediaSourceConstructor | undefined) ?? null
}

/** Starts playing `viewer`'s stream in `video`. Throws ERR_UNSUPPORTED_RUNTIME without MediaSource. */
export function play(viewer: PlayableViewer, video: HTMLVideoElement, options: PlayOptions = {}): Player {
  const MS = mediaSourceConstructor()
  if (!MS) throw new MunroError(ErrorCode.UNSUPPORTED_RUNTIME, 'this browser has no MediaSource')
  const catchUpRate = options.catchUpRate ?? 1.1
  if (!(catchUpRate >= 1 && catchUpRate <= 1.1)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, `catchUpRate must be within [1, 1.1], got ${catchUpRate}`)
  return new Player(viewer, video, MS, {
    backBufferSec: options.backBufferSec ?? 10,
    targetLatencySec: options.targetLatencySec ?? 0.3,
    catchUpRate,
    maxBehindSec: options.maxBehindSec ?? 3,
    stallMs: options.stallMs ?? 4000,
    maxQueue: options.maxQueue ?? 64
  })
}

interface Appended {
  /** Buffered end (s) right after the message was appended: where its last frame ends. */
  endSec: number
  /** The source's wall time (ms) of the message. */
  wallMs: number
}

const TICK_MS = 250
const HOLE_SEC = 0.2

export class Player extends EventEmitter<PlayerEvents> {
  private state: PlayerState = 'waiting-init'
  private mimeType: string | null = null
  private mediaSource: MediaSource | null = null
  private objectUrl: string | null = null
  private sourceBuffer: SourceBuffer | null = null
  private init: Uint8Array | null = null
  /** The init segment must be appended before the next media message. */
  private initPending = false
  private readonly queue: { data: Uint8Array; wallMs: number }[] = []
  /** Media appended, for live latency: where each message ends on the timeline and when the source signed it. */
  private readonly appended: Appended[] = []
  private readonly recentBytes: { at: number; bytes: number }[] = []
  private needStart = true
  private started = false
  private quotaRetried = false
  private lastTime = -1
  private lastAdvance = Date.now()
  private readonly createdAt = Date.now()
  private readonly timer: ReturnType<typeof setInterval>
  private readonly counts = { messagesAppended: 0, messagesSkipped: 0, bytesAppended: 0, gaps: 0, seeks: 0, stalls: 0, recoveries: 0 }
  private firstFrameMs: number | null = null
  /** The media append in flight (null for init and trims). */
  private pendingAppend: { wallMs: number; bytes: number } | null = null

  /** Use play(). */
  constructor(
    private readonly viewer: PlayableViewer,
    private readonly video: HTMLVideoElement,
    private readonly MS: MediaSourceConstructor,
    private readonly o: Required<PlayOptions>
  ) {
    super()
    viewer.on('message', this.onMessage)
    video.addEventListener('error', this.onVideoError)
    this.timer = setInterval(this.tick, TICK_MS)
  }

  stats(): PlayerStats {
    const v = this.video
    const quality = typeof v.getVideoPlaybackQuality === 'function' ? v.getVideoPlaybackQuality() : null
    const b = v.buffered
    const end = b.length > 0 ? b.end(b.length - 1) : 0
    const now = Date.now()
    const recent = this.recentBytes.filter((r) => now - r.at <= 3000)
    const span = recent.length > 0 ? Math.max(1, now - recent[0]!.at) : 1
    return {
      state: this.state,
      mimeType: this.mimeType,
      liveLatencyMs: this.liveLatencyMs(),
      behindLiveEdgeSec: this.started ? Math.max(0, end - v.currentTime) : 0,
      bufferedSec: b.length > 0 ? end - b.start(0) : 0,
      framesDecoded: quality?.totalVideoFrames ?? 0,
      framesDropped: quality?.droppedVideoFrames ?? 0,
      videoWidth: v.videoWidth,
      videoHeight: v.videoHeight,
      ...this.counts,
      bitrateBps: (recent.reduce((n, r) => n + r.bytes, 0) * 8 * 1000) / span,
      firstFrameMs: this.firstFrameMs
    }
  }

  /** Stops feeding the video and detaches from the viewer and the element. Idempotent; leaves the viewer running. */
  destroy(): void {
    if (this.state === 'destroyed') return
    this.state = 'destroyed'
    clearInterval(this.timer)
    this.viewer.off('message', this.onMessage)
    this.video.removeEventListener('error', this.onVideoError)
    this.teardownMedia()
    this.removeAllListeners()
  }

  // ------------------------------------------------------------ messages in

  private readonly onMessage = (m: MunroMessage): void => {
    if (this.state === 'destroyed' || this.state === 'failed') return
    if (m.init) return this.onInit(m.data)
    if (this.init === null) return void this.counts.messagesSkipped++
    if (m.gap) {
      this.counts.gaps++
      this.waitForStart('gap')
    }
    if (this.needStart && !m.startPoint) return void this.counts.messagesSkipped++
    if (this.queue.length >= this.o.maxQueue) {
      // The decoder cannot keep up: drop what waits rather than hold it without bound.
      this.counts.messagesSkipped += this.queue.length
      this.queue.length = 0
      this.waitForStart('gap')
      if (!m.startPoint) return void this.counts.messagesSkipped++
    }
    this.needStart = false
    if (this.started && this.state === 'waiting-start') this.state = 'playing'
    this.queue.push({ data: m.data, wallMs: m.timestamp })
    this.pump()
  }

  private onInit(data: Uint8Array): void {
    // The source re-signs the same init message now and then: nothing changed.
    if (this.init && sameBytes(this.init, data)) return
    const mimeType = mimeTypeOfInit(data)
    if (!mimeType || !this.MS.isTypeSupported(mimeType)) {
      return this.fatal(new MunroError(ErrorCode.UNSUPPORTED_CODEC, `this browser cannot play ${mimeType ?? 'this stream (no WebM or MP4 init segment)'}`))
    }
    const first = this.init === null
    this.init = data
    this.mimeType = mimeType
    // A new recording restarts its timestamps (and may change codecs): a fresh MediaSource for it.
    this.rebuild(first ? 'start' : 'recovery')
  }

  private waitForStart(reason: 'start' | 'gap' | 'recovery'): void {
    this.needStart = true
    if (this.state === 'playing' || this.state === 'stalled') this.state = 'waiting-start'
    else if (this.state === 'waiting-init') this.state = 'waiting-start'
    this.emit('waiting', reason)
  }

  // ------------------------------------------------------------ MediaSource

  private openMedia(): void {
    const ms = new this.MS()
    this.mediaSource = ms
    this.objectUrl = URL.createObjectURL(ms)
    // ManagedMediaSource plays only with remote playback off.
    this.video.disableRemotePlayback = true
    ms.addEventListener('sourceopen', this.onSourceOpen, { once: true })
    this.video.src = this.objectUrl
  }

  private readonly onSourceOpen = (): void => {
    const ms = this.mediaSource
    if (!ms || !this.mimeType) return
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl)
    try {
      const sb = ms.addSourceBuffer(this.mimeType)
      sb.mode = 'segments'
      sb.addEventListener('updateend', this.onUpdateEnd)
      this.sourceBuffer = sb
    } catch (err) {
      return this.fatal(new MunroError(ErrorCode.UNSUPPORTED_CODEC, `MediaSource refused ${this.mimeType}: ${(err as Error).message}`, { cause: err }))
    }
    this.pump()
  }

  private teardownMedia(): void {
    const sb = this.sourceBuffer
    if (sb) {
      sb.removeEventListener('updateend', this.onUpdateEnd)
    }
    this.mediaSource?.removeEventListener('sourceopen', this.onSourceOpen)
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl)
    this.sourceBuffer = null
    this.mediaSource = null
    this.objectUrl = null
    this.video.removeAttribute('src')
    this.video.load()
  }

  /** After a decode error or a full buffer: a fresh MediaSource from the latest init, resuming at the next start point. */
  private recover(err: MunroError): void {
    this.emit('error', err)
    if (this.state === 'destroyed' || this.state === 'failed') return
    this.counts.recoveries++
    this.rebuild('recovery')
  }

  private rebuild(reason: 'start' | 'recovery'): void {
    if (this.mediaSource) this.teardownMedia()
    this.queue.length = 0
    this.appended.length = 0
    this.pendingAppend = null
    this.started = false
    this.lastTime = -1
    this.openMedia()
    this.initPending = true
    this.waitForStart(reason)
  }

  private fatal(err: MunroError): void {
    this.state = 'failed'
    this.queue.length = 0
    this.emit('error', err)
  }

  // ------------------------------------------------------------ appending

  /** Next SourceBuffer operation, if it is free: the init, a trim, or an append. */
  private pump(): void {
    const sb = this.sourceBuffer
    if (!sb || sb.updating || this.mediaSource?.readyState !== 'open') return
    if (this.initPending && this.init) {
      if (this.queue.length === 0) return
      this.initPending = false
      return this.append(this.init, null)
    }
    const next = this.queue[0]
    if (!next) return
    // Remove before append: the buffer's quota is never spent on the past.
    const trimTo = this.video.currentTime - this.o.backBufferSec
    if (this.started && sb.buffered.length > 0 && trimTo - sb.buffered.start(0) > 1) {
      sb.remove(0, trimTo)
      return
    }
    this.queue.shift()
    this.append(next.data, next.wallMs)
  }

  private append(data: Uint8Array, wallMs: number | null): void {
    const sb = this.sourceBuffer!
    try {
      sb.appendBuffer(data as Uint8Array<ArrayBuffer>)
    } catch (err) {
      if ((err as DOMException).name !== 'QuotaExceededError') return this.recover(new MunroError(ErrorCode.DECODE, `appendBuffer failed: ${(err as Error).message}`, { cause: err }))
      if (!this.quotaRetried && sb.buffered.length > 0 && this.video.currentTime - 1 > sb.buffered.start(0)) {
        // Keep only the last second behind the playhead, then try this message again.
        this.quotaRetried = true
        if (wallMs !== null) this.queue.unshift({ data, wallMs })
        else this.initPending = true
        sb.remove(0, this.video.currentTime - 1)
        return
      }
      return this.recover(new MunroError(ErrorCode.MEDIA_QUOTA, `the SourceBuffer is full (${data.length} bytes refused after trimming)`, { cause: err }))
    }
    this.quotaRetried = false
    if (wallMs !== null) this.pendingAppend = { wallMs, bytes: data.length }
  }

  private readonly onUpdateEnd = (): void => {
    const sb = this.sourceBuffer
    if (!sb) return
    const done = this.pendingAppend
    this.pendingAppend = null
    if (done && sb.buffered.length > 0) {
      this.counts.messagesAppended++
      this.counts.bytesAppended += done.bytes
      const now = Date.now()
      this.recentBytes.push({ at: now, bytes: done.bytes })
      while (this.recentBytes.length > 0 && now - this.recentBytes[0]!.at > 3000) this.recentBytes.shift()
      this.appended.push({ endSec: sb.buffered.end(sb.buffered.length - 1), wallMs: done.wallMs })
      while (this.appended.length > 0 && this.appended[0]!.endSec < this.video.currentTime - this.o.backBufferSec) this.appended.shift()
      if (!this.started) this.begin()
    }
    this.pump()
  }

  /** The first start point is buffered: its timestamps are the recording's, so seek there, then play. */
  private begin(): void {
    const b = this.video.buffered
    if (b.length === 0) return
    this.started = true
    this.state = 'playing'
    this.seek(b.start(b.length - 1))
    this.lastAdvance = Date.now()
    this.video.play().then(
      () => this.onFirstFrame(),
      (err: Error) => {
        if (err.name === 'NotAllowedError') this.emit('autoplay-blocked')
      }
    )
  }

  private onFirstFrame(): void {
    if (this.firstFrameMs === null) this.firstFrameMs = Date.now() - this.createdAt
    this.emit('playing')
  }

  private seek(to: number): void {
    this.video.currentTime = to
    this.counts.seeks++
  }

  // ------------------------------------------------------------ live edge, stalls, errors

  private readonly tick = (): void => {
    if (!this.started || this.state === 'destroyed' || this.state === 'failed') return
    const v = this.video
    const b = v.buffered
    if (b.length === 0) return
    const end = b.end(b.length - 1)
    const t = v.currentTime
    // A hole (the stream skipped forward): the playhead halts just short of a
    // range's end, so jump to the next range once within HOLE_SEC of it.
    let current = -1
    for (let i = 0; i < b.length; i++) if (t >= b.start(i) - 0.05 && t < b.end(i)) current = i
    const next = current + 1 < b.length ? b.start(current === -1 ? b.length - 1 : current + 1) : null
    const behind = end - t
    if (next !== null && next > t && (current === -1 || b.end(current) - t < HOLE_SEC)) this.seek(next)
    else if (behind > this.o.maxBehindSec) this.seek(Math.max(b.start(b.length - 1), end - this.o.targetLatencySec))
    else if (behind > this.o.targetLatencySec + 0.25) v.playbackRate = this.o.catchUpRate
    else if (behind <= this.o.targetLatencySec) v.playbackRate = 1

    const now = Date.now()
    if (t !== this.lastTime) {
      this.lastTime = t
      this.lastAdvance = now
      if (this.state === 'stalled') {
        this.state = 'playing'
        this.emit('playing')
      }
    } else if (this.state === 'playing' && !v.paused && now - this.lastAdvance >= this.o.stallMs) {
      this.state = 'stalled'
      this.counts.stalls++
      this.emit('error', new MunroError(ErrorCode.MEDIA_STALL, `the picture has not moved for ${now - this.lastAdvance} ms (${behind.toFixed(1)} s buffered ahead)`))
    }
  }

  private liveLatencyMs(): number | null {
    if (!this.started) return null
    const t = this.video.currentTime
    const holding = this.appended.find((a) => a.endSec >= t)
    if (!holding) return null
    return Date.now() - holding.wallMs + (holding.endSec - t) * 1000
  }

  private readonly onVideoError = (): void => {
    const e = this.video.error
    if (!e || this.state === 'destroyed' || this.state === 'failed') return
    if (e.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED) return this.fatal(new MunroError(ErrorCode.UNSUPPORTED_CODEC, `the video element cannot play ${this.mimeType}: ${e.message}`))
    this.recover(new MunroError(ErrorCode.DECODE, `the video element failed (code ${e.code}): ${e.message}`))
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
