// What viewers and broadcasters decide from the stream alone: the MediaSource
// type from an init message, the recorder type from what the browser supports.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { chooseRecorderType, RECORDER_TYPES, splitterFor } from '../../../src/media/broadcast.js'
import { mimeTypeOfInit } from '../../../src/media/codec.js'
import { Mp4Splitter } from '../../../src/media/mp4-splitter.js'
import { WebmSplitter } from '../../../src/media/webm-splitter.js'
import { mediaSourceConstructor } from '../../../src/media/play.js'

const init = (file: string, splitter: { push(b: Uint8Array): { data: Uint8Array; init: boolean }[] }) =>
  splitter.push(new Uint8Array(readFileSync(new URL(`../../media/fixtures/${file}`, import.meta.url))))[0]!.data

describe('mimeTypeOfInit', () => {
  it('names the codecs of each recorded fixture from its init message alone', () => {
    expect(mimeTypeOfInit(init('vp8.webm', new WebmSplitter()))).toBe('video/webm; codecs="opus,vp8"')
    expect(mimeTypeOfInit(init('vp9.webm', new WebmSplitter()))).toBe('video/webm; codecs="vp9,opus"')
    // avc1 + profile/compatibility/level from avcC (Constrained Baseline 4.2… as Chromium's encoder writes it).
    expect(mimeTypeOfInit(init('avc1.mp4', new Mp4Splitter()))).toMatch(/^video\/mp4; codecs="avc1\.[0-9A-F]{6},opus"$/)
  })

  it('returns null for bytes that are no init segment', () => {
    expect(mimeTypeOfInit(new TextEncoder().encode('hello, not a video'))).toBeNull()
    expect(mimeTypeOfInit(new Uint8Array(0))).toBeNull()
  })
})

describe('choosing what to record and how to play', () => {
  it('takes the first supported type, WebM before MP4, and MP4 where only MP4 records', () => {
    expect(chooseRecorderType(() => true)).toBe(RECORDER_TYPES[0])
    expect(chooseRecorderType((t) => t.startsWith('video/mp4'))).toBe('video/mp4;codecs=avc1,opus')
    expect(chooseRecorderType((t) => t === 'video/mp4')).toBe('video/mp4')
  })

  it('throws ERR_UNSUPPORTED_CODEC when nothing records, and for a container it cannot split', () => {
    expect(() => chooseRecorderType(() => false)).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_CODEC' }))
    expect(() => splitterFor('video/x-matroska')).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED_CODEC' }))
    expect(splitterFor('video/webm;codecs=vp9')).toBeInstanceOf(WebmSplitter)
    expect(splitterFor('video/mp4')).toBeInstanceOf(Mp4Splitter)
  })

  it('plays through ManagedMediaSource where it is the only MediaSource', () => {
    class Managed {}
    class Classic {}
    expect(mediaSourceConstructor({ ManagedMediaSource: Managed })).toBe(Managed)
    expect(mediaSourceConstructor({ MediaSource: Classic, ManagedMediaSource: Managed })).toBe(Classic)
    expect(mediaSourceConstructor({})).toBeNull()
  })
})
