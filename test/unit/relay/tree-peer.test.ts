// TreePeer's policies over fake links and a scripted signaling client, under
// fake timers: when a parent is blamed and with what reason, how a flapping,
// withholding or frozen parent is handled, that links outlive a signaling
// outage, and that a child cannot make us re-serve the window by reconnecting.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { OFFER_INTERVAL_MS, REWIND_BUDGET } from '../../../src/relay/child-admission.js'
import { FLAP_LIMIT } from '../../../src/relay/parent-health.js'
import { HANDSHAKE_HOLD_MS, TALKING_GRACE } from '../../../src/relay/parent-session.js'
import { TreePeer } from '../../../src/relay/tree-peer.js'
import { decodeFrame, encodeFrame, FrameType } from '../../../src/wire/frames.js'
import { fakeLinks, type FakeLink } from '../../helpers/fake-link.js'
import { FakeSignaling, placement } from '../../helpers/fake-signaling.js'

const T = 'tree'
const treeKey = new Uint8Array(32).fill(7)
const STALL_MS = 2_000 // the SDK default
const keepalive = () => encodeFrame({ type: FrameType.KEEPALIVE, timestamp: Date.now() })

let sig: FakeSignaling
let links: ReturnType<typeof fakeLinks>
let position: number
let peer: TreePeer

function start(parent: string | null, children: string[] = []): void {
  peer = new TreePeer({
    signaling: sig.asClient(),
    treeId: T,
    treeKey,
    windowMs: 15_000,
    maxBufferBytes: 1 << 24,
    keepaliveMs: 500,
    stallMs: STALL_MS,
    connectTimeoutMs: 10_000,
    createLink: links,
    position: () => position
  })
  peer.applyPlacement(placement(T, 'me', parent, children, 1))
}
const linkTo = (id: string): FakeLink => links.last(id)!
const offer = (from: string, n = 0) => sig.emit('signal', { treeId: T, from, data: { type: 'offer', sdp: `offer-${n}` } })

beforeEach(() => {
  vi.useFakeTimers()
  sig = new FakeSignaling()
  links = fakeLinks()
  position = 0
})
afterEach(() => {
  peer.destroy()
  vi.useRealTimers()
})

describe('TreePeer: blaming a parent', () => {
  it('reports a parent that sends a frame that does not decode as invalid-data, naming the decoder\'s reason', async () => {
    start('P')
    const failures: unknown[] = []
    peer.on('parent-failed', (id, failure) => failures.push({ id, failure }))
    const link = linkTo('P')
    link.open()
    // An empty chunk whose length field claims 64 bytes: what flipping the last bit of a heartbeat makes.
    const frame = encodeFrame({ type: FrameType.CHUNK, index: 0, munroStart: 0, span: 1, flags: 3, proof: new Uint8Array(0), payload: new Uint8Array(0) })
    frame[frame.length - 1]! ^= 0x40
    link.receive(frame)
    await vi.advanceTimersByTimeAsync(0)
    expect(failures).toEqual([{ id: 'P', failure: { kind: 'invalid', code: 'ERR_BAD_FRAME', undecodable: 'chunk: truncated payload' } }])
    expect(sig.reports).toEqual([{ parentId: 'P', reason: 'invalid-data' }])
  })

  it('reports a parent that goes silent after stallMs, as unresponsive (never invalid-data)', () => {
    start('P')
    linkTo('P').open()
    vi.advanceTimersByTime(STALL_MS - 100)
    expect(sig.reports).toEqual([])
    vi.advanceTimersByTime(600)
    expect(sig.reports).toEqual([{ parentId: 'P', reason: 'unresponsive' }])
  })

  it('keeps a parent that brings progress, however long', () => {
    start('P')
    linkTo('P').open()
    for (let t = 0; t < 60_000; t += 500) {
      position++
      vi.advanceTimersByTime(500)
    }
    expect(sig.reports).toEqual([])
    expect(links.made.length).toBe(1)
  })

  it('reports a parent that re-sends what we have (position unchanged) as a staller, after the grace for a talking parent', () => {
    start('P')
    const link = linkTo('P')
    link.open()
    const timer = setInterval(() => link.receive(keepalive()), 400)
    vi.advanceTimersByTime(TALKING_GRACE * STALL_MS - 200)
    expect(sig.reports).toEqual([]) // it may be recovering from its own parent: not yet
    vi.advanceTimersByTime(1_000)
    clearInterval(timer)
    expect(sig.reports).toEqual([{ parentId: 'P', reason: 'unresponsive' }])
  })

  it('does not report a parent that recovers upstream within the grace (no cascade down the tree)', () => {
    start('P')
    const link = linkTo('P')
    link.open()
    // P's own parent froze: P still sends keepalives, and after ~2.5 s it has a new parent and streams again.
    const timer = setInterval(() => link.receive(keepalive()), 500)
    vi.advanceTimersByTime(2_500)
    const progress = setInterval(() => position++, 100)
    vi.advanceTimersByTime(20_000)
    clearInterval(timer)
    clearInterval(progress)
    expect(sig.reports).toEqual([])
  })

  it('reports a parent that opens its channel and closes it before stallMs, after FLAP_LIMIT flaps (not retried forever)', () => {
    start('P')
    for (let flap = 1; flap <= 3 * FLAP_LIMIT; flap++) {
      const link = linkTo('P')
      link.open()
      vi.advanceTimersByTime(STALL_MS / 2)
      link.close('ERR_DATA_CHANNEL')
      vi.advanceTimersByTime(2_000) // past the longest retry delay
    }
    expect(links.made.length).toBe(3 * FLAP_LIMIT + 1)
    expect(sig.reports).toEqual(Array(3).fill({ parentId: 'P', reason: 'unresponsive' }))
  })

  it('retries a parent whose link closed after it proved itself (data for a stall time), without blame, every time', () => {
    start('P')
    for (let i = 0; i < 5; i++) {
      linkTo('P').open()
      for (let t = 0; t < STALL_MS + 500; t += 500) {
        position++
        vi.advanceTimersByTime(500)
      }
      linkTo('P').close('ERR_ICE_CONNECTION_FAILURE')
      vi.advanceTimersByTime(250)
    }
    expect(links.made.length).toBe(6)
    expect(sig.reports).toEqual([])
  })

  it('reports a parent that brings a little data and then closes before stallMs, again and again', () => {
    start('P')
    for (let flap = 1; flap <= FLAP_LIMIT; flap++) {
      linkTo('P').open()
      position++
      vi.advanceTimersByTime(1_000)
      linkTo('P').close('ERR_BAD_REMOTE_FRAME')
      vi.advanceTimersByTime(2_000)
    }
    expect(sig.reports).toEqual([{ parentId: 'P', reason: 'unresponsive' }])
  })

  it("asks to be moved at once when its parent's link closed and the server holds that parent as away (a closed tab)", async () => {
    start('P')
    linkTo('P').open()
    for (let t = 0; t < STALL_MS + 500; t += 500) {
      position++
      vi.advanceTimersByTime(500)
    }
    sig.absent.add('P')
    linkTo('P').close('ERR_DATA_CHANNEL')
    vi.advanceTimersByTime(250) // the retry makes a new link, whose offer the server refuses
    linkTo('P').emit('signal', { type: 'offer', sdp: 'retry' } as never)
    await vi.advanceTimersByTimeAsync(0)
    expect(sig.reports).toEqual([{ parentId: 'P', reason: 'unresponsive' }])
  })

  // A busy server sheds signals (ERR_OVERLOADED); one whose shared store (Redis) is away for a moment cannot check the
  // neighbour (ERR_UNAVAILABLE). Either way the signal is sent again shortly, so the link is not left waiting for its
  // connect timeout.
  it.each([
    ['shed by a busy server', 'shedNext', 2, 100 + 200],
    ['refused while the shared store is away', 'unavailableNext', 1, 100]
  ] as const)('sends a signal %s again shortly', async (_case, failure, times, retryMs) => {
    start('P')
    sig[failure] = times
    linkTo('P').emit('signal', { type: 'offer', sdp: 'o' } as never)
    await vi.advanceTimersByTimeAsync(0)
    expect(sig.signalsSent).toEqual([])
    await vi.advanceTimersByTimeAsync(retryMs)
    expect(sig.signalsSent).toEqual([{ to: 'P', data: { type: 'offer', sdp: 'o' } }])
    expect(sig.reports).toEqual([])
  })

  it("does not report a child that is away: only its parent's absence moves it", async () => {
    start('P', ['C'])
    sig.absent.add('C')
    offer('C')
    await vi.advanceTimersByTimeAsync(0)
    linkTo('C').emit('signal', { type: 'answer', sdp: 'a' } as never)
    await vi.advanceTimersByTimeAsync(0)
    expect(sig.reports).toEqual([])
  })

  it('does not blame its parent for the time this peer itself was frozen', () => {
    start('P')
    const link = linkTo('P')
    link.open()
    vi.advanceTimersByTime(1_000)
    // SIGSTOP / a background tab: no timer runs for 8 s, then they run late, once.
    vi.setSystemTime(Date.now() + 8_000)
    vi.advanceTimersByTime(500)
    expect(sig.reports).toEqual([])
    const progress = setInterval(() => position++, 200)
    vi.advanceTimersByTime(10_000)
    clearInterval(progress)
    expect(sig.reports).toEqual([])
    expect(link.state).toBe('open')
  })

  it('moves to the parent a new placement names, and the old parent is not blamed for it', () => {
    start('P')
    linkTo('P').open()
    peer.applyPlacement(placement(T, 'me', 'Q', [], 2))
    expect(linkTo('P').state).toBe('closed')
    expect(linkTo('Q').state).toBe('connecting')
    vi.advanceTimersByTime(10 * STALL_MS)
    expect(sig.reports.filter((r) => r.parentId === 'P')).toEqual([])
  })
})

describe('TreePeer: signaling outage', () => {
  it('keeps every link while the socket is down, offers them as hints, and keeps those a later placement still names', () => {
    start('P', ['C1', 'C2'])
    linkTo('P').open()
    offer('C1')
    offer('C2')
    linkTo('C1').open()
    linkTo('C2').open()
    expect(sig.hints!()).toEqual({ parentId: 'P', childIds: ['C1', 'C2'] })

    sig.connected = false
    sig.emit('disconnect', 'transport close')
    for (let t = 0; t < 30_000; t += 500) {
      position++
      vi.advanceTimersByTime(500)
    }
    expect([linkTo('P'), linkTo('C1'), linkTo('C2')].map((l) => l.state)).toEqual(['open', 'open', 'open'])

    // A restarted server counts versions afresh: the rejoin's placement is taken although its version is lower.
    sig.connected = true
    sig.emit('resumed', T, { placement: placement(T, 'me', 'P', ['C1'], 0) } as never)
    expect(links.made.length).toBe(3)
    expect([linkTo('P'), linkTo('C1'), linkTo('C2')].map((l) => l.state)).toEqual(['open', 'open', 'closed'])
    expect(sig.hints!()).toEqual({ parentId: 'P', childIds: ['C1'] })
  })

  it('offers as hints the links it is still establishing, so a restarted server keeps those edges too', () => {
    // Before: only open links were offered, and an edge whose link was connecting at the rejoin
    // was missing from both ends' hints: the server placed that child afresh (2 of 15 edges lost in 2 of 7 restarts).
    start('P', ['C1', 'C2'])
    offer('C1')
    linkTo('C1').open()
    expect(linkTo('P').state).not.toBe('open')
    expect(sig.hints!()).toEqual({ parentId: 'P', childIds: ['C1', 'C2'] })
    // A parent link that failed and is being retried still counts: the placement names that parent.
    sig.connected = false
    sig.emit('disconnect', 'transport close')
    linkTo('P').open()
    linkTo('P').close()
    expect(sig.hints!()).toEqual({ parentId: 'P', childIds: ['C1', 'C2'] })
  })

  it('after a rejoin that names the same parent, connects to it again at once if its link is not open', () => {
    // Found with a viewer frozen past the server's ping timeout: its link to its parent closed, and the retry's
    // offer went out while signaling was away (or while the server had detached it), so it was refused. The rejoin
    // named the same parent, and the link waited out connectTimeoutMs (10 s) for an answer that could not come,
    // while the window moved on: the viewer lost what it would otherwise have fetched.
    start('P')
    linkTo('P').open()
    sig.connected = false
    sig.emit('disconnect', 'transport close')
    linkTo('P').close()
    vi.advanceTimersByTime(300) // the retry
    expect(links.made.length).toBe(2)
    linkTo('P').emit('signal', { type: 'offer', sdp: 'lost' } as never)
    expect(sig.signalsSent).toEqual([])

    sig.connected = true
    sig.emit('resumed', T, { placement: placement(T, 'me', 'P', [], 2) } as never)
    expect(links.made.length).toBe(3)
    expect(links.made[1]!.state).toBe('closed')
    expect(linkTo('P').state).toBe('connecting')
  })

  it('reports nothing while signaling is away, and carries on when a report fails', () => {
    start('P')
    sig.connected = false
    linkTo('P').open()
    vi.advanceTimersByTime(STALL_MS + 600)
    expect(sig.reports).toEqual([])
    expect(links.made.length).toBe(1)
    vi.advanceTimersByTime(300) // the retry goes on regardless
    expect(links.made.length).toBe(2)
  })
})

describe('TreePeer: a child that reconnects in a loop', () => {
  it('takes one offer per child per OFFER_INTERVAL_MS; a waiting offer overtaken by a newer one is dropped and counted', () => {
    start(null, ['C'])
    offer('C', 0)
    expect(links.made.length).toBe(1)
    for (let n = 1; n <= 5; n++) {
      vi.advanceTimersByTime(50)
      offer('C', n)
      sig.emit('signal', { treeId: T, from: 'C', data: { candidate: { candidate: `c${n}` } } })
    }
    expect(links.made.length).toBe(1)
    vi.advanceTimersByTime(OFFER_INTERVAL_MS)
    expect(links.made.length).toBe(2)
    expect(peer.counters.droppedOffers).toBe(4)
    // The newest offer and the candidates that followed it reach the new link, in order.
    expect(linkTo('C').signals).toEqual([{ type: 'offer', sdp: 'offer-5' }, { candidate: { candidate: 'c5' } }])
    expect(links.made[0]!.state).toBe('closed')
  })

  it('resumes a reconnecting child from what it was already served, re-sending what was in flight and, beyond that, only what its rewind budget allows', () => {
    start(null, ['C'])
    peer.buffer.reset(0)
    // Chunks of 64 KiB, so that the window (100 chunks) is more than a full rewind budget.
    const size = 64 * 1024
    const budgetChunks = REWIND_BUDGET.maxBytes / size
    const refillChunks = Math.floor((REWIND_BUDGET.bytesPerSecond * OFFER_INTERVAL_MS) / 1000 / size)
    for (let i = 0; i < 100; i++) {
      peer.buffer.addMunro({ epoch: 0, start: i, count: 1, timestamp: Date.now(), frame: new Uint8Array([0xa0, i]) } as never)
      peer.buffer.add({ index: i, munroStart: i, messageStart: true, messageEnd: true, startPoint: i % 10 === 0, init: false, frame: new Uint8Array(size).fill(i), receivedAt: Date.now() } as never)
    }
    const chunksSent = (link: FakeLink) => link.sent.filter((f) => f.length === size).map((f) => f[0])
    const handshake = (index: number) => encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index, epoch: 0 } })

    offer('C', 0)
    const first = linkTo('C')
    first.open()
    first.receive(handshake(0))
    expect(chunksSent(first)).toHaveLength(100)
    // It drops the link with 3 chunks still in our send buffer, and asks for everything again.
    first.bufferedAmount = 3 * size
    vi.advanceTimersByTime(300) // a keepalive tick samples the buffer
    first.close()
    vi.advanceTimersByTime(OFFER_INTERVAL_MS)
    offer('C', 1)
    const second = linkTo('C')
    second.open()
    second.receive(handshake(0))
    // What was in flight comes again for free; further back, its budget (4 MiB) pays, and no further.
    expect(chunksSent(second)).toEqual(Array.from({ length: 3 + budgetChunks }, (_, k) => 100 - 3 - budgetChunks + k))
    // Claiming another source session does not reopen the window either: the budget is spent, one second refills little.
    second.close()
    vi.advanceTimersByTime(OFFER_INTERVAL_MS)
    offer('C', 2)
    const third = linkTo('C')
    third.open()
    third.receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 0, epoch: 5 } }))
    expect(chunksSent(third).length).toBeLessThanOrEqual(refillChunks + 1)
  })

  it('having just taken a departed parent\'s slot, asks its own parent for where its waiting children stopped', () => {
    // Before: a peer holding nothing asked its first parent for the latest start point, after what its new
    // children were waiting for: what they missed since their old parent left was skipped for all of them.
    start('P', ['C'])
    offer('C')
    linkTo('C').open()
    linkTo('C').receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 40, epoch: 3 } }))
    linkTo('P').open()
    const sent = decodeFrame(linkTo('P').sent[0]!)
    expect(sent.ok && sent.frame.type === FrameType.HANDSHAKE && sent.frame.resume).toEqual({ kind: 'index', index: 40, epoch: 3 })
  })

  it('holding nothing, placed with children, lets them handshake before its own (at most HANDSHAKE_HOLD_MS)', () => {
    // Before: its parent's channel opened first and it asked at once for the latest start point, past where
    // the children it inherited had stopped.
    const handshakeOn = (link: FakeLink) => link.sent.map((f) => decodeFrame(f)).find((d) => d.ok && d.frame.type === FrameType.HANDSHAKE)
    start('P', ['C'])
    linkTo('P').open()
    vi.advanceTimersByTime(100)
    expect(handshakeOn(linkTo('P'))).toBeUndefined()
    offer('C')
    linkTo('C').open()
    linkTo('C').receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 40, epoch: 3 } }))
    vi.advanceTimersByTime(50)
    const sent = handshakeOn(linkTo('P'))
    expect(sent?.ok && sent.frame.type === FrameType.HANDSHAKE && sent.frame.resume).toEqual({ kind: 'index', index: 40, epoch: 3 })

    // A child that never handshakes holds it up no longer than HANDSHAKE_HOLD_MS.
    peer.destroy()
    start('Q', ['D'])
    linkTo('Q').open()
    vi.advanceTimersByTime(HANDSHAKE_HOLD_MS - 50)
    expect(handshakeOn(linkTo('Q'))).toBeUndefined()
    vi.advanceTimersByTime(100)
    const late = handshakeOn(linkTo('Q'))
    expect(late?.ok && late.frame.type === FrameType.HANDSHAKE && late.frame.resume).toEqual({ kind: 'latest' })
  })
})

describe('TreePeer: a frozen child whose parent left while it slept', () => {
  // The child froze at index 60 (a background tab, a heap snapshot); meanwhile its parent left and this peer,
  // a newcomer holding only what came since it joined (from 100), took the parent's slot. Before: the child was
  // served from 100, and it and its subtree skipped 60..99 although our parent still held them.
  const chunkAt = (i: number) =>
    ({ index: i, munroStart: i, messageStart: true, messageEnd: true, startPoint: false, frame: new Uint8Array([0xc0, i]), receivedAt: Date.now() }) as const
  /** What our parent sends us, as the verify pipeline stores it: munro, then chunk. */
  const arrive = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      peer.buffer.addMunro({ start: i, count: 1, timestamp: Date.now(), frame: new Uint8Array([0xa0, i]) })
      peer.buffer.add(chunkAt(i))
    }
    peer.pumpChildren()
  }
  const chunksOn = (link: FakeLink) => link.sent.filter((f) => f[0] === 0xc0).map((f) => f[1])
  const handshakeOn = (link: FakeLink) => {
    const d = link.sent.map((f) => decodeFrame(f)).find((x) => x.ok && x.frame.type === FrameType.HANDSHAKE)
    return d?.ok && d.frame.type === FrameType.HANDSHAKE ? d.frame.resume : undefined
  }
  function inherit(resumeAt: number): FakeLink {
    start('G')
    linkTo('G').open()
    peer.buffer.reset(0)
    arrive(100, 150)
    peer.applyPlacement(placement(T, 'me', 'G', ['C'], 2))
    offer('C')
    const child = linkTo('C')
    child.open()
    child.receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: resumeAt, epoch: 0 } }))
    return child
  }

  it('asks its own parent again from where the child stopped, and serves the child from there: nothing lost', () => {
    const child = inherit(60)
    expect(chunksOn(child)).toEqual([]) // it waits instead of skipping to 100
    expect(links.made.filter((l) => l.remoteId === 'G')).toHaveLength(2)
    expect(links.made[0]!.state).toBe('closed')
    linkTo('G').open()
    expect(handshakeOn(linkTo('G'))).toEqual({ kind: 'index', index: 60, epoch: 0 })
    // Our parent sends from 60 on: 100..149 again (repeats, ignored), then what is new.
    arrive(60, 160)
    expect(chunksOn(child)).toEqual(Array.from({ length: 100 }, (_, k) => 60 + k))
    expect(sig.reports).toEqual([])
    expect(peer.counters.backfills).toBe(1)
    // A later child asking for the same (already fetched) range is served at once, without another session.
    vi.advanceTimersByTime(OFFER_INTERVAL_MS)
    peer.applyPlacement(placement(T, 'me', 'G', ['C', 'D'], 3))
    offer('D')
    linkTo('D').open()
    linkTo('D').receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 70, epoch: 0 } }))
    expect(chunksOn(linkTo('D'))).toEqual(Array.from({ length: 90 }, (_, k) => 70 + k))
    expect(links.made.filter((l) => l.remoteId === 'G')).toHaveLength(2)
  })

  it('when our parent no longer has all of it, the child skips only what nobody had (a gap, never a silent skip)', () => {
    const child = inherit(60)
    linkTo('G').open()
    arrive(80, 160) // our parent held from 80 only
    expect(chunksOn(child)).toEqual(Array.from({ length: 80 }, (_, k) => 80 + k))
    // A child asking below that again makes no new session: our parent already said it could not.
    const sessions = links.made.filter((l) => l.remoteId === 'G').length
    peer.applyPlacement(placement(T, 'me', 'G', ['C', 'D'], 3))
    offer('D')
    linkTo('D').open()
    linkTo('D').receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 50, epoch: 0 } }))
    expect(chunksOn(linkTo('D'))[0]).toBe(80)
    expect(links.made.filter((l) => l.remoteId === 'G')).toHaveLength(sessions)
  })

  it('holding nothing yet when the child handshakes after the hold, fetches from where it stopped once data comes', () => {
    start('G', ['C'])
    linkTo('G').open()
    vi.advanceTimersByTime(HANDSHAKE_HOLD_MS + 100) // the frozen child did not handshake in time: we asked for the latest
    expect(handshakeOn(linkTo('G'))).toEqual({ kind: 'latest' })
    offer('C')
    linkTo('C').open()
    linkTo('C').receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 60, epoch: 7 } }))
    peer.buffer.reset(7)
    arrive(100, 110) // the latest start point onwards
    expect(chunksOn(linkTo('C'))).toEqual([])
    linkTo('G').open()
    expect(handshakeOn(linkTo('G'))).toEqual({ kind: 'index', index: 60, epoch: 7 })
    arrive(60, 120)
    expect(chunksOn(linkTo('C'))).toEqual(Array.from({ length: 60 }, (_, k) => 60 + k))
  })

  it('does not ask when the window already dropped what the child wants (our parent dropped it too)', () => {
    start('G', ['C'])
    linkTo('G').open()
    peer.buffer.reset(0)
    arrive(0, 10)
    for (let t = 0; t < 16_000; t += 500) {
      position++ // our parent keeps streaming (heartbeats) past the 15 s window
      vi.advanceTimersByTime(500)
    }
    arrive(10, 20)
    expect(peer.buffer.firstIndex).toBe(10)
    offer('C')
    linkTo('C').open()
    linkTo('C').receive(encodeFrame({ type: FrameType.HANDSHAKE, treeKey, resume: { kind: 'index', index: 5, epoch: 0 } }))
    expect(chunksOn(linkTo('C'))).toEqual(Array.from({ length: 10 }, (_, k) => 10 + k))
    expect(links.made.filter((l) => l.remoteId === 'G')).toHaveLength(1)
    expect(peer.counters.backfills).toBe(0)
  })
})
