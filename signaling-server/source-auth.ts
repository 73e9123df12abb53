// Who may be a tree's source: whoever signs a fresh, single-use challenge
// with the tree's key (the tree id is the public key). Behind an interface so
// a shared store can hold the challenges when several processes serve a tree.
import { randomBytes } from 'node:crypto'
import { sourceProofMessage } from '../src/protocol/signaling.js'
import { base64urlDecode, base64urlEncode } from '../src/crypto/bytes.js'
import { verifySignature } from '../src/crypto/ed25519.js'

export type ProofVerdict = 'ok' | 'no-challenge' | 'bad-signature'

export interface SourceAuth {
  /** A new challenge for one connection (its oldest pending one is dropped beyond the limit). */
  issueChallenge(connectionId: string): Promise<string>
  /** Consumes the challenge (whatever the verdict) and checks the signature over it. */
  verifyProof(connectionId: string, treeId: string, challenge: string, signature: string): Promise<ProofVerdict>
  /** The connection closed: its pending challenges go. */
  forgetConnection(connectionId: string): void
}

export class MemorySourceAuth implements SourceAuth {
  /** connection id -> challenge -> expiry (ms). */
  private readonly pending = new Map<string, Map<string, number>>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxPending: number,
    private readonly now: () => number = Date.now
  ) {}

  async issueChallenge(connectionId: string): Promise<string> {
    const now = this.now()
    let challenges = this.pending.get(connectionId)
    if (!challenges) this.pending.set(connectionId, (challenges = new Map()))
    for (const [c, expiry] of challenges) if (expiry <= now) challenges.delete(c)
    // Oldest first: Map keeps insertion order.
    if (challenges.size >= this.maxPending) challenges.delete(challenges.keys().next().value as string)
    const challenge = base64urlEncode(randomBytes(32))
    challenges.set(challenge, now + this.ttlMs)
    return challenge
  }

  async verifyProof(connectionId: string, treeId: string, challenge: string, signature: string): Promise<ProofVerdict> {
    const challenges = this.pending.get(connectionId)
    const expiry = challenges?.get(challenge)
    challenges?.delete(challenge)
    if (expiry === undefined || expiry <= this.now()) return 'no-challenge'
    const ok = await verifySignature(base64urlDecode(treeId), sourceProofMessage(treeId, challenge), base64urlDecode(signature))
    return ok ? 'ok' : 'bad-signature'
  }

  forgetConnection(connectionId: string): void {
    this.pending.delete(connectionId)
  }
}
