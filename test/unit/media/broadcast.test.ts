// broadcast() with a stand-in MediaRecorder replaying a real recording blob by
// blob: what reaches the source, in which order, flagged how, flushed when.
import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { broadcast, type BroadcastTarget } from '../../../src/media/broadcast.js'
import { WebmSplitter } from '../../../src/media/webm-splitter.js'

const bytes = new Uint8Array(readFileSync(new URL('../../media/fixtures/vp8.webm', import.meta.url)))
const sizes = (JSON.parse(readFileSync(new URL('../../media/fixtures/vp8.blobs.json', import.meta.url), 'utf8')) as { blobs: number[] }).blobs

/** Hands out blobs when told to; records how it was started. */
class StandInRecorder extends EventTarget {
  static instances: StandInRecorder[] = []
  static isTypeSupported = (type: string) => type.startsWith('video/webm')
  state: 'inactive' | 'recording' = 'inactive'
  timeslice = 0
  constructor(
    readonly stream: unknown,
    readonly options: MediaRecorderOptions & { videoKeyFrameIntervalDuration?: number }
  ) {
    super()
    StandInRecorder.instances.push(this)
  }
  get mimeType() {
    return this.options.mimeType ?? ''
  }
  start(timeslice: number) {
    this.state = 'recording'
    this.timeslice = timeslice
  }
  stop() {
    this.state = 'inactive'
    this.dispatchEvent(new Event('stop'))
  }
  emitBlob(data: Uint8Array) {
    this.dispatchEvent(Object.assign(new Event('dataavailable'), { data: new Blob([data as Uint8Array<ArrayBuffer>]) }))
  }
}

class StandInTrack extends EventTarget {}
const stream = (tracks = [new StandInTrack(), new StandInTrack()]) => ({ getTracks: () => tracks }) as unknown as MediaStream

function target() {
  const log: string[] = []
  const writes: { data: Uint8Array; init: boolean; startPoint: boolean }[] = []
  const source: BroadcastTarget = {
    write: (data, flags) => {
      writes.push({ data: data as Uint8Array, init: !!flags?.init, startPoint: !!flags?.startPoint })
      log.push('write')
    },
    flush: () => void log.push('flush')
  }
  return { source, writes, log }
}

const settle = () => new Promise((r) => setTimeout(r, 20))

let saved: unknown
beforeEach(() => {
  saved = (globalThis as Record<string, unknown>).MediaRecorder
  ;(globalThis as Record<string, unknown>).MediaRecorder = StandInRecorder
  StandInRecorder.instances = []
})
afterEach(() => {
  ;(globalThis as Record<string, unknown>).MediaRecorder = saved
})

describe('broadcast()', () => {
  it('records the first supported type with a 200 ms timeslice and a keyframe each second', () => {
    const cast = broadcast(target().source, stream())
    const r = StandInRecorder.instances[0]!
    expect(cast.mimeType).toBe('video/webm;codecs=vp8,opus')
    expect(r.timeslice).toBe(200)
    expect(r.options.videoKeyFrameIntervalDuration).toBe(1000)
    cast.destroy()
  })

  it('writes the init message, then each cluster with its start-point flag, each flushed at once, in recording order', async () => {
    const t = target()
    const cast = broadcast(t.source, stream(), { keyframeIntervalMs: 500, timesliceMs: 100 })
    const r = StandInRecorder.instances[0]!
    expect(r.options.videoKeyFrameIntervalDuration).toBe(500)
    let at = 0
    for (const size of sizes) r.emitBlob(bytes.subarray(at, (at += size)))
    const ended = new Promise<void>((resolve) => cast.once('ended', () => resolve()))
    cast.stop()
    await ended
    const expected = [...new WebmSplitter().push(bytes)]
    expect(t.writes.map((w) => [w.data.length, w.init, w.startPoint])).toEqual([...expected, { data: { length: 6142 }, init: false, startPoint: true }].map((m) => [m.data.length, m.init, m.startPoint]))
    expect(Buffer.concat(t.writes.map((w) => w.data)).equals(Buffer.from(bytes))).toBe(true)
    // flush right after every write: no message waits for the munro deadline.
    expect(t.log.join(' ')).toBe(Array(t.writes.length).fill('write flush').join(' '))
    expect(cast.stats()).toMatchObject({ messages: t.writes.length, startPoints: t.writes.filter((w) => w.startPoint).length, bytes: bytes.length })
  })

  it('a recording that is not WebM: one ERR_BAD_CONTAINER error, the recording stops, nothing written', async () => {
    const t = target()
    const cast = broadcast(t.source, stream())
    const errors: string[] = []
    cast.on('error', (err) => errors.push(err.code))
    const r = StandInRecorder.instances[0]!
    r.emitBlob(new TextEncoder().encode('definitely not a webm stream'))
    r.emitBlob(bytes.subarray(0, 100))
    await settle()
    expect(errors).toEqual(['ERR_BAD_CONTAINER'])
    expect(r.state).toBe('inactive')
    expect(t.writes).toEqual([])
  })

  it('ends when every track of the stream ends (a stopped screen share)', async () => {
    const tracks = [new StandInTrack(), new StandInTrack()]
    const cast = broadcast(target().source, stream(tracks))
    let ended = false
    cast.on('ended', () => (ended = true))
    tracks[0]!.dispatchEvent(new Event('ended'))
    await settle()
    expect(ended).toBe(false)
    tracks[1]!.dispatchEvent(new Event('ended'))
    await settle()
    expect(ended).toBe(true)
  })

  it('destroy() stops recording and nothing is written or emitted after it', async () => {
    const t = target()
    const cast = broadcast(t.source, stream())
    const r = StandInRecorder.instances[0]!
    let events = 0
    cast.on('message', () => events++)
    cast.on('ended', () => events++)
    cast.destroy()
    cast.destroy()
    r.emitBlob(bytes)
    await settle()
    expect(r.state).toBe('inactive')
    expect(events).toBe(0)
    expect(t.writes).toEqual([])
  })

  it('refuses a type the browser cannot record, and runtimes without MediaRecorder', () => {
    expect(() => broadcast(target().source, stream(), { mimeType: 'video/mp4' })).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_CODEC' }))
    ;(globalThis as Record<string, unknown>).MediaRecorder = undefined
    expect(() => broadcast(target().source, stream())).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_RUNTIME' }))
  })
})
