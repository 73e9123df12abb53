// Soak: a stream to a tree under continuous churn, at the SDK's defaults.
// MUNRO_SOAK_MS sets the streaming time (`npm run soak`: 10 minutes; the
// default run in `npm test`: 40 s). Measures, for the peers that stayed the
// whole time: messages lost or corrupted (must be 0); the heap slope of this
// process (server, source and every peer live here) once the buffers are
// full; and events emitted after destroy() by every destroyed object.
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { createSource, joinTree, type MunroViewer } from '../../src/index.js'
import { MemoryTreeRegistry } from '../../signaling-server/index.js'
import { useTreeFixture } from '../helpers/fixture.js'
import { startServer, waitFor } from '../helpers/signaling.js'
import { allConnected, DEFAULTS, digest, sleep } from '../helpers/tree.js'

const SOAK_MS = Number(process.env.MUNRO_SOAK_MS ?? 40_000)
/** Runs at least this long assert the flat-heap bound. */
const HEAP_BOUND_FROM_MS = 5 * 60_000
const LONG_LIVED = 8
const CHURNERS = 8
/** A churner joins (and the oldest leaves) this often. */
const CHURN_EVERY_MS = 1_500
const MESSAGES_PER_SECOND = 20
/** The buffers fill within their window (15 s); heap is sampled after that. */
const WARMUP_MS = Math.min(20_000, SOAK_MS / 2)

v8.setFlagsFromString('--expose_gc')
const gc = vm.runInNewContext('gc') as () => void

const f = useTreeFixture()

/** Counts every event `target` emits once `isDestroyed()` is true. */
function watchAfterDestroy(object: object, name: string, late: string[]): void {
  const target = object as { emit: (event: string, ...args: unknown[]) => boolean; destroy: () => void }
  const emit = target.emit.bind(target)
  const destroy = target.destroy.bind(target)
  let destroyed = false
  target.destroy = () => {
    destroy()
    destroyed = true
  }
  target.emit = (event, ...args) => {
    if (destroyed) late.push(`${name}:${event}`)
    return emit(event, ...args)
  }
}

function message(i: number): Uint8Array {
  const data = new Uint8Array(1_000 + ((i * 7919) % 15_000))
  for (let j = 4; j < data.length; j += 97) data[j] = (i + j) & 0xff
  new DataView(data.buffer).setUint32(0, i)
  return data
}

/** Least-squares slope of (t ms, bytes) in bytes per minute. */
function slopePerMinute(samples: Array<[number, number]>): number {
  const n = samples.length
  const mt = samples.reduce((s, [t]) => s + t, 0) / n
  const mb = samples.reduce((s, [, b]) => s + b, 0) / n
  const num = samples.reduce((s, [t, b]) => s + (t - mt) * (b - mb), 0)
  const den = samples.reduce((s, [t]) => s + (t - mt) ** 2, 0)
  return (num / den) * 60_000
}

describe('soak', () => {
  it(`streams ${SOAK_MS / 1000} s under continuous churn: nothing lost or corrupted for peers that stayed, flat heap, no events after destroy`, async () => {
    const server = (f.server = await startServer({ registry: new MemoryTreeRegistry() }))
    const source = (f.source = await createSource({ signal: server.url, ...DEFAULTS, k1: 4 }))
    const treeId = source.treeId
    const late: string[] = []
    const watch = (v: MunroViewer, name: string) => {
      watchAfterDestroy(v, name, late)
      const inner = v as unknown as { peer: object; signaling: object }
      watchAfterDestroy(inner.peer, `${name}.peer`, late)
      watchAfterDestroy(inner.signaling, `${name}.signaling`, late)
    }

    // Long-lived viewers and churners interleaved, so churners sit inside the tree above long-lived ones.
    const stayers: MunroViewer[] = []
    let churners: MunroViewer[] = []
    let joined = 0
    const join = async () => {
      const v = await joinTree(treeId, { signal: server.url, ...DEFAULTS })
      f.viewers.push(v)
      watch(v, `viewer${joined++}`)
      return v
    }
    for (let i = 0; i < LONG_LIVED; i++) {
      stayers.push(await join())
      churners.push(await join())
    }
    const logs = stayers.map((v) => {
      const got: Array<{ id: number; hash: string }> = []
      v.on('message', (m) => got.push({ id: new DataView(m.data.buffer, m.data.byteOffset).getUint32(0), hash: digest(m.data) }))
      return got
    })
    await allConnected(f.viewers)

    const started = Date.now()
    const heap: Array<[number, number]> = []
    let written = 0
    let churnedOut = 0
    const hashes: string[] = []
    const writer = (async () => {
      while (Date.now() - started < SOAK_MS) {
        const m = message(written)
        hashes.push(digest(m))
        source.write(m)
        written++
        await sleep(1_000 / MESSAGES_PER_SECOND)
      }
    })()
    const churn = (async () => {
      while (Date.now() - started < SOAK_MS - 5_000) {
        await sleep(CHURN_EVERY_MS)
        churners.push(await join())
        if (churners.length > CHURNERS) {
          const leaving = churners.shift()!
          leaving.destroy()
          f.viewers = f.viewers.filter((v) => v !== leaving)
          churnedOut++
        }
      }
    })()
    const sampler = (async () => {
      while (Date.now() - started < SOAK_MS) {
        await sleep(2_000)
        if (Date.now() - started < WARMUP_MS) continue
        gc()
        heap.push([Date.now() - started, process.memoryUsage().heapUsed])
      }
    })()
    await Promise.all([writer, churn, sampler])

    // Every figure is gathered and printed first, then asserted, so a failing run still reports all of them.
    await waitFor(() => logs.every((l) => l.length >= written), 30_000, 'every long-lived viewer to have every message').catch(() => undefined)
    const lost = logs.map((l) => {
      const got = new Set(l.map((e) => e.id))
      return hashes.map((_, i) => i).filter((i) => !got.has(i))
    })
    const corrupted = logs.map((l) => l.filter((e) => hashes[e.id] !== e.hash).length)
    for (const v of churners) v.destroy()
    churners = []
    await sleep(1_000)

    const slope = slopePerMinute(heap)
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1)
    console.log(
      `[soak] ${SOAK_MS / 1000} s, ${written} messages, ${joined} viewers joined, ${churnedOut} churned out; ` +
        `long-lived viewers lost [${lost.map((l) => l.length)}] (first missing: [${lost.map((l) => l.slice(0, 5).join(' '))}]), corrupted [${corrupted}]; ` +
        `heap ${mib(heap[0]![1])} → ${mib(heap.at(-1)![1])} MiB, slope ${mib(slope)} MiB/min over ${heap.length} samples; ` +
        `${late.length} events after destroy()`
    )
    for (const log of logs) {
      expect(log.map((e) => e.id)).toEqual(hashes.map((_, i) => i))
      expect(log.map((e) => e.hash)).toEqual(hashes)
    }
    expect(late).toEqual([])
    // Flat: a leak of one message's worth per churn event (~10 KiB × 40/min) would already show; 2 MiB/min is far above noise.
    // Only on a long run: over the short run's 20 s of samples, warm-up (JIT, caches, churners' buffers filling) cannot be
    // told from a leak (40 s: 14 MiB/min, 90 s: 6.5 MiB/min), so `npm test` prints the slope and `npm run soak` asserts it.
    if (SOAK_MS >= HEAP_BOUND_FROM_MS) expect(slope).toBeLessThan(2 * 1024 * 1024)
  }, SOAK_MS + 120_000)
})
