// PeerLink over real WebRTC in Node (@roamhq/wrtc). Run inside the network
// namespace: bash scripts/netns.sh npx vitest run test/transport
import { afterEach, describe, expect, it, vi } from 'vitest'
import { PeerLink, PeerLinkError, PeerLinkErrorCode } from '../../src/transport/index.js'
import { LinkPool, prng, randomBytes, sleep, waitFor, wrtc } from './helpers.js'

const pool = new LinkPool()
afterEach(() => pool.destroyAll())

function expectCode(fn: () => unknown, code: string): PeerLinkError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(PeerLinkError)
    expect((err as PeerLinkError).code).toBe(code)
    return err as PeerLinkError
  }
  throw new Error(`expected a throw with code ${code}`)
}

/** A frame whose first 4 bytes are its sequence number. */
function seqFrame(seq: number, length: number): Uint8Array {
  const frame = new Uint8Array(length)
  new DataView(frame.buffer).setUint32(0, seq)
  return frame
}
const seqOf = (frame: Uint8Array) => new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0)

describe('PeerLink: connecting', () => {
  it('two links connect and both emit open once', async () => {
    const { a, b, opened } = pool.pair()
    const opens = { a: 0, b: 0 }
    a.on('open', () => opens.a++)
    b.on('open', () => opens.b++)
    expect(a.state).toBe('connecting')
    await opened
    expect(a.state).toBe('open')
    expect(b.state).toBe('open')
    await sleep(50)
    expect(opens).toEqual({ a: 1, b: 1 })
  })

  it('fails with ERR_CONNECT_TIMEOUT when the remote never answers', async () => {
    const link = pool.make({ initiator: true, connectTimeoutMs: 300 })
    const events: string[] = []
    link.on('error', (err) => events.push(`error:${err.code}`))
    link.on('close', (err) => events.push(`close:${err?.code}`))
    const started = Date.now()
    await waitFor(link, 'close', 5_000)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(events).toEqual(['error:ERR_CONNECT_TIMEOUT', 'close:ERR_CONNECT_TIMEOUT'])
    expect(link.state).toBe('closed')
  })

  it("keeps simple-peer's code on a signaling failure", async () => {
    const link = pool.make({ initiator: false })
    const closed = waitFor(link, 'close')
    link.signal({ nonsense: true })
    const [err] = await closed
    expect(err?.code).toBe('ERR_SIGNALING')
  })
})

describe('PeerLink: frames', () => {
  it('delivers 2,000 frames of random sizes up to 16 KiB bit-exact and in order', async () => {
    const { a, b, opened } = pool.pair()
    await opened
    const rand = prng(0x5eed)
    const count = 2_000
    const sent: Uint8Array[] = []
    // Sizes cover both ends; some frames are views into a larger buffer at an
    // odd offset, to check that only the view's bytes travel.
    for (let i = 0; i < count; i++) {
      const size = i === 0 ? 1 : i === 1 ? 16 * 1024 : 1 + Math.floor(rand() * 16 * 1024)
      if (i % 7 === 3) {
        const backing = randomBytes(rand, size + 13)
        sent.push(backing.subarray(5, 5 + size))
      } else {
        sent.push(randomBytes(rand, size))
      }
    }
    const totalBytes = sent.reduce((n, f) => n + f.byteLength, 0)

    let received = 0
    let mismatch: string | null = null
    const done = new Promise<void>((resolve) => {
      b.on('frame', (frame) => {
        expect(frame).toBeInstanceOf(Uint8Array)
        const expected = sent[received]!
        if (mismatch === null && (frame.byteLength !== expected.byteLength || Buffer.compare(frame, expected) !== 0)) {
          mismatch = `frame ${received}: got ${frame.byteLength} bytes, expected ${expected.byteLength}`
        }
        if (++received === count) resolve()
      })
    })

    let drains = 0
    for (const frame of sent) {
      if (!a.send(frame)) {
        await waitFor(a, 'drain')
        drains++
      }
    }
    await done
    expect(mismatch).toBeNull()
    expect(received).toBe(count)
    expect(a.bytesSent).toBe(totalBytes)
    expect(b.bytesReceived).toBe(totalBytes)
    expect(a.queuedBytes).toBe(0)
    // ~16 MB through a 1 MiB high-water mark: the sender must have waited.
    expect(drains).toBeGreaterThan(0)
  })

  it('queues frames sent before open and delivers them after', async () => {
    const { a, b, opened } = pool.pair()
    const got: number[] = []
    b.on('frame', (frame) => got.push(seqOf(frame)))
    expect(a.send(seqFrame(1, 100))).toBe(false)
    expect(a.send(seqFrame(2, 200))).toBe(false)
    expect(a.queuedBytes).toBe(300)
    const drained = waitFor(a, 'drain')
    await opened
    await drained
    expect(a.queuedBytes).toBe(0)
    expect(a.send(seqFrame(3, 300))).toBe(true)
    await vi.waitFor(() => expect(got).toEqual([1, 2, 3]), { timeout: 5_000 })
  })

  it('rejects bad frames synchronously with stable codes', async () => {
    const { a, opened } = pool.pair()
    await opened
    expectCode(() => a.send(new Uint8Array(0)), PeerLinkErrorCode.INVALID_FRAME)
    expectCode(() => a.send('hello' as unknown as Uint8Array), PeerLinkErrorCode.INVALID_FRAME)
    expectCode(() => a.send(new Uint8Array(16 * 1024 + 1)), PeerLinkErrorCode.FRAME_TOO_LARGE)
    expect(a.state).toBe('open')
  })

  it('ends the link with ERR_BAD_REMOTE_FRAME when the remote sends an oversized frame', async () => {
    const { a, b, opened } = pool.pair({ maxFrameBytes: 32 * 1024 }, { maxFrameBytes: 16 * 1024 })
    await opened
    const bClosed = waitFor(b, 'close')
    const aClosed = waitFor(a, 'close')
    a.send(new Uint8Array(20_000))
    const [err] = await bClosed
    expect(err?.code).toBe(PeerLinkErrorCode.BAD_REMOTE_FRAME)
    await aClosed
  })
})

describe('PeerLink: backpressure', () => {
  it('keeps queuedBytes within maxQueuedBytes and refuses the overflowing frame with ERR_QUEUE_FULL', async () => {
    const maxQueuedBytes = 256 * 1024
    const { a, b, opened } = pool.pair({ maxQueuedBytes, highWaterMark: 512 * 1024, lowWaterMark: 128 * 1024 })
    await opened
    const got: number[] = []
    b.on('frame', (frame) => got.push(seqOf(frame)))

    // A writer far faster than the network: a tight loop that never yields,
    // so nothing is read or transmitted meanwhile, and ignores `false`.
    let accepted = 0
    let firstFalse = -1
    let maxQueued = 0
    let overflow: PeerLinkError | null = null
    for (let seq = 0; seq < 10_000; seq++) {
      try {
        const ok = a.send(seqFrame(seq, 16 * 1024))
        if (!ok && firstFalse < 0) firstFalse = seq
        accepted++
      } catch (err) {
        overflow = err as PeerLinkError
        break
      }
      maxQueued = Math.max(maxQueued, a.queuedBytes)
    }
    expect(overflow).toBeInstanceOf(PeerLinkError)
    expect(overflow?.code).toBe(PeerLinkErrorCode.QUEUE_FULL)
    expect(firstFalse).toBeGreaterThanOrEqual(0) // "slow down" came before "dropped"
    expect(firstFalse).toBeLessThan(accepted)
    expect(maxQueued).toBeLessThanOrEqual(maxQueuedBytes)
    expect(a.queuedBytes).toBe(maxQueuedBytes) // 16 frames of 16 KiB
    expect(a.bufferedAmount).toBeGreaterThanOrEqual(512 * 1024)
    expect(a.state).toBe('open') // overflow is the caller's decision, not a failure

    // Repeated overflow attempts stay refused and change nothing.
    expectCode(() => a.send(seqFrame(99_999, 16 * 1024)), PeerLinkErrorCode.QUEUE_FULL)
    expect(a.queuedBytes).toBe(maxQueuedBytes)

    await waitFor(a, 'drain')
    expect(a.queuedBytes).toBe(0)
    expect(a.bufferedAmount).toBeLessThanOrEqual(128 * 1024)
    // Everything accepted arrives, in order; nothing refused does.
    await vi.waitFor(() => expect(got.length).toBe(accepted), { timeout: 10_000 })
    expect(got).toEqual(Array.from({ length: accepted }, (_, i) => i))
  })

  it('bounds a synchronous burst even where bufferedAmount updates late (node-webrtc)', async () => {
    // node-webrtc shows sends in bufferedAmount only after the event loop
    // turns: without the link's own accounting, a tight loop of 4 KiB frames
    // would hand it hundreds of MB. With it, one turn takes at most
    // highWaterMark + maxQueuedBytes.
    const { a, opened } = pool.pair({ highWaterMark: 256 * 1024, maxQueuedBytes: 128 * 1024 })
    await opened
    let acceptedBytes = 0
    const frame = new Uint8Array(4 * 1024)
    expect(() => {
      for (let i = 0; i < 1_000_000; i++) {
        a.send(frame)
        acceptedBytes += frame.byteLength
      }
    }).toThrow(expect.objectContaining({ code: PeerLinkErrorCode.QUEUE_FULL }))
    expect(acceptedBytes).toBeLessThanOrEqual(256 * 1024 + 4 * 1024 + 128 * 1024)
    await waitFor(a, 'drain')
  })

  it('emits drain after a direct write crosses the high-water mark', async () => {
    const { a, opened } = pool.pair({ highWaterMark: 64 * 1024, lowWaterMark: 16 * 1024 })
    await opened
    // The first `false` comes from a direct write that pushed bufferedAmount
    // to the high-water mark: nothing is queued yet.
    let sends = 0
    while (a.send(new Uint8Array(16 * 1024))) {
      if (++sends > 1_000) throw new Error('bufferedAmount never reached the high-water mark')
    }
    expect(a.queuedBytes).toBe(0)
    expect(a.bufferedAmount).toBeGreaterThanOrEqual(64 * 1024)
    const drains: number[] = []
    a.on('drain', () => drains.push(a.bufferedAmount))
    await vi.waitFor(() => expect(drains.length).toBe(1), { timeout: 5_000 })
    expect(drains[0]).toBeLessThanOrEqual(16 * 1024)
    expect(a.send(new Uint8Array(100))).toBe(true)
  })
})

describe('PeerLink: destroy', () => {
  it('destroy on one side closes both; close comes once and last; no events after destroy', async () => {
    const { a, b, opened } = pool.pair()
    await opened
    const emitA = vi.spyOn(a, 'emit')
    const emitB = vi.spyOn(b, 'emit')
    const closes = { a: 0, b: 0 }
    a.on('close', (err) => {
      expect(err).toBeUndefined()
      closes.a++
    })
    const bClosed = new Promise<unknown>((resolve) => b.on('close', (err) => (closes.b++, resolve(err))))
    a.send(new Uint8Array(1_000))

    a.destroy()
    expect(a.state).toBe('closed')
    expect(closes.a).toBe(1)
    a.destroy() // idempotent
    expect(closes.a).toBe(1)
    expect(emitA.mock.calls.at(-1)?.[0]).toBe('close')
    const aEmitsAtClose = emitA.mock.calls.length

    const bErr = await bClosed
    expect(bErr).toBeUndefined() // a clean remote close is not an error
    expect(b.state).toBe('closed')
    expect(emitB.mock.calls.at(-1)?.[0]).toBe('close')
    const bEmitsAtClose = emitB.mock.calls.length

    // Use after destroy: send throws, signal is ignored, counters are zeroed.
    expectCode(() => a.send(new Uint8Array(1)), PeerLinkErrorCode.DESTROYED)
    expect(() => a.signal({ type: 'offer', sdp: 'x' })).not.toThrow()
    expect(a.queuedBytes).toBe(0)
    expect(a.bufferedAmount).toBe(0)
    expect(a.listenerCount('close')).toBe(0)

    await sleep(500)
    expect(emitA.mock.calls.length).toBe(aEmitsAtClose)
    expect(emitB.mock.calls.length).toBe(bEmitsAtClose)
    expect(closes).toEqual({ a: 1, b: 1 })
  })

  it('destroy(err) emits error then close with a coded error', async () => {
    const { a, opened } = pool.pair()
    await opened
    const events: string[] = []
    a.on('error', (err) => events.push(`error:${err.code}`))
    a.on('close', (err) => events.push(`close:${err?.code}`))
    a.destroy(new Error('going away'))
    expect(events).toEqual(['error:ERR_ABORTED', 'close:ERR_ABORTED'])
  })

  it('destroy while connecting cancels the connect timeout and drops the queue', async () => {
    const link = pool.make({ initiator: true, connectTimeoutMs: 200 })
    link.send(new Uint8Array(10))
    const emit = vi.spyOn(link, 'emit')
    link.destroy()
    expect(emit.mock.calls.map((c) => c[0])).toEqual(['close'])
    expect(link.queuedBytes).toBe(0)
    await sleep(400)
    expect(emit.mock.calls.length).toBe(1)
  })
})

describe('PeerLink: options', () => {
  it('validates options with ERR_INVALID_OPTION', () => {
    const bad: Array<Record<string, unknown>> = [
      { initiator: 'yes' },
      { initiator: true, maxFrameBytes: 0 },
      { initiator: true, maxQueuedBytes: 1.5 },
      { initiator: true, highWaterMark: 64 * 1024 * 1024 },
      { initiator: true, highWaterMark: 1000, lowWaterMark: 1000 },
      { initiator: true, maxFrameBytes: 32 * 1024, maxQueuedBytes: 16 * 1024 },
      { initiator: true, iceServers: 'stun:x' },
      { initiator: true, wrtc: {} }
    ]
    for (const options of bad) {
      expectCode(() => new PeerLink({ wrtc, ...options } as never), PeerLinkErrorCode.INVALID_OPTION)
    }
  })

  it('derives a default low-water mark below a small high-water mark', () => {
    const link = pool.make({ initiator: true, highWaterMark: 100_000 })
    expect(link.lowWaterMark).toBe(25_000)
  })
})
