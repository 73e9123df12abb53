// The MIME type (with codecs) a MediaSource needs, read from an init message,
// so viewers need nothing but the stream itself. Pure.
import { readUint } from './container.js'
import { boxes, child, fourcc } from './mp4-splitter.js'
import { children, readHeader } from './webm-splitter.js'

const WEBM_CODECS: Record<string, string> = {
  V_VP8: 'vp8',
  V_VP9: 'vp9',
  V_AV1: 'av01.0.04M.08',
  'V_MPEG4/ISO/AVC': 'avc1.42E01E',
  A_OPUS: 'opus',
  A_VORBIS: 'vorbis'
}

/** e.g. `video/webm; codecs="vp8,opus"`, or null when the bytes are neither a WebM nor an MP4 init segment. */
export function mimeTypeOfInit(init: Uint8Array): string | null {
  if (readUint(init, 0, 4) === 0x1a45dfa3) {
    const codecs = webmCodecs(init)
    return codecs.length > 0 ? `video/webm; codecs="${codecs.join(',')}"` : null
  }
  if (init.length >= 8 && fourcc(init, 4) === 'ftyp') {
    const codecs = mp4Codecs(init)
    return codecs.length > 0 ? `video/mp4; codecs="${codecs.join(',')}"` : null
  }
  return null
}

function webmCodecs(init: Uint8Array): string[] {
  const out: string[] = []
  const ebml = readHeader(init, 0)
  const segment = ebml && ebml.size !== null ? readHeader(init, ebml.headerLength + ebml.size) : null
  if (!segment) return out
  const segmentStart = ebml!.headerLength + ebml!.size! + segment.headerLength
  for (let at = segmentStart; at < init.length; ) {
    const h = readHeader(init, at)
    if (!h || h.size === null || at + h.headerLength + h.size > init.length) break
    if (h.id === 0x1654ae6b) {
      for (const entry of children(init, at + h.headerLength, at + h.headerLength + h.size)) {
        for (const c of children(init, entry.start, entry.end)) {
          if (c.id !== 0x86) continue
          const id = new TextDecoder().decode(init.subarray(c.start, c.end)).replace(/\0+$/, '')
          out.push(WEBM_CODECS[id] ?? id.toLowerCase())
        }
      }
    }
    at += h.headerLength + h.size
  }
  return out
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0').toUpperCase()

function mp4Codecs(init: Uint8Array): string[] {
  const out: string[] = []
  const moov = [...boxes(init, 0, init.length)].find((b) => b.type === 'moov')
  if (!moov) return out
  for (const trak of boxes(init, moov.start, moov.end)) {
    if (trak.type !== 'trak') continue
    const mdia = child(init, trak, 'mdia')
    const minf = mdia && child(init, mdia, 'minf')
    const stbl = minf && child(init, minf, 'stbl')
    const stsd = stbl && child(init, stbl, 'stsd')
    if (!stsd) continue
    // stsd: version+flags, entry_count, then the sample entries.
    const entry = [...boxes(init, stsd.start + 8, stsd.end)][0]
    if (!entry) continue
    if (entry.type === 'avc1' || entry.type === 'avc3') {
      // VisualSampleEntry fields take 78 bytes before its child boxes.
      const avcC = child(init, { ...entry, start: entry.start + 78 }, 'avcC')
      out.push(avcC ? `${entry.type}.${hex2(init[avcC.start + 1]!)}${hex2(init[avcC.start + 2]!)}${hex2(init[avcC.start + 3]!)}` : entry.type)
    } else if (entry.type === 'Opus') out.push('opus')
    else if (entry.type === 'mp4a') out.push('mp4a.40.2')
    else if (entry.type === 'vp09') out.push('vp09.00.10.08')
    else out.push(entry.type)
  }
  return out
}
