import type { PeerStats } from './peer-options.js'
import type { TreePeer } from './relay/tree-peer.js'

/** Running mean of latency samples, reset each time it is read. */
export class LatencyMeter {
  private sum = 0
  private count = 0
  private last: number | null = null

  add(ms: number): void {
    this.sum += ms
    this.count++
  }

  /** Mean since the previous read, or the previous mean if nothing arrived meanwhile. */
  read(): number | null {
    if (this.count > 0) {
      this.last = this.sum / this.count
      this.sum = 0
      this.count = 0
    }
    return this.last
  }
}

export function collectStats(
  role: PeerStats['role'],
  treeId: string,
  peer: TreePeer,
  extra: Pick<PeerStats, 'chunksVerified' | 'chunksRejected' | 'messages' | 'latencyMs'>
): PeerStats {
  const { bytesIn, bytesOut } = peer.traffic()
  const b = peer.buffer
  return {
    role,
    treeId,
    peerId: peer.placement?.peerId ?? null,
    depth: peer.placement?.depth ?? null,
    parent: peer.parentId,
    children: peer.placement?.children ?? [],
    bytesIn,
    bytesOut,
    ...extra,
    buffer: { chunks: b.chunkCount, bytes: b.byteSize, ms: b.spanMs, firstIndex: b.firstIndex, endIndex: b.endIndex },
    reconnects: peer.counters.reconnects,
    laggedChildren: peer.counters.laggedChildren
  }
}
