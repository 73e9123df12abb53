// broadcast(): records a MediaStream (camera, screen, canvas) with
// MediaRecorder, cuts the recording into container messages and writes each
// one to the source as soon as its last byte is recorded.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from '../errors.js'
import type { MunroSource } from '../source.js'
import type { ContainerMessage, ContainerSplitter } from './container.js'
import { Mp4Splitter } from './mp4-splitter.js'
import { WebmSplitter } from './webm-splitter.js'

/** Tried in order; the first the browser records wins. WebM first (every Chromium and Firefox), MP4 where only MP4 records (Safari). */
export const RECORDER_TYPES: readonly string[] = [
  'video/webm;codecs=vp8,opus',
  'video/webm;codecs=vp9,opus',
  'video/webm;codecs=vp8',
  'video/webm',
  'video/mp4;codecs=avc1,opus',
  'video/mp4;codecs=avc1,mp4a.40.2',
  'video/mp4'
]

export interface BroadcastOptions {
  /** Record this type instead of the first supported of RECORDER_TYPES. */
  mimeType?: string
  /** MediaRecorder's timeslice: how often it hands out data, in ms. Default 200. */
  timesliceMs?: number
  /** A keyframe (a place late joiners start) this often, in ms. Default 1000. */
  keyframeIntervalMs?: number
  /** Video bitrate. Default: the browser's (about 2.5 Mbit/s in Chromium). */
  videoBitsPerSecond?: number
  audioBitsPerSecond?: number
}

export interface BroadcastStats {
  mimeType: string
  messages: number
  startPoints: number
  bytes: number
  /** Recorded bits per second since the start. */
  bitrateBps: number
}

export interface BroadcastEvents {
  /** A container message was written to the source. */
  message: (message: ContainerMessage) => void
  /** Recording or cutting failed (ERR_BAD_CONTAINER, or the recorder's own error); the broadcast stopped. */
  error: (err: MunroError) => void
  /** The recording stopped: stop(), or every track of the stream ended (e.g. screen sharing was stopped). */
  ended: () => void
}

/** What broadcast() needs of a source: a MunroSource, or anything that writes and flushes like one. */
export type BroadcastTarget = Pick<MunroSource, 'write' | 'flush'>

/** The first type of `candidates` the recorder supports; throws ERR_UNSUPPORTED_CODEC if none. */
export function chooseRecorderType(isTypeSupported: (type: string) => boolean, candidates: readonly string[] = RECORDER_TYPES): string {
  const type = candidates.find((t) => isTypeSupported(t))
  if (type === undefined) throw new MunroError(ErrorCode.UNSUPPORTED_CODEC, `this browser records none of ${candidates.join(', ')}`)
  return type
}

export function splitterFor(mimeType: string): ContainerSplitter {
  if (/^(video|audio)\/webm/i.test(mimeType)) return new WebmSplitter()
  if (/^(video|audio)\/mp4/i.test(mimeType)) return new Mp4Splitter()
  throw new MunroError(ErrorCode.UNSUPPORTED_CODEC, `no splitter for ${mimeType}: record WebM or MP4`)
}

/**
 * Starts recording `stream` and writing it to `source`: the init segment
 * first (flagged `init`), then each cluster or fragment (flagged `startPoint`
 * when it begins with a keyframe). Throws ERR_UNSUPPORTED_RUNTIME without
 * MediaRecorder, ERR_UNSUPPORTED_CODEC when no type records.
 */
export function broadcast(source: BroadcastTarget, stream: MediaStream, options: BroadcastOptions = {}): Broadcast {
  if (typeof MediaRecorder === 'undefined') throw new MunroError(ErrorCode.UNSUPPORTED_RUNTIME, 'this runtime has no MediaRecorder')
  const mimeType = options.mimeType ?? chooseRecorderType((t) => MediaRecorder.isTypeSupported(t))
  if (!MediaRecorder.isTypeSupported(mimeType)) throw new MunroError(ErrorCode.UNSUPPORTED_CODEC, `this browser cannot record ${mimeType}`)
  const timesliceMs = options.timesliceMs ?? 200
  if (!(timesliceMs > 0)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, `timesliceMs must be > 0, got ${timesliceMs}`)
  const recorder = new MediaRecorder(stream, {
    mimeType,
    videoBitsPerSecond: options.videoBitsPerSecond,
    audioBitsPerSecond: options.audioBitsPerSecond,
    // Chromium's option (ignored elsewhere): without it, a keyframe comes only every few seconds.
    videoKeyFrameIntervalDuration: options.keyframeIntervalMs ?? 1000
  } as MediaRecorderOptions)
  return new Broadcast(source, stream, recorder, splitterFor(mimeType), timesliceMs)
}

export class Broadcast extends EventEmitter<BroadcastEvents> {
  readonly mimeType: string
  private readonly startedAt = Date.now()
  private readonly counts = { messages: 0, startPoints: 0, bytes: 0 }
  /** Blobs become bytes asynchronously; this keeps them in recording order. */
  private chain: Promise<void> = Promise.resolve()
  private liveTracks: number
  private stopped = false
  private failed = false
  private destroyed = false

  /** Use broadcast(). */
  constructor(
    private readonly source: BroadcastTarget,
    private readonly stream: MediaStream,
    private readonly recorder: MediaRecorder,
    private readonly splitter: ContainerSplitter,
    timesliceMs: number
  ) {
    super()
    this.mimeType = recorder.mimeType || 'video/webm'
    this.liveTracks = stream.getTracks().length
    recorder.addEventListener('dataavailable', this.onData)
    recorder.addEventListener('stop', this.onStop)
    recorder.addEventListener('error', this.onRecorderError)
    for (const track of stream.getTracks()) track.addEventListener('ended', this.onTrackEnded)
    recorder.start(timesliceMs)
  }

  stats(): BroadcastStats {
    const seconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000)
    return { mimeType: this.mimeType, ...this.counts, bitrateBps: (this.counts.bytes * 8) / seconds }
  }

  /** Stops recording; what was recorded is still written, then `ended`. The stream's tracks stay the caller's. */
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.recorder.state !== 'inactive') this.recorder.stop()
    else this.onStop()
  }

  /** Stops recording at once and detaches every listener. Idempotent. Does not destroy the source. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.stopped = true
    this.recorder.removeEventListener('dataavailable', this.onData)
    this.recorder.removeEventListener('stop', this.onStop)
    this.recorder.removeEventListener('error', this.onRecorderError)
    for (const track of this.stream.getTracks()) track.removeEventListener('ended', this.onTrackEnded)
    if (this.recorder.state !== 'inactive') this.recorder.stop()
    this.removeAllListeners()
  }

  private readonly onData = (event: BlobEvent): void => {
    const blob = event.data
    this.chain = this.chain.then(async () => {
      if (this.destroyed || this.failed || blob.size === 0) return
      const bytes = new Uint8Array(await blob.arrayBuffer())
      this.write(() => this.splitter.push(bytes))
    }).catch((err: Error) => this.fail(new MunroError(ErrorCode.BAD_CONTAINER, `could not read a recorded blob: ${err.message}`, { cause: err })))
  }

  private readonly onStop = (): void => {
    // The last dataavailable comes before stop, and its bytes are already in the chain.
    this.chain = this.chain.then(() => {
      if (this.destroyed) return
      if (!this.failed) this.write(() => this.splitter.end())
      this.emit('ended')
    })
  }

  /** Cuts (push or end) and writes what came out; a cutting or writing failure stops the broadcast. */
  private write(cut: () => ContainerMessage[]): void {
    try {
      for (const m of cut()) {
        this.source.write(m.data, { init: m.init, startPoint: m.startPoint })
        // A message is complete: sign and send it now rather than at the munro deadline.
        this.source.flush()
        this.counts.messages++
        this.counts.bytes += m.data.length
        if (m.startPoint) this.counts.startPoints++
        this.emit('message', m)
      }
    } catch (err) {
      this.fail(err instanceof MunroError ? err : new MunroError(ErrorCode.BAD_CONTAINER, (err as Error).message, { cause: err }))
    }
  }

  private readonly onRecorderError = (event: Event): void => {
    const cause = (event as Event & { error?: Error }).error
    this.fail(new MunroError(ErrorCode.UNSUPPORTED_CODEC, `MediaRecorder failed: ${cause?.message ?? 'unknown error'}`, { cause }))
  }

  private readonly onTrackEnded = (): void => {
    if (--this.liveTracks <= 0) this.stop()
  }

  private fail(err: MunroError): void {
    if (this.destroyed || this.failed) return
    this.failed = true
    this.emit('error', err)
    this.stop()
  }
}
