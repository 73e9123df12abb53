// The part of SignalingClient a TreePeer uses, scripted: the test pushes
// placements and signals, and reads what the peer reported and sent.
import { EventEmitter } from 'eventemitter3'
import { SignalingErrorCode, type Placement, type ReportReason } from '../../src/protocol/signaling.js'
import { SignalingClientError, type SignalingClient, type SignalingClientEvents } from '../../src/signaling/signaling-client.js'

export class FakeSignaling extends EventEmitter<SignalingClientEvents> {
  readonly reports: Array<{ parentId: string; reason: ReportReason }> = []
  readonly signalsSent: Array<{ to: string; data: Record<string, unknown> }> = []
  hints: (() => { parentId: string | null; childIds: string[] }) | null = null
  /** While false, requests fail as they would with the socket down. */
  connected = true
  /** Peers the server holds as away (socket dropped, detach grace): signals to them fail with ERR_PEER_ABSENT. */
  readonly absent = new Set<string>()
  /** How many of the next signals the server sheds as overloaded. */
  shedNext = 0
  /** The next this many signals fail as if the shared store (Redis) were away for a moment. */
  unavailableNext = 0

  async reportParent(_treeId: string, parentId: string, reason: ReportReason): Promise<void> {
    if (!this.connected) throw new Error('disconnected')
    this.reports.push({ parentId, reason })
  }

  async sendSignal(_treeId: string, to: string, data: Record<string, unknown>): Promise<void> {
    if (!this.connected) throw new Error('disconnected')
    if (this.shedNext > 0 && this.shedNext--) throw new SignalingClientError(SignalingErrorCode.OVERLOADED, 'the server is busy')
    if (this.unavailableNext > 0 && this.unavailableNext--) throw new SignalingClientError(SignalingErrorCode.UNAVAILABLE, 'the shared store is away')
    if (this.absent.has(to)) throw new SignalingClientError(SignalingErrorCode.PEER_ABSENT, `${to} is away`)
    this.signalsSent.push({ to, data })
  }

  setLinkHints(_treeId: string, hints: () => { parentId: string | null; childIds: string[] }): void {
    this.hints = hints
  }

  asClient(): SignalingClient {
    return this as unknown as SignalingClient
  }
}

export function placement(treeId: string, peerId: string, parent: string | null, children: string[], version: number): Placement {
  return { treeId, peerId, parent, children, depth: parent ? 1 : 0, version } as Placement
}
