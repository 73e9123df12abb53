// Cuts a fragmented MP4 recording into messages: everything before the first
// `moof` (ftyp + moov) is the init message; each fragment, from the end of the
// previous one through its `mdat`, is one message. A fragment is a start
// point when the first sample of its video track is a sync sample. Pure.
import { badContainer, ByteWindow, readUint, type ContainerMessage, type ContainerSplitter } from './container.js'

interface Box {
  type: string
  /** Content [start, end) inside the window's bytes. */
  start: number
  end: number
}

interface TrackDefaults {
  timescale: number
  sampleDuration: number
  sampleFlags: number
}

/** A sample is a sync sample unless `sample_is_non_sync_sample` is set (ISO 14496-12 §8.8.3.1). */
const NON_SYNC = 0x10000

export function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!)
}

/** The box at `at`, or null when its header is not all there yet. */
function readBox(bytes: Uint8Array, at: number, limit: number): { box: Box; total: number } | null {
  if (at + 8 > limit) return null
  let total = readUint(bytes, at, 4)
  let header = 8
  if (total === 1) {
    if (at + 16 > limit) return null
    total = readUint(bytes, at + 8, 8)
    header = 16
  } else if (total === 0) throw badContainer(`MP4 box at byte ${at} runs to the end of the file, which a live stream has not`)
  if (total < header) throw badContainer(`MP4 box at byte ${at} is shorter than its header`)
  return { box: { type: fourcc(bytes, at + 4), start: at + header, end: at + total }, total }
}

export function* boxes(bytes: Uint8Array, from: number, to: number): Generator<Box> {
  for (let at = from; at < to; ) {
    const r = readBox(bytes, at, to)
    if (!r || r.box.end > to) throw badContainer(`malformed MP4 box at byte ${at}`)
    yield r.box
    at = r.box.end
  }
}

export function child(bytes: Uint8Array, parent: Box, type: string): Box | undefined {
  for (const b of boxes(bytes, parent.start, parent.end)) if (b.type === type) return b
  return undefined
}

/** Field offset after a full box's version+flags, skipping version-dependent creation/modification times. */
function afterTimes(bytes: Uint8Array, box: Box): number {
  return box.start + 4 + (bytes[box.start] === 1 ? 16 : 8)
}

export class Mp4Splitter implements ContainerSplitter {
  private readonly window = new ByteWindow()
  private inited = false
  private sawMoof = false
  private videoTrack: number | null = null
  private readonly tracks = new Map<number, TrackDefaults>()

  push(bytes: Uint8Array): ContainerMessage[] {
    this.window.append(bytes)
    const out: ContainerMessage[] = []
    const w = this.window
    for (;;) {
      const r = readBox(w.bytes, w.pos, w.bytes.length)
      if (!r) break
      const { box } = r
      if (!this.inited && w.pos === 0 && box.type !== 'ftyp') throw badContainer(`not an MP4 stream: it starts with a '${box.type}' box`)
      if (!this.inited && box.type === 'moof') {
        out.push({ data: w.take(w.pos), init: true, startPoint: false, startMs: null, endMs: null })
        this.inited = true
      }
      if (box.end > w.bytes.length) break
      if (box.type === 'moov') this.readMoov(box)
      if (box.type === 'moof') this.sawMoof = true
      w.pos = box.end
      if (box.type === 'mdat' && this.sawMoof) {
        out.push(this.closeFragment())
        this.sawMoof = false
      }
    }
    return out
  }

  end(): ContainerMessage[] {
    const w = this.window
    if (w.start !== w.bytes.length) throw badContainer(`the recording ended inside a fragment (${w.bytes.length - w.start} bytes left)`)
    return []
  }

  private readMoov(moov: Box): void {
    const bytes = this.window.bytes
    const trexFlags = new Map<number, { duration: number; flags: number }>()
    for (const b of boxes(bytes, moov.start, moov.end)) {
      if (b.type === 'mvex') {
        for (const trex of boxes(bytes, b.start, b.end)) {
          if (trex.type !== 'trex') continue
          trexFlags.set(readUint(bytes, trex.start + 4, 4), { duration: readUint(bytes, trex.start + 12, 4), flags: readUint(bytes, trex.start + 20, 4) })
        }
      }
      if (b.type !== 'trak') continue
      const tkhd = child(bytes, b, 'tkhd')
      const mdia = child(bytes, b, 'mdia')
      const mdhd = mdia && child(bytes, mdia, 'mdhd')
      const hdlr = mdia && child(bytes, mdia, 'hdlr')
      if (!tkhd || !mdhd || !hdlr) throw badContainer('an MP4 track lacks tkhd, mdhd or hdlr')
      const id = readUint(bytes, afterTimes(bytes, tkhd), 4)
      this.tracks.set(id, { timescale: readUint(bytes, afterTimes(bytes, mdhd), 4), sampleDuration: 0, sampleFlags: 0 })
      if (fourcc(bytes, hdlr.start + 8) === 'vide' && this.videoTrack === null) this.videoTrack = id
    }
    for (const [id, d] of trexFlags) {
      const t = this.tracks.get(id)
      if (t) Object.assign(t, { sampleDuration: d.duration, sampleFlags: d.flags })
    }
  }

  /** The fragment just completed ends at the window's position; its moof is inside it. */
  private closeFragment(): ContainerMessage {
    const w = this.window
    const bytes = w.bytes
    let first: { sync: boolean; startMs: number; endMs: number } | null = null
    for (const top of boxes(bytes, w.start, w.pos)) {
      if (top.type !== 'moof') continue
      for (const traf of boxes(bytes, top.start, top.end)) {
        if (traf.type !== 'traf') continue
        const r = this.readTraf(traf)
        if (r && (this.videoTrack === null || r.track === this.videoTrack)) first ??= r
      }
    }
    return { data: w.take(w.pos), init: false, startPoint: first?.sync === true, startMs: first?.startMs ?? null, endMs: first?.endMs ?? null }
  }

  private readTraf(traf: Box): { track: number; sync: boolean; startMs: number; endMs: number } | null {
    const bytes = this.window.bytes
    const tfhd = child(bytes, traf, 'tfhd')
    const trun = child(bytes, traf, 'trun')
    if (!tfhd || !trun) return null
    const track = readUint(bytes, tfhd.start + 4, 4)
    const defaults = this.tracks.get(track)
    if (!defaults) throw badContainer(`an MP4 fragment names track ${track}, which the init segment does not declare`)
    const tfhdFlags = readUint(bytes, tfhd.start + 1, 3)
    let at = tfhd.start + 8
    if (tfhdFlags & 0x1) at += 8
    if (tfhdFlags & 0x2) at += 4
    let duration = defaults.sampleDuration
    let flags = defaults.sampleFlags
    if (tfhdFlags & 0x8) duration = readUint(bytes, (at += 4) - 4, 4)
    if (tfhdFlags & 0x10) at += 4
    if (tfhdFlags & 0x20) flags = readUint(bytes, at, 4)

    const tfdt = child(bytes, traf, 'tfdt')
    const base = tfdt ? readUint(bytes, tfdt.start + 4, bytes[tfdt.start] === 1 ? 8 : 4) : 0
    const trunFlags = readUint(bytes, trun.start + 1, 3)
    const count = readUint(bytes, trun.start + 4, 4)
    if (count === 0) return null
    at = trun.start + 8 + (trunFlags & 0x1 ? 4 : 0)
    let firstFlags = flags
    if (trunFlags & 0x4) firstFlags = readUint(bytes, (at += 4) - 4, 4)
    const fieldBytes = 4 * [0x100, 0x200, 0x400, 0x800].filter((f) => trunFlags & f).length
    if (at + fieldBytes * count > trun.end) throw badContainer('an MP4 trun box is shorter than its sample count')
    if (!(trunFlags & 0x4) && trunFlags & 0x400) firstFlags = readUint(bytes, at + (trunFlags & 0x100 ? 4 : 0) + (trunFlags & 0x200 ? 4 : 0), 4)
    // The last sample starts after every earlier sample's duration.
    let elapsed = 0
    for (let i = 0; i < count - 1; i++) elapsed += trunFlags & 0x100 ? readUint(bytes, at + i * fieldBytes, 4) : duration
    const ms = (t: number) => (t * 1000) / defaults.timescale
    return { track, sync: (firstFlags & NON_SYNC) === 0, startMs: ms(base), endMs: ms(base + elapsed) }
  }
}
