// A hostile child: it joins like a viewer, keeps nothing, and reconnects to
// its parent `holdMs` after each connection opens, each time asking for the
// stream from index 0,
// so an unprotected parent would re-send its whole window on every reconnect
// (issue 7, defect 9). It never reports its parent, so it is never moved.
import { publicKeyFromTreeId, SignalingClient } from '../../src/index.js'
import { TreePeer } from '../../src/relay/tree-peer.js'
import { wrtc } from './wrtc.js'

export interface ReconnectingChild {
  peerId: string
  /** Bytes received over every link it had. */
  bytesIn(): number
  /** Connections it started after the first. */
  reconnects(): number
  destroy(): void
}

export async function startReconnectingChild(url: string, treeId: string, holdMs: number): Promise<ReconnectingChild> {
  const signaling = new SignalingClient(url)
  signaling.reportParent = async () => {}
  const joined = await signaling.joinTree(treeId)
  const peer = new TreePeer({
    signaling,
    treeId,
    treeKey: publicKeyFromTreeId(treeId),
    wrtc,
    iceServers: [],
    windowMs: 15_000,
    maxBufferBytes: 64 * 1024 * 1024,
    keepaliveMs: 500,
    stallMs: 60_000,
    connectTimeoutMs: 10_000,
    resumeHint: () => 0
  })
  peer.applyPlacement(joined.placement)
  // A fresh connection (and offer) to the same parent, without waiting for any backoff.
  const parentLink = (peer as unknown as { parent: { connect(): void } }).parent
  let timer: ReturnType<typeof setTimeout> | undefined
  let reconnects = 0
  const reconnect = () => {
    reconnects++
    parentLink.connect()
    // Should the parent not answer (its offer waits its turn), try again anyway.
    clearTimeout(timer)
    timer = setTimeout(reconnect, 2_000)
  }
  peer.on('parent-connected', () => {
    clearTimeout(timer)
    timer = setTimeout(reconnect, holdMs)
  })
  return {
    peerId: joined.placement.peerId,
    bytesIn: () => peer.traffic().bytesIn,
    reconnects: () => reconnects,
    destroy() {
      clearTimeout(timer)
      peer.destroy()
      signaling.destroy()
    }
  }
}
