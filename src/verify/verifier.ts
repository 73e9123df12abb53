// Receiver side: decides whether a munro, a chunk or an init message of one
// tree is authentic, and whether it is still usable here.
//
// Order of checks, for every signed frame: the signature first (over the
// bytes of wire/signed-layouts.ts, which bind tree, session, range and time),
// then anything that says "genuine but not usable here" (an older session, too
// old for the stream, a conflict). A verdict that blames nobody therefore
// always comes from a frame the source really signed: an unsigned frame can
// never make good data look ignorable. Identical copies of a munro reuse its
// verdict, in flight or settled.
//
// Sessions: every signed frame names the source session (epoch) it belongs to.
// The first verified frame sets the session; a verified frame of a higher
// epoch (the source restarted, with its saved key) replaces it and clears
// everything verified so far (`newEpoch` in the verdict); frames of a lower
// epoch are refused from then on (ERR_STALE_EPOCH).
//
// Freshness is judged against the stream, never against this machine's wall
// clock (which may be minutes off): a munro is stale when its timestamp is
// more than maxAgeMs behind the newest verified timestamp, advanced by the
// local time elapsed since that one arrived. A newer timestamp is always fine.
//
// A validly signed munro that overlaps one accepted earlier in the same
// session is refused (ERR_MUNRO_CONFLICT, first one kept): letting it replace
// data that was already forwarded would fork the tree.
//
// A CHUNK is accepted only if its proof leads to the signed root of the munro
// it names, at exactly its position, inside the munro's chunk count. Verified
// nodes are cached per munro, so after the first chunk a chunk costs its leaf
// hash plus the part of its path not yet seen. A chunk whose munro is still
// being verified waits for that verdict; one whose munro never came is
// ERR_UNKNOWN_MUNRO (a parent always sends the munro first). Its leaf hash
// need not wait: prehash() starts it as the frame arrives, so it runs while
// the munro's signature is checked, and acceptChunk() uses it (the hash alone
// decides nothing: only the proof check against a signed root accepts).
//
// Memory is bounded: at most maxMunros verified munros (the lowest are
// evicted; everything below the eviction floor is stale) and
// maxInflightMunros signature checks at once.
import { ErrorCode, MunroError } from '../errors.js'
import { equalBytes } from '../crypto/bytes.js'
import { isValidPublicKey, verifySignature } from '../crypto/ed25519.js'
import { publicKeyFromTreeId } from '../crypto/keys.js'
import { VerifiedTree, leafHashAsync } from '../crypto/merkle.js'
import { type ChunkFrame, type HandshakeFrame, type InitFrame, type MunroFrame } from '../wire/frames.js'
import { initSignable, munroSignable } from '../wire/signed-layouts.js'

/** Verdict on one chunk. */
export type VerifyResult = { ok: true } | Rejection
export interface Rejection {
  ok: false
  code: ErrorCode
  message: string
}

/** Verdict on a signed frame (munro or init). */
export type SignedVerdict =
  | {
      ok: true
      /** The frame opened a newer source session: everything of the previous one is void. */
      newEpoch: boolean
      /** Its timestamp is the newest this verifier has seen: the stream moved on. */
      fresher: boolean
    }
  | Rejection

export interface ChunkVerifierOptions {
  /** The tree, as its id (base64url public key)... */
  treeId?: string
  /** ...or as its 32-byte public key. Exactly one of the two. */
  publicKey?: Uint8Array
  /** How far a munro's timestamp may lag behind the newest verified one (see the file comment). Default 120 000 ms. */
  maxAgeMs?: number
  /** Local clock, only used to measure time elapsed between frames. Default Date.now. */
  now?: () => number
  /** Verified munros kept. Default 1024 (32 Ki chunks at span 32). */
  maxMunros?: number
  /** Distinct munros whose signature check may run at once (bounds a flood of bogus munros). Default 64. */
  maxInflightMunros?: number
}

/** A munro as the verifier keeps it: the frame's fields, with byte fields copied. */
type Munro = Omit<MunroFrame, 'type'>

interface Accepted {
  munro: Munro
  tree: VerifiedTree
}

interface Candidate {
  munro: Munro
  verdict: Promise<SignedVerdict>
}

const OK: VerifyResult = Object.freeze({ ok: true })
const DEFAULTS = { maxAgeMs: 120_000, maxMunros: 1024, maxInflightMunros: 64 }

function reject(code: ErrorCode, message: string): Rejection {
  return { ok: false, code, message }
}

function copyMunro(frame: MunroFrame): Munro {
  // Copies the byte fields: the frame's are views into a buffer we do not own.
  return {
    epoch: frame.epoch,
    start: frame.start,
    count: frame.count,
    span: frame.span,
    timestamp: frame.timestamp,
    root: frame.root.slice(),
    signature: frame.signature.slice()
  }
}

function sameMunro(a: Munro, b: MunroFrame | Munro): boolean {
  return (
    a.epoch === b.epoch &&
    a.start === b.start &&
    a.count === b.count &&
    a.span === b.span &&
    a.timestamp === b.timestamp &&
    equalBytes(a.root, b.root) &&
    equalBytes(a.signature, b.signature)
  )
}

/** Verifies munros, chunks and init messages of one tree. See the file comment. */
export class ChunkVerifier {
  /** The tree's 32-byte public key. */
  readonly treeKey: Uint8Array
  private readonly maxAgeMs: number
  private readonly now: () => number
  private readonly maxMunros: number
  private readonly maxInflightMunros: number
  private inflightTotal = 0

  private readonly accepted = new Map<number, Accepted>()
  private readonly starts: number[] = [] // accepted starts, ascending
  private readonly inflight = new Map<number, Candidate[]>()
  /** Leaf hashes started by prehash(), by frame object (dropped with it). */
  private readonly leaves = new WeakMap<ChunkFrame, Promise<Uint8Array>>()
  private evictedBelow = 0
  /** The current source session; -1 until the first verified frame. */
  private currentEpoch = -1
  /** Newest verified munro timestamp, and the local time it arrived. */
  private newest: { timestamp: number; seenAt: number } | null = null
  private isDestroyed = false

  constructor(options: ChunkVerifierOptions) {
    if ((options.treeId === undefined) === (options.publicKey === undefined)) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'ChunkVerifier: give exactly one of treeId and publicKey')
    }
    if (options.publicKey !== undefined) {
      if (!(options.publicKey instanceof Uint8Array) || !isValidPublicKey(options.publicKey)) {
        throw new MunroError(ErrorCode.BAD_KEY, 'ChunkVerifier: publicKey is not a usable ed25519 public key')
      }
      this.treeKey = options.publicKey.slice()
    } else {
      this.treeKey = publicKeyFromTreeId(options.treeId!)
    }
    this.maxAgeMs = options.maxAgeMs ?? DEFAULTS.maxAgeMs
    this.now = options.now ?? Date.now
    this.maxMunros = options.maxMunros ?? DEFAULTS.maxMunros
    this.maxInflightMunros = options.maxInflightMunros ?? DEFAULTS.maxInflightMunros
    if (!(this.maxAgeMs >= 0)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'ChunkVerifier: maxAgeMs must be >= 0')
    if (!Number.isInteger(this.maxMunros) || this.maxMunros < 1 || !Number.isInteger(this.maxInflightMunros) || this.maxInflightMunros < 1) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'ChunkVerifier: maxMunros and maxInflightMunros must be integers >= 1')
    }
  }

  /** Lowest chunk index still verifiable in this session; everything below was evicted. */
  get floor(): number {
    return this.evictedBelow
  }

  /** Number of accepted munros held. */
  get munroCount(): number {
    return this.accepted.size
  }

  /** The source session being followed; -1 before the first verified frame. */
  get epoch(): number {
    return this.currentEpoch
  }

  /** The source's clock as this stream shows it: newest verified timestamp plus local time since. Null before any. */
  streamNow(): number | null {
    return this.newest ? this.newest.timestamp + (this.now() - this.newest.seenAt) : null
  }

  /** ERR_WRONG_TREE unless a handshake names this verifier's tree. */
  checkHandshake(frame: HandshakeFrame): VerifyResult {
    return equalBytes(frame.treeKey, this.treeKey) ? OK : reject(ErrorCode.WRONG_TREE, 'handshake names another tree')
  }

  /**
   * Accepts a MUNRO frame whose signature verifies and that is usable here.
   * Codes: ERR_BAD_SIGNATURE (forged: blame the sender); ERR_STALE_EPOCH,
   * ERR_STALE_MUNRO, ERR_MUNRO_CONFLICT (genuine but unusable); ERR_PENDING_FULL
   * (too many distinct munros being checked at once); ERR_DESTROYED.
   */
  acceptMunro(frame: MunroFrame): Promise<SignedVerdict> {
    if (this.isDestroyed) return Promise.resolve(reject(ErrorCode.DESTROYED, 'verifier destroyed'))
    const known = this.accepted.get(frame.start)
    if (known && sameMunro(known.munro, frame)) return Promise.resolve({ ok: true, newEpoch: false, fresher: false })
    const candidates = this.inflight.get(frame.start) ?? []
    const same = candidates.find((c) => sameMunro(c.munro, frame))
    if (same) return same.verdict
    if (this.inflightTotal >= this.maxInflightMunros) {
      return Promise.resolve(reject(ErrorCode.PENDING_FULL, `${this.inflightTotal} munro signatures are already being checked`))
    }
    const munro = copyMunro(frame)
    const candidate: Candidate = { munro, verdict: this.verifyMunro(munro) }
    candidates.push(candidate)
    this.inflight.set(munro.start, candidates)
    this.inflightTotal++
    void candidate.verdict.then(() => {
      if (this.isDestroyed) return
      this.inflightTotal--
      const rest = (this.inflight.get(munro.start) ?? []).filter((c) => c !== candidate)
      if (rest.length > 0) this.inflight.set(munro.start, rest)
      else this.inflight.delete(munro.start)
    })
    return candidate.verdict
  }

  /**
   * Accepts an INIT frame whose signature verifies and whose session is not
   * older than the current one. Codes: ERR_BAD_SIGNATURE, ERR_STALE_EPOCH,
   * ERR_DESTROYED. Which init is the newest is the caller's business (seq).
   */
  async acceptInit(frame: InitFrame): Promise<SignedVerdict> {
    if (this.isDestroyed) return reject(ErrorCode.DESTROYED, 'verifier destroyed')
    const { epoch, seq, atIndex, timestamp, payload } = frame
    const valid = await verifySignature(this.treeKey, initSignable(this.treeKey, { epoch, seq, atIndex, timestamp, payload }), frame.signature)
    if (this.isDestroyed) return reject(ErrorCode.DESTROYED, 'verifier destroyed')
    if (!valid) return reject(ErrorCode.BAD_SIGNATURE, 'init signature does not verify for this tree')
    const stale = this.checkEpoch(epoch)
    if (stale) return stale
    return { ok: true, newEpoch: this.adoptEpoch(epoch), fresher: false }
  }

  /**
   * Accepts a CHUNK frame if its proof leads to an accepted munro's root at
   * its position. Codes: ERR_BAD_PROOF, ERR_STALE_CHUNK, ERR_UNKNOWN_MUNRO, ERR_DESTROYED.
   */
  acceptChunk(frame: ChunkFrame): Promise<VerifyResult> {
    if (this.isDestroyed) return Promise.resolve(reject(ErrorCode.DESTROYED, 'verifier destroyed'))
    const entry = this.accepted.get(frame.munroStart)
    if (entry) return this.checkChunk(entry, frame)
    const candidates = this.inflight.get(frame.munroStart)
    // Its munro is being verified: wait for that, then look again.
    if (candidates) return Promise.all(candidates.map((c) => c.verdict)).then(() => this.acceptChunk(frame))
    if (frame.munroStart < this.evictedBelow) return Promise.resolve(reject(ErrorCode.STALE_CHUNK, 'chunk of an evicted munro'))
    return Promise.resolve(reject(ErrorCode.UNKNOWN_MUNRO, 'munro of this chunk is not known'))
  }

  /**
   * Starts hashing a CHUNK frame's leaf now, before its munro is verified, so
   * that acceptChunk(frame) for this same frame object finds it done. Malformed
   * indices are left to acceptChunk, which rejects them.
   */
  prehash(frame: ChunkFrame): void {
    if (this.isDestroyed || this.leaves.has(frame)) return
    const leaf = leafHashAsync(frame.index, frame.flags, frame.payload)
    leaf.catch(() => {}) // acceptChunk reports it; nothing to do before that
    this.leaves.set(frame, leaf)
  }

  /** Drops all state; every later call answers ERR_DESTROYED. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return
    this.isDestroyed = true
    this.accepted.clear()
    this.starts.length = 0
    this.inflight.clear()
    this.inflightTotal = 0
  }

  // ---------------------------------------------------------- munros

  private async verifyMunro(munro: Munro): Promise<SignedVerdict> {
    const valid = await verifySignature(this.treeKey, munroSignable(this.treeKey, munro), munro.signature)
    if (this.isDestroyed) return reject(ErrorCode.DESTROYED, 'verifier destroyed')
    if (!valid) return reject(ErrorCode.BAD_SIGNATURE, 'munro signature does not verify for this tree')
    // Genuine. Everything below may refuse it, but never blames the sender.
    const staleEpoch = this.checkEpoch(munro.epoch)
    if (staleEpoch) return staleEpoch
    const newEpoch = this.adoptEpoch(munro.epoch)
    const streamNow = this.streamNow()
    if (streamNow !== null && munro.timestamp < streamNow - this.maxAgeMs) {
      return reject(ErrorCode.STALE_MUNRO, `munro timestamp is over ${this.maxAgeMs} ms behind the stream`)
    }
    if (munro.start < this.evictedBelow) return reject(ErrorCode.STALE_MUNRO, 'munro lies below the eviction floor')
    const i = this.lastStartBelow(munro.start + munro.count)
    if (i >= 0) {
      const other = this.accepted.get(this.starts[i]!)!.munro
      if (other.start + other.count > munro.start) {
        if (sameMunro(other, munro)) return { ok: true, newEpoch, fresher: false }
        return reject(ErrorCode.MUNRO_CONFLICT, `munro overlaps the accepted munro at ${other.start}`)
      }
    }
    const fresher = this.newest === null || munro.timestamp > this.newest.timestamp
    if (fresher) this.newest = { timestamp: munro.timestamp, seenAt: this.now() }
    this.insert(munro, i + 1)
    return { ok: true, newEpoch, fresher }
  }

  private checkEpoch(epoch: number): Rejection | null {
    return epoch < this.currentEpoch ? reject(ErrorCode.STALE_EPOCH, `frame of source session ${epoch}; following ${this.currentEpoch}`) : null
  }

  /** Follows `epoch` if it is newer than the current session; true when it switched. */
  private adoptEpoch(epoch: number): boolean {
    if (epoch === this.currentEpoch) return false
    const first = this.currentEpoch === -1
    this.currentEpoch = epoch
    this.accepted.clear()
    this.starts.length = 0
    this.evictedBelow = 0
    this.newest = null
    return !first
  }

  /** Index in `starts` of the last start < `bound`, or -1. */
  private lastStartBelow(bound: number): number {
    const s = this.starts
    let lo = 0
    let hi = s.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (s[mid]! < bound) lo = mid + 1
      else hi = mid
    }
    return lo - 1
  }

  private insert(munro: Munro, at: number): void {
    this.accepted.set(munro.start, { munro, tree: new VerifiedTree(munro.span, munro.root) })
    this.starts.splice(at, 0, munro.start)
    while (this.accepted.size > this.maxMunros) {
      const start = this.starts.shift()!
      const lowest = this.accepted.get(start)!.munro
      this.accepted.delete(start)
      this.evictedBelow = Math.max(this.evictedBelow, lowest.start + lowest.count)
    }
  }

  // ---------------------------------------------------------- chunks

  private async checkChunk({ munro, tree }: Accepted, frame: ChunkFrame): Promise<VerifyResult> {
    if (frame.span !== munro.span) return reject(ErrorCode.BAD_PROOF, 'chunk span differs from its signed munro')
    const position = frame.index - munro.start
    if (position >= munro.count) return reject(ErrorCode.BAD_PROOF, 'chunk position past its munro chunk count')
    const started = this.leaves.get(frame)
    // Used once: a stored frame must not keep its leaf hash alive with it.
    this.leaves.delete(frame)
    const leaf = await (started ?? leafHashAsync(frame.index, frame.flags, frame.payload))
    // The tree check is synchronous, so concurrent chunks of one munro cannot interleave in it.
    return tree.verify(position, leaf, frame.proof) ? OK : reject(ErrorCode.BAD_PROOF, 'chunk proof does not lead to the signed root')
  }
}
