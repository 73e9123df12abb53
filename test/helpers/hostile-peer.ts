// A malicious relay built from the SDK's own lower layers: it joins a tree
// like any viewer, takes real data from its parent, and serves its children
// something else. Test-only: nothing in src/ knows it exists.
import { generateKeyPair, publicKeyFromTreeId, SignalingClient } from '../../src/index.js'
import { TreePeer } from '../../src/relay/tree-peer.js'
import { toBufferedChunk } from '../../src/relay/stream-buffer.js'
import { StreamSigner } from '../../src/sign/munro-signer.js'
import { encodeFrame, FrameType, type ChunkFrame, type MunroFrame } from '../../src/wire/frames.js'
import { wrtc } from './wrtc.js'

export type Attack = 'flip-bits' | 'replay-munro' | 'foreign-key' | 'withhold'

export interface HostilePeer {
  peerId: string
  destroy(): void
}

export async function startHostilePeer(url: string, treeId: string, attack: Attack): Promise<HostilePeer> {
  const signaling = new SignalingClient(url)
  const joined = await signaling.joinTree(treeId)
  let peer: TreePeer
  const store = (frame: ChunkFrame, bytes: Uint8Array) => {
    peer.buffer.add(toBufferedChunk(frame, bytes, Date.now()))
    peer.pumpChildren()
  }
  const foreign = new StreamSigner({ ...generateKeyPair(), munroDeadlineMs: 20 })
  foreign.on('munro', (signed) => {
    peer.buffer.addMunro({ start: signed.munro.start, count: signed.munro.count, timestamp: signed.munro.timestamp, frame: signed.munroBytes })
    for (const c of signed.chunks) store(c.frame, c.bytes)
  })
  let firstMunro: MunroFrame | undefined

  const onParentData = (frame: MunroFrame | ChunkFrame, bytes: Uint8Array) => {
    if (attack === 'withhold') return // keepalives still flow: the link looks healthy
    if (frame.type === FrameType.MUNRO) {
      if (attack === 'foreign-key') return
      firstMunro ??= { ...frame, root: frame.root.slice(), signature: frame.signature.slice() }
      // An old, validly signed munro presented at a new position.
      const forged = attack === 'replay-munro' && frame.start > firstMunro.start ? encodeFrame({ ...firstMunro, start: frame.start }) : bytes
      peer.buffer.addMunro({ start: frame.start, count: frame.count, timestamp: frame.timestamp, frame: forged })
      return
    }
    if (attack === 'foreign-key') {
      // Same bytes, signed by a key that is not the tree's.
      foreign.write(frame.payload.slice())
      return
    }
    if (attack === 'flip-bits') {
      const tampered = bytes.slice()
      tampered[tampered.length - 1 - (frame.index % Math.max(1, frame.payload.length))]! ^= 0x40
      return store(frame, tampered)
    }
    store(frame, bytes)
  }

  peer = new TreePeer({
    signaling,
    treeId,
    treeKey: publicKeyFromTreeId(treeId),
    wrtc,
    iceServers: [],
    windowMs: 15_000,
    maxBufferBytes: 64 * 1024 * 1024,
    keepaliveMs: 200,
    stallMs: 60_000,
    connectTimeoutMs: 5_000,
    onParentData
  })
  peer.applyPlacement(joined.placement)
  return {
    peerId: joined.placement.peerId,
    destroy() {
      foreign.destroy()
      peer.destroy()
      signaling.destroy()
    }
  }
}
