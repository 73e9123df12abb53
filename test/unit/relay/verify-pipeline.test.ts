// The viewer's verification pipeline with real classes: a StreamSigner's
// frames, a ChunkVerifier, a StreamBuffer, and (for what a child receives) a
// real ChildSession over a fake link.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../src/errors.js'
import { ChildSession } from '../../../src/relay/child-session.js'
import { StreamBuffer } from '../../../src/relay/stream-buffer.js'
import { VerifyPipeline, type MunroMessage, type PipelineRejection } from '../../../src/relay/verify-pipeline.js'
import type { SignedMunro } from '../../../src/sign/munro-signer.js'
import type { Gap } from '../../../src/verify/reassembler.js'
import { ChunkVerifier, type ChunkVerifierOptions } from '../../../src/verify/verifier.js'
import { decodeFrame, encodeFrame, FrameType, type ResumePoint } from '../../../src/wire/frames.js'
import { FakeLink } from '../../helpers/fake-link.js'
import { NOW, messageBytes, signStream, type TestMessage } from '../verify/helpers.js'

class Parent {
  isOpen = true
  constructor(readonly id: string) {}
}

const text = (b: Uint8Array) => new TextDecoder().decode(b)
const msg = (s: string, startPoint = false): TestMessage => ({ bytes: new TextEncoder().encode(s), startPoint })
const init = (s: string): TestMessage => ({ bytes: new TextEncoder().encode(s), init: true })

function viewer(publicKey: Uint8Array, options: Partial<ChunkVerifierOptions> & { maxQueuedFrames?: number; maxMessageBytes?: number } = {}) {
  const buffer = new StreamBuffer({ windowMs: 600_000, maxBytes: 1 << 26 })
  const verifier = new ChunkVerifier({ publicKey, now: () => NOW, ...options })
  const pipeline = new VerifyPipeline<Parent>({ verifier, buffer, maxMessageBytes: options.maxMessageBytes ?? 1 << 20, maxQueuedFrames: options.maxQueuedFrames })
  const messages: MunroMessage[] = []
  const rejected: Array<Omit<PipelineRejection<Parent>, 'source' | 'message'> & { from: string }> = []
  const gaps: Gap[] = []
  const log: string[] = []
  pipeline.on('message', (m) => {
    messages.push(m)
    log.push(`${m.init ? 'init ' : ''}${text(m.data)}${m.gap ? ' (gap)' : ''}`)
  })
  pipeline.on('rejected', (r) => rejected.push({ from: r.source.id, kind: r.kind, code: r.code }))
  pipeline.on('gap', (g) => {
    gaps.push(g)
    log.push(`gap ${g.fromIndex}-${g.toIndex}`)
  })
  const feed = (frames: Uint8Array[], from: Parent) => {
    for (const bytes of frames) {
      const d = decodeFrame(bytes)
      if (!d.ok) throw new Error(d.code)
      const f = d.frame
      if (f.type === FrameType.MUNRO || f.type === FrameType.CHUNK || f.type === FrameType.INIT) pipeline.push(f, bytes, from)
    }
  }
  const settle = async () => {
    for (let i = 0; i < 200 && pipeline.queueLength > 0; i++) await new Promise((r) => setTimeout(r, 2))
    await new Promise((r) => setTimeout(r, 2))
  }
  return { buffer, verifier, pipeline, messages, rejected, gaps, log, feed, settle }
}

/** What a real ChildSession serving `buffer` sends a child that opens with `resume`. */
function served(buffer: StreamBuffer, treeKey: Uint8Array, resume: ResumePoint): Uint8Array[] {
  const link = new FakeLink(false, 'child')
  const session = new ChildSession('child', link, buffer, { treeKey, keepaliveMs: 60_000, onClose: () => {} })
  link.open()
  link.receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume }))
  const frames = link.sent.filter((f) => f[1] !== FrameType.HANDSHAKE && f[1] !== FrameType.KEEPALIVE)
  session.destroy()
  return frames
}

/** A forged munro: right shape, zero signature, an ancient timestamp (what a "no-fault" rejection used to be made of). */
function forged(like: SignedMunro): Uint8Array {
  return encodeFrame({ ...like.munro, timestamp: 0, signature: new Uint8Array(64) })
}

describe('VerifyPipeline', () => {
  it('delivers every message in order, as copies, with its signed timestamp', async () => {
    const s = await signStream([msg('a', true), msg('b'), { bytes: messageBytes(40_000, 1) }, msg('c')], { munroSpan: 4 })
    const v = viewer(s.keys.publicKey)
    v.feed(s.frames, new Parent('p'))
    await v.settle()
    expect(v.messages.map((m) => [m.data.length, m.startPoint, m.gap, m.timestamp])).toEqual([
      [1, true, false, NOW],
      [1, false, false, NOW],
      [40_000, false, false, NOW],
      [1, false, false, NOW]
    ])
    expect(v.rejected).toEqual([])
  })

  // Defect 1: one unsigned frame used to mark a munro start as ignorable for every parent.
  it('blames a parent for a forged munro, and the genuine munro at that start still gets through from anyone', async () => {
    const s = await signStream([msg('one'), msg('two'), msg('three')], { munroSpan: 1 })
    const v = viewer(s.keys.publicKey)
    const [m0, m1, m2] = s.munros
    const liar = new Parent('liar')
    const honest = new Parent('honest')
    v.feed(m0!.frames, honest)
    v.feed([forged(m1!), forged(m2!)], liar)
    await v.settle()
    expect(v.rejected).toEqual([
      { from: 'liar', kind: 'invalid', code: ErrorCode.BAD_SIGNATURE },
      { from: 'liar', kind: 'invalid', code: ErrorCode.BAD_SIGNATURE }
    ])
    v.feed([...m1!.frames, ...m2!.frames], honest)
    await v.settle()
    expect(v.log).toEqual(['one', 'two', 'three'])
    expect(v.rejected.length).toBe(2)
  })

  it('a genuine but unusable munro is ignored for the parent that sent it only', async () => {
    const old = await signStream([msg('old')], { munroSpan: 1, epoch: 1 })
    const now = await signStream([msg('new one'), msg('new two')], { munroSpan: 1, epoch: 2, keys: old.keys })
    const v = viewer(old.keys.publicKey)
    const stale = new Parent('stale')
    const honest = new Parent('honest')
    v.feed(now.munros[0]!.frames, honest)
    await v.settle()
    v.feed(old.frames, stale) // the old session's munro at index 0, and its chunk
    await v.settle()
    expect(v.rejected).toEqual([{ from: 'stale', kind: 'unusable', code: ErrorCode.STALE_EPOCH }])
    v.feed(now.frames, honest) // a repeat of index 0, then index 1
    await v.settle()
    expect(v.log).toEqual(['new one', 'new two'])
  })

  // Defect 2: duplicates and stale chunks used to count as progress.
  it('counts only new verified data as progress: not repeats, not old chunks', async () => {
    const s = await signStream([msg('a'), msg('b'), msg('c')], { munroSpan: 1 })
    const v = viewer(s.keys.publicKey)
    const p = new Parent('p')
    v.feed(s.munros[0]!.frames, p)
    v.feed(s.munros[1]!.frames, p)
    await v.settle()
    const mark = v.pipeline.progressMark
    expect(mark).toBeGreaterThan(0)
    const replayer = new Parent('replayer')
    for (let i = 0; i < 5; i++) v.feed([...s.munros[0]!.frames, ...s.munros[1]!.frames], replayer)
    await v.settle()
    expect(v.pipeline.progressMark).toBe(mark)
    v.feed(s.munros[2]!.frames, replayer)
    await v.settle()
    expect(v.pipeline.progressMark).toBeGreaterThan(mark)
    expect(v.log).toEqual(['a', 'b', 'c'])
  })

  // Defect 3: a source restarted with its saved key starts again at index 0.
  it('follows a restarted source (newer epoch, same key) and refuses the old session afterwards', async () => {
    const first = await signStream([init('init 1'), msg('a', true), msg('b')], { munroSpan: 1, epoch: 1 })
    const second = await signStream([init('init 2'), msg('x', true), msg('y')], { munroSpan: 1, epoch: 2, keys: first.keys })
    const v = viewer(first.keys.publicKey)
    const p = new Parent('p')
    v.feed(first.frames, p)
    await v.settle()
    v.feed(second.frames, p)
    await v.settle()
    expect(v.log).toEqual(['init init 1', 'a', 'b', 'gap 2-0', 'init init 2', 'x (gap)', 'y'])
    expect(v.buffer.epoch).toBe(2)
    // A relay that still holds the old session cannot feed it any more, and is not blamed for it.
    v.feed(first.frames, new Parent('late relay'))
    await v.settle()
    expect(v.rejected.map((r) => [r.kind, r.code])).toEqual([
      ['unusable', ErrorCode.STALE_EPOCH],
      ['unusable', ErrorCode.STALE_EPOCH],
      ['unusable', ErrorCode.STALE_EPOCH]
    ])
    expect(v.log.length).toBe(7)
  })

  // Defect 4: a re-sent init at a new index used to make the newcomer's start point stale.
  it('a newcomer gets the init its start point needs, then every message; a new init comes before the data it belongs to', async () => {
    const s = await signStream([init('init A'), msg('k1', true), msg('d1'), init('init B'), msg('d2'), msg('k2', true), msg('d3')], { munroSpan: 2 })
    const relay = viewer(s.keys.publicKey)
    relay.feed(s.frames, new Parent('source'))
    await relay.settle()
    expect(relay.log).toEqual(['init init A', 'k1', 'd1', 'init init B', 'd2', 'k2', 'd3'])
    const treeKey = s.keys.publicKey

    // Newcomer: from the latest start point (k2), with init B first.
    const late = viewer(treeKey)
    late.feed(served(relay.buffer, treeKey, { kind: 'latest' }), new Parent('relay'))
    await late.settle()
    expect(late.log).toEqual(['init init B', 'k2', 'd3'])

    // A child that reconnects after d1 loses nothing, and gets init B exactly where it applies.
    const back = viewer(treeKey)
    back.feed(served(relay.buffer, treeKey, { kind: 'index', index: 0, epoch: 1 }), new Parent('relay'))
    await back.settle()
    expect(back.log).toEqual(['init init A', 'k1', 'd1', 'init init B', 'd2', 'k2', 'd3'])
    expect(back.rejected).toEqual([])
  })

  // Defect 5: a one-chunk message used to be a view of the frame stored and forwarded.
  it('the application may write to and transfer m.data: children still verify everything', async () => {
    const sent = [msg('one'), msg('two', true), { bytes: messageBytes(30_000, 2) }, msg('four')]
    const s = await signStream(sent, { munroSpan: 4 })
    const relay = viewer(s.keys.publicKey)
    relay.pipeline.on('message', (m) => {
      m.data.fill(0xff)
      structuredClone(m.data.buffer, { transfer: [m.data.buffer as ArrayBuffer] })
      expect(m.data.byteLength).toBe(0) // detached
    })
    relay.feed(s.frames, new Parent('source'))
    await relay.settle()
    expect(relay.messages.length).toBe(4)
    const child = viewer(s.keys.publicKey)
    child.feed(served(relay.buffer, s.keys.publicKey, { kind: 'index', index: 0, epoch: 1 }), new Parent('relay'))
    await child.settle()
    expect(child.rejected).toEqual([])
    expect(child.messages.map((m) => Buffer.from(m.data).toString('hex'))).toEqual(sent.map((m) => Buffer.from(m.bytes).toString('hex')))
  })

  // Defect 7: timestamps used to be judged against the local wall clock.
  it('a viewer whose clock is 30 s behind or 10 minutes ahead plays everything', async () => {
    const s = await signStream([msg('a', true), msg('b'), msg('c')], { munroSpan: 1 })
    for (const offset of [-30_000, 600_000]) {
      const v = viewer(s.keys.publicKey, { now: () => NOW + offset })
      v.feed(s.frames, new Parent('p'))
      await v.settle()
      expect(v.log).toEqual(['a', 'b', 'c'])
      expect(v.rejected).toEqual([])
    }
  })

  // Defect 10.
  it('bounds its receive queue: a parent past it gets ERR_QUEUE_FULL (overload, no blame) and is not read further', async () => {
    const s = await signStream(Array.from({ length: 8 }, (_, i) => msg(`m${i}`)), { munroSpan: 1 })
    const v = viewer(s.keys.publicKey, { maxQueuedFrames: 4 })
    v.feed(s.frames, new Parent('fast'))
    expect(v.pipeline.queueLength).toBe(4)
    await v.settle()
    expect(v.rejected).toEqual([{ from: 'fast', kind: 'overload', code: ErrorCode.QUEUE_FULL }])
    expect(v.log).toEqual(['m0', 'm1'])
  })

  it('a burst of catch-up frames (hundreds of munros at once) is verified without tripping the verifier in-flight bound', async () => {
    const s = await signStream(Array.from({ length: 300 }, (_, i) => msg(`m${i}`)), { munroSpan: 1 })
    const v = viewer(s.keys.publicKey)
    v.feed(s.frames, new Parent('catching up'))
    await v.settle()
    expect(v.rejected).toEqual([])
    expect(v.messages.length).toBe(300)
  })

  it('a message the reassembler drops is a gap event, and the next message says so', async () => {
    const s = await signStream([msg('ok'), { bytes: messageBytes(50, 1) }, msg('after')], { munroSpan: 4 })
    const v = viewer(s.keys.publicKey, { maxMessageBytes: 10 })
    v.feed(s.frames, new Parent('p'))
    await v.settle()
    expect(v.gaps).toEqual([{ fromIndex: 1, toIndex: 2, code: ErrorCode.MESSAGE_TOO_LARGE }])
    expect(v.log).toEqual(['ok', 'gap 1-2', 'after (gap)'])
  })

  it('a listener that throws does not stop later messages; it surfaces as an error event', async () => {
    const s = await signStream([msg('a'), msg('b'), msg('c')], { munroSpan: 1 })
    const v = viewer(s.keys.publicKey)
    const errors: unknown[] = []
    v.pipeline.on('error', (e) => errors.push(e))
    v.pipeline.on('message', (m) => {
      if (text(m.data) === 'a') throw new Error('app bug')
    })
    v.feed(s.frames, new Parent('p'))
    await v.settle()
    expect(v.log).toEqual(['a', 'b', 'c'])
    expect(errors.length).toBe(1)
  })

  it('frames still queued from a parent that closed are dropped unread', async () => {
    const s = await signStream([msg('a'), msg('b')], { munroSpan: 1 })
    const v = viewer(s.keys.publicKey)
    const p = new Parent('gone')
    v.feed(s.frames, p)
    p.isOpen = false
    await v.settle()
    expect(v.log).toEqual([])
    expect(v.buffer.isEmpty).toBe(true)
  })
})
