// The tree data plane in Node (real WebRTC via @roamhq/wrtc, real signaling server):
//  - join to first verified message,
//  - recovery when a viewer's parent is killed: clean close, and a silent freeze,
//  - source upload as the viewer count grows (should stay near k1 × the stream).
//
//   bash scripts/netns.sh node --import tsx bench/tree.ts
import { pathToFileURL } from 'node:url'
import { joinTree, type MunroSource, type MunroViewer } from '../src/index.js'
import { startServer } from '../test/helpers/signaling.js'
import { spawnViewer } from '../test/helpers/processes.js'
import { FAST, sleep, startSource, startViewers, allConnected } from '../test/helpers/tree.js'
import { quantile } from './raw-relay-browser.js'

const median = (xs: number[]) => quantile(xs, 0.5)

/** Writes a 1 KiB message every `everyMs`, a start point every 10th, until stopped. */
function ticker(source: MunroSource, everyMs: number): () => void {
  let seq = 0
  const timer = setInterval(() => {
    const data = new Uint8Array(1024)
    new DataView(data.buffer).setUint32(0, seq)
    source.write(data, { startPoint: seq % 10 === 0 })
    seq++
  }, everyMs)
  return () => clearInterval(timer)
}

async function joinToFirstMessage(url: string, treeId: string, rounds: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now()
    const viewer = await joinTree(treeId, { signal: url, ...FAST })
    await new Promise<void>((resolve) => viewer.once('message', () => resolve()))
    times.push(performance.now() - t0)
    viewer.destroy()
    await sleep(100)
  }
  return times
}

/** Longest gap between consecutive messages at `viewer` while its parent dies, and whether any sequence number is missing. */
function watchSequence(viewer: MunroViewer): { gaps: () => { maxGapMs: number; missing: number } } {
  let last = -1
  let lastAt = 0
  let maxGapMs = 0
  let missing = 0
  viewer.on('message', (m) => {
    const seq = new DataView(m.data.buffer, m.data.byteOffset).getUint32(0)
    const now = performance.now()
    if (last >= 0) {
      missing += Math.max(0, seq - last - 1)
      maxGapMs = Math.max(maxGapMs, now - lastAt)
    }
    last = seq
    lastAt = now
  })
  return { gaps: () => ({ maxGapMs, missing }) }
}

async function recovery(kind: 'clean-close' | 'freeze'): Promise<{ maxGapMs: number; missing: number }> {
  const server = await startServer({ pingIntervalMs: 1_000, pingTimeoutMs: 1_000 })
  const source = await startSource(server.url, { k: 1, k1: 1 })
  const stop = ticker(source, 20)
  let middle: MunroViewer | undefined
  const proc = kind === 'freeze' ? await spawnViewer(server.url, source.treeId) : undefined
  if (!proc) middle = await joinTree(source.treeId, { signal: server.url, ...FAST })
  const [last] = await startViewers(server.url, source.treeId, 1)
  await allConnected([last!])
  await sleep(1_000)
  const watch = watchSequence(last!)
  await sleep(500)
  if (proc) proc.kill('SIGSTOP')
  else middle!.destroy()
  await sleep(kind === 'freeze' ? 5_000 : 2_000)
  const result = watch.gaps()
  stop()
  proc?.kill('SIGKILL')
  last!.destroy()
  source.destroy()
  await server.close()
  return result
}

async function uploadVsViewers(counts: number[]): Promise<{ viewers: number; uploadOverStream: number; deepest: number }[]> {
  const out: { viewers: number; uploadOverStream: number; deepest: number }[] = []
  for (const n of counts) {
    const server = await startServer()
    const source = await startSource(server.url, { k: 2, k1: 2 })
    const viewers = await startViewers(server.url, source.treeId, n)
    await allConnected(viewers)
    const before = source.stats().bytesOut
    let written = 0
    for (let i = 0; i < 100; i++) {
      const data = new Uint8Array(16_000)
      source.write(data)
      written += data.byteLength
      await sleep(10)
    }
    await sleep(1_000)
    out.push({
      viewers: n,
      uploadOverStream: (source.stats().bytesOut - before) / written,
      deepest: Math.max(...viewers.map((v) => v.stats().depth ?? 0))
    })
    for (const v of viewers) v.destroy()
    source.destroy()
    await server.close()
  }
  return out
}

export async function runTreeBench(): Promise<Record<string, unknown>> {
  const server = await startServer()
  const source = await startSource(server.url, { k: 4, k1: 4 })
  const stop = ticker(source, 50)
  await sleep(600)
  const joins = await joinToFirstMessage(server.url, source.treeId, 7)
  stop()
  source.destroy()
  await server.close()

  return {
    joinToFirstMessageMedianMs: median(joins),
    joinToFirstMessageP90Ms: quantile(joins, 0.9),
    recoveryCleanClose: await recovery('clean-close'),
    recoveryFreeze: await recovery('freeze'),
    stallMs: FAST.stallMs,
    sourceUpload: await uploadVsViewers([2, 8, 24])
  }
}

export function formatTreeBench(r: Awaited<ReturnType<typeof runTreeBench>>): string {
  const rc = r.recoveryCleanClose as { maxGapMs: number; missing: number }
  const rf = r.recoveryFreeze as { maxGapMs: number; missing: number }
  const up = r.sourceUpload as { viewers: number; uploadOverStream: number; deepest: number }[]
  return [
    '| tree, Node peers (node-webrtc) | value |',
    '|---|---|',
    `| join → first verified message, median (p90) | ${(r.joinToFirstMessageMedianMs as number).toFixed(0)} ms (${(r.joinToFirstMessageP90Ms as number).toFixed(0)} ms) |`,
    `| parent leaves (clean close): longest gap at its child, messages lost | ${rc.maxGapMs.toFixed(0)} ms, ${rc.missing} |`,
    `| parent freezes (SIGSTOP), stallMs ${r.stallMs}: longest gap, messages lost | ${rf.maxGapMs.toFixed(0)} ms, ${rf.missing} |`,
    ...up.map((u) => `| source upload ÷ stream bytes, k1=2, ${u.viewers} viewers (depth ${u.deepest}) | ${u.uploadOverStream.toFixed(2)} |`)
  ].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runTreeBench()
  console.log(formatTreeBench(result))
  process.exit(0)
}
