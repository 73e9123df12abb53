// Who may get a relay evicted, and on what evidence (see the README's
// security model). The rules, each against one attack that was measured:
// - `unresponsive` never counts: a stalled, frozen or withholding parent is
//   left by its child (the registry moves the reporter), never evicted.
// - `invalid-data` counts only from a reporter that has been in the tree for
//   `reportTenureMs` (leave and rejoin gives a fresh id with no tenure), and
//   that its own children have not reported within that time (a peer that is
//   itself recovering is not believed).
// - Each reporter counts once per window, and reporters are weighed by
//   address: many connections from one address are one voice.
// - A reporter that leaves the tree stops counting; reports expire after
//   `reportWindowMs`; reports against the source are never kept.
// - `evictAfterReports` distinct addresses evict.
import { ReportReason } from '../src/protocol/signaling.js'

export interface ReportFacts {
  treeId: string
  reporterId: string
  /** The reporter's connection address (one voice per address). */
  reporterAddress: string
  /** When the reporter first joined this tree (kept across resumes). */
  reporterJoinedAt: number
  accusedId: string
  accusedIsSource: boolean
  reason: ReportReason
}

export type ReportVerdict =
  | { verdict: 'evict' }
  | { verdict: 'counted'; count: number }
  | { verdict: 'ignored'; why: 'never-counts' | 'source' | 'no-tenure' | 'recovering' | 'already-counted' | 'same-address' }

export interface ReportPolicy {
  /** Records a report (the reporter has already been moved) and says whether the accused must go. */
  judge(facts: ReportFacts): Promise<ReportVerdict>
  /** The peer left the tree: its reports stop counting and reports against it are dropped. */
  peerLeft(treeId: string, peerId: string): Promise<void>
  treeEnded(treeId: string): Promise<void>
}

export interface ReportPolicyLimits {
  evictAfterReports: number
  reportTenureMs: number
  reportWindowMs: number
}

interface Vote {
  reporterId: string
  at: number
}

/** One tree's reports. Every map is keyed by peers in the tree, so it is bounded by the tree's size. */
class TreeReports {
  /** accused -> address -> the vote that counted. */
  readonly votes = new Map<string, Map<string, Vote>>()
  /** reporter -> the accused and when its counted report was made. */
  readonly cast = new Map<string, { accusedId: string; address: string; at: number }>()
  /** peer -> when a child of it last reported it (any reason). */
  readonly reportedAt = new Map<string, number>()
}

export class MemoryReportPolicy implements ReportPolicy {
  private readonly trees = new Map<string, TreeReports>()

  constructor(
    private readonly limits: ReportPolicyLimits,
    private readonly now: () => number = Date.now
  ) {}

  async judge(facts: ReportFacts): Promise<ReportVerdict> {
    return this.decide(facts)
  }

  /** judge() without the promise: a replicated tree (signaling-server/redis) must decide inside one synchronous step. */
  decide(facts: ReportFacts): ReportVerdict {
    if (facts.accusedIsSource) return { verdict: 'ignored', why: 'source' }
    const now = this.now()
    let tree = this.trees.get(facts.treeId)
    if (!tree) this.trees.set(facts.treeId, (tree = new TreeReports()))
    const recovering = now - (tree.reportedAt.get(facts.reporterId) ?? -Infinity) < this.limits.reportTenureMs
    tree.reportedAt.set(facts.accusedId, now)
    if (facts.reason !== ReportReason.INVALID_DATA) return { verdict: 'ignored', why: 'never-counts' }
    if (now - facts.reporterJoinedAt < this.limits.reportTenureMs) return { verdict: 'ignored', why: 'no-tenure' }
    if (recovering) return { verdict: 'ignored', why: 'recovering' }
    const previous = tree.cast.get(facts.reporterId)
    if (previous && now - previous.at < this.limits.reportWindowMs) return { verdict: 'ignored', why: 'already-counted' }

    let votes = tree.votes.get(facts.accusedId)
    if (!votes) tree.votes.set(facts.accusedId, (votes = new Map()))
    for (const [address, vote] of votes) if (now - vote.at >= this.limits.reportWindowMs) votes.delete(address)
    if (votes.has(facts.reporterAddress)) return { verdict: 'ignored', why: 'same-address' }
    votes.set(facts.reporterAddress, { reporterId: facts.reporterId, at: now })
    tree.cast.set(facts.reporterId, { accusedId: facts.accusedId, address: facts.reporterAddress, at: now })
    if (votes.size < this.limits.evictAfterReports) return { verdict: 'counted', count: votes.size }
    return { verdict: 'evict' }
  }

  async peerLeft(treeId: string, peerId: string): Promise<void> {
    this.forget(treeId, peerId)
  }

  /** peerLeft() without the promise. */
  forget(treeId: string, peerId: string): void {
    const tree = this.trees.get(treeId)
    if (!tree) return
    const cast = tree.cast.get(peerId)
    if (cast) {
      tree.cast.delete(peerId)
      const votes = tree.votes.get(cast.accusedId)
      if (votes?.get(cast.address)?.reporterId === peerId) votes.delete(cast.address)
      if (votes?.size === 0) tree.votes.delete(cast.accusedId)
    }
    tree.votes.delete(peerId)
    tree.reportedAt.delete(peerId)
  }

  async treeEnded(treeId: string): Promise<void> {
    this.trees.delete(treeId)
  }
}
