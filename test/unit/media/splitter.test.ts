// The container splitters on real Chromium recordings (test/media/fixtures,
// recorded with the fake camera by record.ts) and on hand-built WebM: the cut
// never depends on where the recorder's blobs end, and loses no byte.
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ContainerMessage, ContainerSplitter } from '../../../src/media/container.js'
import { Mp4Splitter } from '../../../src/media/mp4-splitter.js'
import { WebmSplitter } from '../../../src/media/webm-splitter.js'
import { isMunroError } from '../../../src/errors.js'

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../media/fixtures/${name}`, import.meta.url)))
const blobSizes = (name: string) => (JSON.parse(readFileSync(new URL(`../../media/fixtures/${name}.blobs.json`, import.meta.url), 'utf8')) as { blobs: number[] }).blobs

const FIXTURES = [
  { name: 'vp8', file: 'vp8.webm', make: () => new WebmSplitter() },
  { name: 'vp9', file: 'vp9.webm', make: () => new WebmSplitter() },
  { name: 'avc1', file: 'avc1.mp4', make: () => new Mp4Splitter() }
] as const

/** Feeds `bytes` cut at `cuts` (sorted offsets) and returns every message. */
function split(make: () => ContainerSplitter, bytes: Uint8Array, cuts: number[]): ContainerMessage[] {
  const s = make()
  const out: ContainerMessage[] = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    out.push(...s.push(bytes.subarray(from, cut)))
    from = cut
  }
  out.push(...s.end())
  return out
}

const concat = (parts: Uint8Array[]) => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) all.set(p, (at += p.length) - p.length)
  return all
}

/** Byte equality without a deep-equality walk over tens of thousands of elements. */
const expectSameBytes = (a: Uint8Array, b: Uint8Array) => expect(Buffer.compare(Buffer.from(a), Buffer.from(b)), `${a.length} vs ${b.length} bytes`).toBe(0)

/** A comparable summary: sizes, flags and times (data is compared through the sizes and the concatenation). */
const shape = (ms: ContainerMessage[]) => ms.map((m) => `${m.data.length}:${m.init ? 'I' : ''}${m.startPoint ? 'K' : ''}:${m.startMs}-${m.endMs}`)

describe.each(FIXTURES)('$name recording', ({ file, make }) => {
  const bytes = fixture(file)
  const whole = split(make, bytes, [])

  it('is an init message, then media messages whose concatenation is the recording byte for byte', () => {
    expect(whole[0]!.init).toBe(true)
    expect(whole.slice(1).every((m) => !m.init)).toBe(true)
    expect(whole.length).toBeGreaterThanOrEqual(4)
    expectSameBytes(concat(whole.map((m) => m.data)), bytes)
  })

  it('has a start point about every second (keyframe interval 1 s) and the first media message is one', () => {
    const starts = whole.filter((m) => m.startPoint)
    expect(whole[1]!.startPoint).toBe(true)
    // 3.2 s recorded with a keyframe each second.
    expect(starts.length).toBeGreaterThanOrEqual(3)
    expect(starts.length).toBeLessThanOrEqual(5)
    const times = starts.map((m) => m.startMs!)
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(800)
  })

  it('cuts the same whatever the blob boundaries: the recorder\'s own, one byte at a time', () => {
    const real: number[] = []
    for (const size of blobSizes(file.split('.')[0]!)) real.push((real.at(-1) ?? 0) + size)
    expect(real.pop()).toBe(bytes.length)
    expect(shape(split(make, bytes, real))).toEqual(shape(whole))
    const s = make()
    const out: ContainerMessage[] = []
    for (let i = 0; i < bytes.length; i++) out.push(...s.push(bytes.subarray(i, i + 1)))
    out.push(...s.end())
    expect(shape(out)).toEqual(shape(whole))
    expectSameBytes(concat(out.map((m) => m.data)), bytes)
  })

  it('cuts the same with one boundary at every byte offset near each message boundary and in the header', () => {
    const offsets = new Set<number>()
    for (let i = 0; i < 1500; i++) offsets.add(i)
    let end = 0
    for (const m of whole) {
      end += m.data.length
      for (let d = -64; d <= 64; d++) if (end + d > 0 && end + d < bytes.length) offsets.add(end + d)
    }
    const expected = shape(whole).join(' ')
    for (const at of offsets) {
      const got = shape(split(make, bytes, [at])).join(' ')
      if (got !== expected) expect.fail(`boundary at ${at} changed the split:\n${got}\n${expected}`)
    }
  })

  it('cuts the same in random pieces', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 60 }), (cuts) => {
        const out = split(make, bytes, cuts.sort((a, b) => a - b))
        expect(shape(out)).toEqual(shape(whole))
        expectSameBytes(concat(out.map((m) => m.data)), bytes)
      }),
      { numRuns: 60 }
    )
  })

  it('hands out copies: changing a message changes nothing else', () => {
    const s = make()
    const first = s.push(bytes.subarray(0, 5000))
    first[0]!.data.fill(0)
    const rest = [...s.push(bytes.subarray(5000)), ...s.end()]
    expectSameBytes(concat(rest.map((m) => m.data)), bytes.subarray(first.reduce((n, m) => n + m.data.length, 0)))
  })

  it('rejects a truncated recording at end() with ERR_BAD_CONTAINER', () => {
    const s = make()
    s.push(bytes.subarray(0, bytes.length - 7))
    expect(() => s.end()).toThrow(expect.objectContaining({ code: 'ERR_BAD_CONTAINER' }))
  })
})

describe('keyframe detection', () => {
  it('VP8 start points are exactly the clusters whose first video frame is a VP8 keyframe (the frame\'s own bit)', () => {
    // Independent oracle: a VP8 frame is a keyframe when bit 0 of its first byte is 0 (RFC 6386 §9.1).
    const bytes = fixture('vp8.webm')
    const messages = split(() => new WebmSplitter(), bytes, [])
    let checked = 0
    for (const m of messages.slice(1)) {
      const at = findFirstVideoSimpleBlock(m.data, 2)
      if (at === null) continue
      checked++
      expect(m.startPoint, `cluster at ${m.startMs} ms`).toBe((m.data[at]! & 1) === 0)
    }
    expect(checked).toBeGreaterThan(8)
  })

  it('a WebM cluster whose first video frame lost its keyframe flag is no start point', () => {
    const bytes = fixture('vp8.webm').slice()
    const messages = split(() => new WebmSplitter(), bytes, [])
    const clusterStart = messages[0]!.data.length
    const flags = findFirstVideoSimpleBlock(messages[1]!.data, 2)! - 1
    bytes[clusterStart + flags]! &= 0x7f
    expect(split(() => new WebmSplitter(), bytes, [])[1]!.startPoint).toBe(false)
  })

  it('an MP4 fragment whose first video sample is marked non-sync is no start point', () => {
    const bytes = fixture('avc1.mp4').slice()
    const messages = split(() => new Mp4Splitter(), bytes, [])
    const at = messages[0]!.data.length
    const trun = indexOf(bytes, 'trun', at)
    // trun flags 0x000305 here: data_offset then first_sample_flags.
    expect(bytes[trun + 11]! & 0x05).toBe(5)
    // box header 8, version+flags 4, sample_count 4, data_offset 4: first_sample_flags at 20; bit 16 is "non-sync".
    bytes[trun + 21]! |= 0x01
    const again = split(() => new Mp4Splitter(), bytes, [])
    expect(again[1]!.startPoint).toBe(false)
    expect(again[2]!.startPoint).toBe(true)
  })

  it('reads video BlockGroups (keyframe = no ReferenceBlock) and ignores audio SimpleBlocks, in unknown-size clusters', () => {
    const video = 1
    const audio = 2
    const stream = concat([
      el(0x1a45dfa3, el(0x4282, text('webm'))),
      vintId(0x18538067),
      UNKNOWN,
      el(0x1549a966, el(0x2ad7b1, uint(1_000_000, 3))),
      el(0x1654ae6b, concat([el(0xae, concat([el(0xd7, uint(audio, 1)), el(0x83, uint(2, 1))])), el(0xae, concat([el(0xd7, uint(video, 1)), el(0x83, uint(1, 1))]))])),
      cluster(0, [simpleBlock(audio, 0, true), blockGroup(video, 0, false)]),
      cluster(100, [simpleBlock(audio, 0, true), blockGroup(video, 10, true)]),
      cluster(200, [blockGroup(video, 0, false), blockGroup(video, 40, true)])
    ])
    const out = split(() => new WebmSplitter(), stream, [])
    expect(out.map((m) => [m.init, m.startPoint, m.startMs, m.endMs])).toEqual([
      [true, false, null, null],
      [false, true, 0, 0],
      [false, false, 110, 110],
      [false, true, 200, 240]
    ])
    expectSameBytes(concat(out.map((m) => m.data)), stream)
  })

  it('rejects what is not WebM or MP4 with ERR_BAD_CONTAINER', () => {
    for (const make of [() => new WebmSplitter(), () => new Mp4Splitter()]) {
      let caught: unknown
      try {
        make().push(new TextEncoder().encode('<html>not a video at all</html>'))
      } catch (err) {
        caught = err
      }
      expect(isMunroError(caught, 'ERR_BAD_CONTAINER')).toBe(true)
    }
  })
})

// ------------------------------------------------------------ helpers

const UNKNOWN = Uint8Array.of(0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
const text = (s: string) => new TextEncoder().encode(s)
const uint = (v: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (v / 256 ** (n - 1 - i)) & 0xff)
function vintId(id: number): Uint8Array {
  const n = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1
  return uint(id, n)
}
/** A known-size element (size as a 4-byte vint). */
const el = (id: number, body: Uint8Array) => concat([vintId(id), Uint8Array.of(0x10 | ((body.length >> 24) & 0x0f), (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff), body])
const blockBody = (track: number, timecode: number, flags: number) => Uint8Array.of(0x80 | track, timecode >> 8, timecode & 0xff, flags, 1, 2, 3)
const simpleBlock = (track: number, timecode: number, key: boolean) => el(0xa3, blockBody(track, timecode, key ? 0x80 : 0))
const blockGroup = (track: number, timecode: number, references: boolean) =>
  el(0xa0, concat([el(0xa1, blockBody(track, timecode, 0)), ...(references ? [el(0xfb, uint(0xffd8, 2))] : [])]))
const cluster = (timecode: number, blocks: Uint8Array[]) => concat([vintId(0x1f43b675), UNKNOWN, el(0xe7, uint(timecode, 2)), ...blocks])

/** Offset of the first payload byte of the first SimpleBlock of `track` in a cluster message (Chromium: sizes as vints). */
function findFirstVideoSimpleBlock(cluster: Uint8Array, track: number): number | null {
  const vintLength = (b: number) => Math.clz32(b) - 23
  const vint = (at: number) => {
    const n = vintLength(cluster[at]!)
    let v = cluster[at]! & (0xff >> n)
    for (let i = 1; i < n; i++) v = v * 256 + cluster[at + i]!
    return { v, n }
  }
  let at = 4 + vintLength(cluster[4]!) // past the Cluster id and size
  while (at < cluster.length) {
    const id = cluster[at]!
    const idLength = vintLength(id)
    const size = vint(at + idLength)
    const body = at + idLength + size.n
    if (id === 0xa3 && (cluster[body]! & 0x7f) === track) return body + 4
    at = body + size.v
  }
  return null
}

function indexOf(bytes: Uint8Array, fourcc: string, from: number): number {
  const t = text(fourcc)
  for (let i = from; i < bytes.length - 4; i++) if (bytes[i] === t[0] && bytes[i + 1] === t[1] && bytes[i + 2] === t[2] && bytes[i + 3] === t[3]) return i - 4
  throw new Error(`no ${fourcc} after ${from}`)
}
