// A Link without WebRTC, for relay policy tests under fake timers: the test
// decides when it opens, what arrives, when it pushes back and when it closes.
// Two fakes can also be wired back to back (pair()) so a real ChildSession
// serves a real ParentSession in memory.
import { EventEmitter } from 'eventemitter3'
import type { Link, LinkFactory } from '../../src/relay/link.js'
import type { PeerLinkEvents, PeerLinkState, SignalData } from '../../src/transport/peer-link.js'

export class FakeLink extends EventEmitter<PeerLinkEvents> implements Link {
  state: PeerLinkState = 'connecting'
  bufferedAmount = 0
  queuedBytes = 0
  bytesSent = 0
  bytesReceived = 0
  /** Frames this side sent, in order. */
  readonly sent: Uint8Array[] = []
  /** Signals fed in by the relay (what the remote sent us). */
  readonly signals: Array<SignalData | Record<string, unknown>> = []
  /** send() returns false (and queues nothing) while set; clear it with drain(). */
  full = false
  remote: FakeLink | null = null

  constructor(
    readonly initiator: boolean,
    readonly remoteId: string
  ) {
    super()
  }

  signal(data: SignalData | Record<string, unknown>): void {
    if (this.state !== 'closed') this.signals.push(data)
  }

  send(frame: Uint8Array): boolean {
    if (this.state !== 'open') throw Object.assign(new Error('link not open'), { code: 'ERR_DESTROYED' })
    this.sent.push(frame)
    this.bytesSent += frame.byteLength
    if (this.remote?.state === 'open') this.remote.receive(frame)
    return !this.full
  }

  destroy(): void {
    this.close()
  }

  // ------------------------------------------------------------ test controls

  open(): void {
    if (this.state !== 'connecting') return
    this.state = 'open'
    this.emit('open')
  }

  receive(frame: Uint8Array): void {
    if (this.state !== 'open') return
    this.bytesReceived += frame.byteLength
    this.emit('frame', frame)
  }

  drain(): void {
    this.full = false
    this.emit('drain')
  }

  close(code?: string): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    const remote = this.remote
    this.remote = null
    this.emit('close', code === undefined ? undefined : Object.assign(new Error(code), { code, name: 'PeerLinkError' }) as never)
    this.removeAllListeners()
    remote?.close()
  }
}

/** A LinkFactory that records every link it made, newest last. */
export function fakeLinks(): LinkFactory & { made: FakeLink[]; last(remoteId: string): FakeLink | undefined } {
  const made: FakeLink[] = []
  const factory = (initiator: boolean, remoteId: string) => {
    const link = new FakeLink(initiator, remoteId)
    made.push(link)
    return link
  }
  return Object.assign(factory, { made, last: (remoteId: string) => made.filter((l) => l.remoteId === remoteId).at(-1) })
}

/** Connects two fakes back to back and opens both (child side first, as the offerer). */
export function pair(a: FakeLink, b: FakeLink): void {
  a.remote = b
  b.remote = a
  a.open()
  b.open()
}
