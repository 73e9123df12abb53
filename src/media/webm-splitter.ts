// Cuts a live WebM recording (what MediaRecorder writes) into messages: the
// header (EBML + Segment start + Info + Tracks) is the init message, each
// Cluster one message. Chromium writes the Segment and every Cluster with an
// unknown size, so a Cluster ends only where the next top-level element
// begins. Pure: no I/O, no dependency (the npm EBML parsers need Node's
// Buffer, or close unknown-size clusters wrongly).
import { badContainer, ByteWindow, readUint, type ContainerMessage, type ContainerSplitter } from './container.js'

const ID = {
  EBML: 0x1a45dfa3,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  ReferenceBlock: 0xfb
} as const

/** Elements that sit directly in the Segment: seeing one ends an unknown-size Cluster. */
const SEGMENT_CHILDREN = new Set([0x114d9b74, ID.Info, ID.Tracks, ID.Cluster, 0x1c53bb6b, 0x1254c367, 0x1043a770, 0x1941a469])
const TRACK_TYPE_VIDEO = 1

interface ElementHeader {
  id: number
  /** null: unknown size (all value bits set). */
  size: number | null
  headerLength: number
}

/** Reads a variable-length integer; null when `bytes` ends first. */
function readVint(bytes: Uint8Array, at: number, keepMarker: boolean): { value: number; length: number; allOnes: boolean } | null {
  if (at >= bytes.length) return null
  const first = bytes[at]!
  if (first === 0) throw badContainer(`invalid EBML variable-length integer at byte ${at}`)
  const length = Math.clz32(first) - 23
  if (at + length > bytes.length) return null
  const mask = 0xff >> length
  let value = keepMarker ? first : first & mask
  let allOnes = (first & mask) === mask
  for (let i = 1; i < length; i++) {
    const b = bytes[at + i]!
    value = value * 256 + b
    allOnes &&= b === 0xff
  }
  return { value, length, allOnes }
}

export function readHeader(bytes: Uint8Array, at: number): ElementHeader | null {
  const id = readVint(bytes, at, true)
  if (!id) return null
  if (id.length > 4) throw badContainer(`EBML element id longer than 4 bytes at byte ${at}`)
  const size = readVint(bytes, at + id.length, false)
  if (!size) return null
  return { id: id.value, size: size.allOnes ? null : size.value, headerLength: id.length + size.length }
}

/** Children of a known-size element's content [from, to). */
export function* children(bytes: Uint8Array, from: number, to: number): Generator<{ id: number; start: number; end: number }> {
  for (let at = from; at < to; ) {
    const h = readHeader(bytes, at)
    if (!h || h.size === null || at + h.headerLength + h.size > to) throw badContainer(`malformed EBML element at byte ${at}`)
    yield { id: h.id, start: at + h.headerLength, end: at + h.headerLength + h.size }
    at += h.headerLength + h.size
  }
}

interface BlockInfo {
  track: number
  /** Relative to the cluster's timecode. */
  timecode: number
  key: boolean
}

/** A Block or SimpleBlock header: track number, signed 16-bit timecode, flags. */
function readBlock(bytes: Uint8Array, start: number, end: number): { track: number; timecode: number; flags: number } {
  const track = readVint(bytes, start, false)
  if (!track || start + track.length + 3 > end) throw badContainer(`truncated block at byte ${start}`)
  const at = start + track.length
  const raw = (bytes[at]! << 8) | bytes[at + 1]!
  return { track: track.value, timecode: raw >= 0x8000 ? raw - 0x10000 : raw, flags: bytes[at + 2]! }
}

export class WebmSplitter implements ContainerSplitter {
  private readonly window = new ByteWindow()
  private state: 'ebml' | 'segment-start' | 'header' | 'top' | 'cluster' = 'ebml'
  private timecodeScaleNs = 1_000_000
  private videoTrack: number | null = null
  private clusterEnd: number | null = null
  private clusterTimecode = 0
  private blocks: BlockInfo[] = []

  push(bytes: Uint8Array): ContainerMessage[] {
    this.window.append(bytes)
    const out: ContainerMessage[] = []
    while (this.step(out));
    return out
  }

  end(): ContainerMessage[] {
    const out: ContainerMessage[] = []
    const w = this.window
    if (this.state === 'cluster' && w.available === 0 && (this.clusterEnd === null || this.clusterEnd === w.pos)) out.push(this.closeCluster())
    if (w.start !== w.bytes.length) throw badContainer(`the recording ended inside an element (${w.bytes.length - w.start} bytes left)`)
    return out
  }

  /** Parses one element (or closes one message); false when it needs more bytes. */
  private step(out: ContainerMessage[]): boolean {
    const w = this.window
    if (this.state === 'cluster' && this.clusterEnd !== null && w.pos >= this.clusterEnd) {
      if (w.pos > this.clusterEnd) throw badContainer('a cluster child overruns its cluster')
      out.push(this.closeCluster())
      return true
    }
    const h = readHeader(w.bytes, w.pos)
    if (!h) return false
    const contentStart = w.pos + h.headerLength
    switch (this.state) {
      case 'ebml':
        if (h.id !== ID.EBML) throw badContainer('not a WebM stream: it does not start with an EBML header')
        return this.skipWhole(h)
      case 'segment-start':
        if (h.id !== ID.Segment) throw badContainer(`expected a Segment after the EBML header, found element 0x${h.id.toString(16)}`)
        w.pos = contentStart
        this.state = 'header'
        return true
      case 'header':
        if (h.id === ID.Cluster) {
          out.push({ data: w.take(w.pos), init: true, startPoint: false, startMs: null, endMs: null })
          this.state = 'top'
          return true
        }
        if (!this.hasWhole(h)) return false
        if (h.id === ID.Info) this.readInfo(contentStart, contentStart + h.size!)
        if (h.id === ID.Tracks) this.readTracks(contentStart, contentStart + h.size!)
        w.pos = contentStart + h.size!
        return true
      case 'top':
        if (h.id === ID.Cluster) {
          this.state = 'cluster'
          this.clusterEnd = h.size === null ? null : contentStart + h.size
          this.clusterTimecode = 0
          this.blocks = []
          w.pos = contentStart
          return true
        }
        // Cues, Tags… after the clusters: their own message, never a start point.
        if (!this.hasWhole(h)) return false
        w.pos = contentStart + h.size!
        out.push({ data: w.take(w.pos), init: false, startPoint: false, startMs: null, endMs: null })
        return true
      case 'cluster':
        if (this.clusterEnd === null && (SEGMENT_CHILDREN.has(h.id) || h.id === ID.EBML)) {
          out.push(this.closeCluster())
          return true
        }
        if (!this.hasWhole(h)) return false
        this.readClusterChild(h.id, contentStart, contentStart + h.size!)
        w.pos = contentStart + h.size!
        return true
    }
  }

  private hasWhole(h: ElementHeader): boolean {
    if (h.size === null) throw badContainer(`element 0x${h.id.toString(16)} has an unknown size where only a Segment or Cluster may`)
    return this.window.pos + h.headerLength + h.size <= this.window.bytes.length
  }

  private skipWhole(h: ElementHeader): boolean {
    if (!this.hasWhole(h)) return false
    this.window.pos += h.headerLength + h.size!
    this.state = 'segment-start'
    return true
  }

  private readInfo(from: number, to: number): void {
    for (const c of children(this.window.bytes, from, to)) {
      if (c.id === ID.TimecodeScale) this.timecodeScaleNs = readUint(this.window.bytes, c.start, c.end - c.start)
    }
  }

  private readTracks(from: number, to: number): void {
    const bytes = this.window.bytes
    for (const entry of children(bytes, from, to)) {
      if (entry.id !== ID.TrackEntry) continue
      let number: number | null = null
      let type: number | null = null
      for (const c of children(bytes, entry.start, entry.end)) {
        if (c.id === ID.TrackNumber) number = readUint(bytes, c.start, c.end - c.start)
        if (c.id === ID.TrackType) type = readUint(bytes, c.start, c.end - c.start)
      }
      if (type === TRACK_TYPE_VIDEO && number !== null && this.videoTrack === null) this.videoTrack = number
    }
  }

  private readClusterChild(id: number, start: number, end: number): void {
    const bytes = this.window.bytes
    if (id === ID.Timecode) this.clusterTimecode = readUint(bytes, start, end - start)
    else if (id === ID.SimpleBlock) {
      const b = readBlock(bytes, start, end)
      this.blocks.push({ track: b.track, timecode: b.timecode, key: (b.flags & 0x80) !== 0 })
    } else if (id === ID.BlockGroup) {
      // A BlockGroup's frame is a keyframe when it references no other frame.
      let block: ReturnType<typeof readBlock> | null = null
      let references = false
      for (const c of children(bytes, start, end)) {
        if (c.id === ID.Block) block = readBlock(bytes, c.start, c.end)
        if (c.id === ID.ReferenceBlock) references = true
      }
      if (block) this.blocks.push({ track: block.track, timecode: block.timecode, key: !references })
    }
  }

  private closeCluster(): ContainerMessage {
    const w = this.window
    const frames = this.videoTrack === null ? this.blocks : this.blocks.filter((b) => b.track === this.videoTrack)
    const toMs = (relative: number) => ((this.clusterTimecode + relative) * this.timecodeScaleNs) / 1e6
    const message: ContainerMessage = {
      data: w.take(w.pos),
      init: false,
      startPoint: frames[0]?.key === true,
      startMs: frames.length > 0 ? toMs(frames[0]!.timecode) : null,
      endMs: frames.length > 0 ? toMs(frames[frames.length - 1]!.timecode) : null
    }
    this.state = 'top'
    this.clusterEnd = null
    this.blocks = []
    return message
  }
}
