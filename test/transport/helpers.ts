// Helpers shared by the transport tests (Node, @roamhq/wrtc).
import wrtc from '@roamhq/wrtc'
import { PeerLink, type PeerLinkEvents, type PeerLinkOptions } from '../../src/transport/index.js'
import { prng } from '../helpers/prng.js'

export { prng, wrtc }

// All WebRTC runs in an isolated network namespace: bash scripts/netns.sh <command>.
if (!process.env.MUNRO_IN_NETNS && !process.env.MUNRO_NO_NETNS) {
  throw new Error('WebRTC tests must run in an isolated network namespace: bash scripts/netns.sh npx vitest run test/transport')
}


export function randomBytes(rand: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (rand() * 256) | 0
  return out
}

/** Resolves with the event's arguments; rejects on timeout or if the link closes first. */
export function waitFor<E extends keyof PeerLinkEvents>(
  link: PeerLink,
  event: E,
  timeoutMs = 10_000
): Promise<Parameters<PeerLinkEvents[E]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`))
    }, timeoutMs)
    const onEvent = (...args: unknown[]) => {
      cleanup()
      resolve(args as Parameters<PeerLinkEvents[E]>)
    }
    const onClose = (err?: Error) => {
      cleanup()
      reject(new Error(`link closed while waiting for '${event}'${err ? `: ${err.message}` : ''}`))
    }
    const cleanup = () => {
      clearTimeout(timer)
      link.off(event, onEvent as never)
      if (event !== 'close') link.off('close', onClose)
    }
    link.on(event, onEvent as never)
    if (event !== 'close') link.on('close', onClose)
  })
}

/** Tracks links so each test can destroy what it made. */
export class LinkPool {
  readonly links: PeerLink[] = []

  make(options: Partial<PeerLinkOptions> & Pick<PeerLinkOptions, 'initiator'>): PeerLink {
    const link = new PeerLink({ wrtc, iceServers: [], ...options })
    this.links.push(link)
    return link
  }

  /** Two links signaling to each other in-process. */
  pair(
    aOptions: Partial<PeerLinkOptions> = {},
    bOptions: Partial<PeerLinkOptions> = {}
  ): { a: PeerLink; b: PeerLink; opened: Promise<unknown> } {
    const a = this.make({ ...aOptions, initiator: true })
    const b = this.make({ ...bOptions, initiator: false })
    a.on('signal', (data) => b.signal(data))
    b.on('signal', (data) => a.signal(data))
    return { a, b, opened: Promise.all([waitFor(a, 'open'), waitFor(b, 'open')]) }
  }

  destroyAll(): void {
    for (const link of this.links.splice(0)) link.destroy()
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
