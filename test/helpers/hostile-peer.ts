// A malicious or broken relay built from the SDK's own lower layers: it joins
// a tree like any viewer, takes real data from its parent, stores it without
// verifying (as an honest relay would after verifying), and serves its
// children something else. Two kinds of attack:
// - what it stores (flip-bits, replay-munro, foreign-key, withhold);
// - what it does on each child link (poison, replay-withhold, flap,
//   keepalive-flood, giant-frames), through a wrapped link send().
// Test-only: nothing in src/ knows it exists.
import { generateKeyPair, publicKeyFromTreeId, SignalingClient } from '../../src/index.js'
import type { Link } from '../../src/relay/link.js'
import { TreePeer } from '../../src/relay/tree-peer.js'
import { toBufferedChunk } from '../../src/relay/stream-buffer.js'
import { StreamSigner } from '../../src/sign/munro-signer.js'
import { PeerLink } from '../../src/transport/peer-link.js'
import { decodeFrame, encodeFrame, FrameType, type ChunkFrame, type Frame, type InitFrame, type MunroFrame } from '../../src/wire/frames.js'
import { wrtc } from './wrtc.js'

export type Attack =
  | 'flip-bits'
  | 'replay-munro'
  | 'foreign-key'
  | 'withhold'
  /** Every munro goes out unsigned (zero signature, timestamp 0) in place of the genuine one. */
  | 'poison'
  /** After the first second, nothing new: the oldest chunk sent, again and again. */
  | 'replay-withhold'
  /** Opens the child's channel, sends nothing, closes it 500 ms later: every time. */
  | 'flap'
  /** Nothing but keepalives, one every 2 ms. */
  | 'keepalive-flood'
  /** After the first second, 64 KiB frames of noise (four times what a link accepts). */
  | 'giant-frames'

export interface HostilePeer {
  peerId: string
  destroy(): void
}

export interface HostilePeerOptions {
  /** Stall time of the hostile peer's own parent link. Default: long, so it never moves itself. */
  stallMs?: number
  /** The first child link drops every signal it gets, as if the child's offer were lost: that child connects only after its connect timeout. */
  loseFirstOffer?: boolean
}

export async function startHostilePeer(url: string, treeId: string, attack: Attack, options: HostilePeerOptions = {}): Promise<HostilePeer> {
  const signaling = new SignalingClient(url)
  const joined = await signaling.joinTree(treeId)
  let peer: TreePeer
  const timers = new Set<ReturnType<typeof setInterval>>()
  const every = (ms: number, fn: () => void) => {
    const timer = setInterval(fn, ms)
    timers.add(timer)
    return timer
  }

  const storeChunk = (frame: ChunkFrame, bytes: Uint8Array) => {
    peer.buffer.add(toBufferedChunk(frame, bytes, Date.now()))
    peer.pumpChildren()
  }
  const storeMunro = (frame: MunroFrame, bytes: Uint8Array) => {
    if (frame.epoch > peer.buffer.epoch) peer.buffer.reset(frame.epoch)
    peer.buffer.addMunro({ start: frame.start, count: frame.count, timestamp: frame.timestamp, frame: bytes })
  }
  const foreign = new StreamSigner({ ...generateKeyPair(), munroDeadlineMs: 20 })
  foreign.on('munro', (signed) => {
    storeMunro(signed.munro as MunroFrame, signed.munroBytes)
    for (const c of signed.chunks) storeChunk(c.frame, c.bytes)
  })
  let firstMunro: MunroFrame | undefined
  let offersToLose = options.loseFirstOffer ? 1 : 0

  const onParentData = (frame: MunroFrame | ChunkFrame | InitFrame, bytes: Uint8Array) => {
    if (attack === 'withhold') return // keepalives still flow: the link looks healthy
    if (frame.type === FrameType.INIT) {
      if (frame.epoch > peer.buffer.epoch) peer.buffer.reset(frame.epoch)
      peer.buffer.inits.add(frame, bytes)
      return
    }
    if (frame.type === FrameType.MUNRO) {
      if (attack === 'foreign-key') return
      firstMunro ??= { ...frame, root: frame.root.slice(), signature: frame.signature.slice() }
      // An old, validly signed munro presented at a new position.
      const forged = attack === 'replay-munro' && frame.start > firstMunro.start ? encodeFrame({ ...firstMunro, start: frame.start }) : bytes
      return storeMunro(frame, forged)
    }
    if (attack === 'foreign-key') {
      // Same bytes, signed by a key that is not the tree's.
      foreign.write(frame.payload.slice())
      return
    }
    // An empty heartbeat chunk of span 1 has no proof and no payload to flip: flipping its header makes a frame that
    // does not decode, a different attack (its own unit test), so flip-bits tampers only with chunks that carry data.
    if (attack === 'flip-bits' && frame.payload.length > 0) {
      const tampered = bytes.slice()
      tampered[tampered.length - 1 - (frame.index % frame.payload.length)]! ^= 0x40
      return storeChunk(frame, tampered)
    }
    storeChunk(frame, bytes)
  }

  /** Each link to a child gets the attack's behaviour on top of the honest one. */
  const childLink = (link: PeerLink): Link => {
    const send = link.send.bind(link)
    const raw = (frame: Frame | Uint8Array) => {
      try {
        send(frame instanceof Uint8Array ? frame : encodeFrame(frame))
      } catch {
        // The child left.
      }
    }
    if (offersToLose > 0) {
      offersToLose--
      link.signal = () => {}
    }
    let openedAt = Infinity
    let oldestChunk: Uint8Array | undefined
    let oldestMunro: Uint8Array | undefined
    link.once('open', () => {
      openedAt = Date.now()
      if (attack === 'flap') setTimeout(() => link.destroy(), 500)
      if (attack === 'keepalive-flood') every(2, () => link.state === 'open' && raw({ type: FrameType.KEEPALIVE, timestamp: Date.now() }))
      if (attack === 'replay-withhold') every(250, () => {
        if (link.state !== 'open' || !oldestChunk || !oldestMunro) return
        raw(oldestMunro)
        raw(oldestChunk)
      })
      if (attack === 'giant-frames') every(200, () => {
        if (link.state === 'open' && Date.now() - openedAt > 1_000) raw(crypto.getRandomValues(new Uint8Array(65_536)))
      })
    })
    link.send = (bytes: Uint8Array): boolean => {
      const decoded = decodeFrame(bytes)
      const type = decoded.ok ? decoded.frame.type : -1
      const data = type === FrameType.MUNRO || type === FrameType.CHUNK || type === FrameType.INIT
      if (!data) return send(bytes)
      if (attack === 'flap' || attack === 'keepalive-flood') return true
      if (attack === 'poison' && decoded.ok && decoded.frame.type === FrameType.MUNRO) {
        return send(encodeFrame({ ...decoded.frame, timestamp: 0, signature: new Uint8Array(64) }))
      }
      if (attack === 'replay-withhold' || attack === 'giant-frames') {
        if (type === FrameType.MUNRO) oldestMunro ??= bytes
        if (type === FrameType.CHUNK) oldestChunk ??= bytes
        if (Date.now() - openedAt > 1_000) return true
      }
      return send(bytes)
    }
    return link
  }

  peer = new TreePeer({
    signaling,
    treeId,
    treeKey: publicKeyFromTreeId(treeId),
    windowMs: 15_000,
    maxBufferBytes: 64 * 1024 * 1024,
    keepaliveMs: 500,
    stallMs: options.stallMs ?? 60_000,
    connectTimeoutMs: 10_000,
    onParentData,
    createLink: (initiator) => {
      const link = new PeerLink({ initiator, wrtc, iceServers: [], connectTimeoutMs: 10_000, maxFrameBytes: 128 * 1024 })
      return initiator ? link : childLink(link)
    }
  })
  peer.applyPlacement(joined.placement)
  return {
    peerId: joined.placement.peerId,
    destroy() {
      for (const timer of timers) clearInterval(timer)
      foreign.destroy()
      peer.destroy()
      signaling.destroy()
    }
  }
}
