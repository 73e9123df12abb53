// Receiver side: decides whether a munro or a chunk of one tree is authentic.
//
// A MUNRO frame is checked once: timestamp window, then the ed25519 signature
// over its signable bytes (which bind tree, range and time, so a munro moved
// to another position fails its signature). Identical copies reuse the
// verdict, in flight or settled. A validly signed munro that overlaps one
// accepted earlier is refused (ERR_MUNRO_CONFLICT, first one kept): only the
// key holder can produce it, and letting it replace data that was already
// forwarded would fork the tree.
//
// A CHUNK is accepted only if its proof leads to the signed root of the munro
// it names, at exactly its position, inside the munro's chunk count. Verified
// nodes are cached per munro, so after the first chunk a chunk costs its leaf
// hash plus the part of its path not yet seen.
//
// Order does not matter: a chunk whose munro is being verified awaits that
// verification; a chunk whose munro has not arrived waits in a bounded pending
// set and is settled when the munro is accepted, or with ERR_UNKNOWN_MUNRO
// after pendingTimeoutMs (set maxPendingChunks: 0 to get ERR_UNKNOWN_MUNRO at
// once and retry yourself). Pending chunks keep their payload views alive.
//
// Memory is bounded: at most maxMunros verified munros (the lowest are
// evicted; everything below the eviction floor is stale), maxPendingChunks
// waiting chunks and maxInflightMunros signature checks at once.
import { ErrorCode, MunroError } from '../errors.js'
import { equalBytes } from '../crypto/bytes.js'
import { isValidPublicKey, verifySignature } from '../crypto/ed25519.js'
import { publicKeyFromTreeId } from '../crypto/keys.js'
import { VerifiedTree, leafHashAsync } from '../crypto/merkle.js'
import { type ChunkFrame, FrameType, type HandshakeFrame, type MunroFrame } from '../wire/frames.js'
import { munroSignable } from '../sign/signable.js'

/** Verdict on one frame. */
export type VerifyResult = { ok: true } | { ok: false; code: ErrorCode; message: string }

export interface ChunkVerifierOptions {
  /** The tree, as its id (base64url public key)... */
  treeId?: string
  /** ...or as its 32-byte public key. Exactly one of the two. */
  publicKey?: Uint8Array
  /** Oldest munro timestamp accepted, relative to now(). Default 120 000 ms. */
  maxAgeMs?: number
  /** Furthest future munro timestamp accepted (clock skew). Default 30 000 ms. */
  maxFutureMs?: number
  /** Clock for the timestamp window, ms since the Unix epoch. Default Date.now. */
  now?: () => number
  /** Chunks that may wait for their munro at once. Default 256; 0 = never wait. */
  maxPendingChunks?: number
  /** How long a chunk waits for its munro. Default 10 000 ms. */
  pendingTimeoutMs?: number
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
  verdict: Promise<VerifyResult>
}

interface Waiter {
  frame: ChunkFrame
  expires: number
  resolve: (result: VerifyResult | Promise<VerifyResult>) => void
}

const OK: VerifyResult = Object.freeze({ ok: true })
const DEFAULTS = { maxAgeMs: 120_000, maxFutureMs: 30_000, maxPendingChunks: 256, pendingTimeoutMs: 10_000, maxMunros: 1024, maxInflightMunros: 64 }

function reject(code: ErrorCode, message: string): VerifyResult {
  return { ok: false, code, message }
}

function copyMunro(frame: MunroFrame): Munro {
  // Copies the byte fields: the frame's are views into a buffer we do not own.
  return {
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
    a.start === b.start &&
    a.count === b.count &&
    a.span === b.span &&
    a.timestamp === b.timestamp &&
    equalBytes(a.root, b.root) &&
    equalBytes(a.signature, b.signature)
  )
}

/** Verifies munros and chunks of one tree. See the file comment. */
export class ChunkVerifier {
  /** The tree's 32-byte public key. */
  readonly treeKey: Uint8Array
  private readonly maxAgeMs: number
  private readonly maxFutureMs: number
  private readonly now: () => number
  private readonly maxPendingChunks: number
  private readonly pendingTimeoutMs: number
  private readonly maxMunros: number
  private readonly maxInflightMunros: number
  private inflightTotal = 0

  private readonly accepted = new Map<number, Accepted>()
  private readonly starts: number[] = [] // accepted starts, ascending
  private readonly inflight = new Map<number, Candidate[]>()
  private readonly pending = new Map<number, Waiter[]>()
  private pendingTotal = 0
  private sweepTimer: ReturnType<typeof setTimeout> | undefined
  private evictedBelow = 0
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
    this.maxFutureMs = options.maxFutureMs ?? DEFAULTS.maxFutureMs
    this.now = options.now ?? Date.now
    this.maxPendingChunks = options.maxPendingChunks ?? DEFAULTS.maxPendingChunks
    this.pendingTimeoutMs = options.pendingTimeoutMs ?? DEFAULTS.pendingTimeoutMs
    this.maxMunros = options.maxMunros ?? DEFAULTS.maxMunros
    this.maxInflightMunros = options.maxInflightMunros ?? DEFAULTS.maxInflightMunros
    for (const [name, value] of Object.entries({
      maxAgeMs: this.maxAgeMs,
      maxFutureMs: this.maxFutureMs,
      maxPendingChunks: this.maxPendingChunks,
      pendingTimeoutMs: this.pendingTimeoutMs
    })) {
      if (!(value >= 0)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, `ChunkVerifier: ${name} must be >= 0`)
    }
    if (!Number.isInteger(this.maxMunros) || this.maxMunros < 1 || !Number.isInteger(this.maxInflightMunros) || this.maxInflightMunros < 1) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'ChunkVerifier: maxMunros and maxInflightMunros must be integers >= 1')
    }
  }

  /** Lowest chunk index still verifiable; everything below was evicted. */
  get floor(): number {
    return this.evictedBelow
  }

  /** Number of accepted munros held. */
  get munroCount(): number {
    return this.accepted.size
  }

  /** Number of chunks waiting for their munro. */
  get pendingCount(): number {
    return this.pendingTotal
  }

  /** The accepted munro whose range holds chunk `index`, if any (e.g. to forward it with the chunk). */
  munroAt(index: number): MunroFrame | undefined {
    const i = this.lastStartBelow(index + 1)
    const entry = i < 0 ? undefined : this.accepted.get(this.starts[i]!)
    if (!entry || index >= entry.munro.start + entry.munro.count) return undefined
    return { type: FrameType.MUNRO, ...entry.munro, root: entry.munro.root.slice(), signature: entry.munro.signature.slice() }
  }

  /** ERR_WRONG_TREE unless a handshake names this verifier's tree. */
  checkHandshake(frame: HandshakeFrame): VerifyResult {
    return equalBytes(frame.treeKey, this.treeKey) ? OK : reject(ErrorCode.WRONG_TREE, 'handshake names another tree')
  }

  /**
   * Accepts a MUNRO frame if its timestamp is in the window and its signature
   * verifies. Codes: ERR_STALE_MUNRO, ERR_FUTURE_MUNRO, ERR_BAD_SIGNATURE,
   * ERR_MUNRO_CONFLICT, ERR_PENDING_FULL (too many distinct munros being
   * checked at once), ERR_DESTROYED.
   */
  acceptMunro(frame: MunroFrame): Promise<VerifyResult> {
    if (this.isDestroyed) return Promise.resolve(reject(ErrorCode.DESTROYED, 'verifier destroyed'))
    if (frame.start < this.evictedBelow) return Promise.resolve(reject(ErrorCode.STALE_MUNRO, 'munro lies below the eviction floor'))
    const now = this.now()
    if (frame.timestamp < now - this.maxAgeMs) return Promise.resolve(reject(ErrorCode.STALE_MUNRO, 'munro timestamp too old'))
    if (frame.timestamp > now + this.maxFutureMs) return Promise.resolve(reject(ErrorCode.FUTURE_MUNRO, 'munro timestamp in the future'))
    const known = this.accepted.get(frame.start)
    if (known && sameMunro(known.munro, frame)) return Promise.resolve(OK)
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
      const list = this.inflight.get(munro.start)
      const rest = list?.filter((c) => c !== candidate) ?? []
      if (rest.length > 0) this.inflight.set(munro.start, rest)
      else this.inflight.delete(munro.start)
    })
    return candidate.verdict
  }

  /**
   * Accepts a CHUNK frame if its proof leads to an accepted munro's root at
   * its position. Waits for the munro if needed (see the file comment). Codes:
   * ERR_BAD_PROOF, ERR_STALE_CHUNK, ERR_PENDING_FULL, ERR_UNKNOWN_MUNRO, ERR_DESTROYED.
   */
  acceptChunk(frame: ChunkFrame): Promise<VerifyResult> {
    if (this.isDestroyed) return Promise.resolve(reject(ErrorCode.DESTROYED, 'verifier destroyed'))
    if (frame.munroStart < this.evictedBelow) return Promise.resolve(reject(ErrorCode.STALE_CHUNK, 'chunk of an evicted munro'))
    const entry = this.accepted.get(frame.munroStart)
    if (entry) return this.checkChunk(entry, frame)
    const candidates = this.inflight.get(frame.munroStart)
    if (candidates) {
      // Its munro is being verified: wait for that, then look again.
      return Promise.all(candidates.map((c) => c.verdict)).then(() => this.acceptChunk(frame))
    }
    return this.wait(frame)
  }

  /** Settles every waiting chunk with ERR_DESTROYED and drops all state. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return
    this.isDestroyed = true
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer)
    this.sweepTimer = undefined
    const waiting = [...this.pending.values()].flat()
    this.pending.clear()
    this.pendingTotal = 0
    this.accepted.clear()
    this.starts.length = 0
    this.inflight.clear()
    this.inflightTotal = 0
    for (const w of waiting) w.resolve(reject(ErrorCode.DESTROYED, 'verifier destroyed'))
  }

  // ---------------------------------------------------------- munros

  private async verifyMunro(munro: Munro): Promise<VerifyResult> {
    const valid = await verifySignature(this.treeKey, munroSignable(this.treeKey, munro), munro.signature)
    if (this.isDestroyed) return reject(ErrorCode.DESTROYED, 'verifier destroyed')
    if (!valid) return reject(ErrorCode.BAD_SIGNATURE, 'munro signature does not verify for this tree')
    // State may have moved while we awaited: check floor and overlap now.
    if (munro.start < this.evictedBelow) return reject(ErrorCode.STALE_MUNRO, 'munro lies below the eviction floor')
    const i = this.lastStartBelow(munro.start + munro.count)
    if (i >= 0) {
      const other = this.accepted.get(this.starts[i]!)!.munro
      if (other.start + other.count > munro.start) {
        if (sameMunro(other, munro)) return OK
        return reject(ErrorCode.MUNRO_CONFLICT, `munro overlaps the accepted munro at ${other.start}`)
      }
    }
    this.insert(munro, i + 1)
    return OK
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
    const entry: Accepted = { munro, tree: new VerifiedTree(munro.span, munro.root) }
    this.accepted.set(munro.start, entry)
    this.starts.splice(at, 0, munro.start)
    while (this.accepted.size > this.maxMunros) this.evictLowest()
    const waiting = this.pending.get(munro.start)
    if (waiting && this.accepted.has(munro.start)) {
      this.pending.delete(munro.start)
      this.pendingTotal -= waiting.length
      for (const w of waiting) w.resolve(this.checkChunk(entry, w.frame))
    }
  }

  private evictLowest(): void {
    const start = this.starts.shift()!
    const { munro } = this.accepted.get(start)!
    this.accepted.delete(start)
    this.evictedBelow = Math.max(this.evictedBelow, munro.start + munro.count)
    for (const [waitStart, waiting] of this.pending) {
      if (waitStart >= this.evictedBelow) continue
      this.pending.delete(waitStart)
      this.pendingTotal -= waiting.length
      for (const w of waiting) w.resolve(reject(ErrorCode.STALE_CHUNK, 'chunk of an evicted munro'))
    }
  }

  // ---------------------------------------------------------- chunks

  private async checkChunk({ munro, tree }: Accepted, frame: ChunkFrame): Promise<VerifyResult> {
    if (frame.span !== munro.span) return reject(ErrorCode.BAD_PROOF, 'chunk span differs from its signed munro')
    const position = frame.index - munro.start
    if (position >= munro.count) return reject(ErrorCode.BAD_PROOF, 'chunk position past its munro chunk count')
    const leaf = await leafHashAsync(frame.index, frame.flags, frame.payload)
    // The tree check is synchronous, so concurrent chunks of one munro cannot interleave in it.
    return tree.verify(position, leaf, frame.proof) ? OK : reject(ErrorCode.BAD_PROOF, 'chunk proof does not lead to the signed root')
  }

  private wait(frame: ChunkFrame): Promise<VerifyResult> {
    if (this.maxPendingChunks === 0) return Promise.resolve(reject(ErrorCode.UNKNOWN_MUNRO, 'munro of this chunk is not known'))
    if (this.pendingTotal >= this.maxPendingChunks) {
      return Promise.resolve(reject(ErrorCode.PENDING_FULL, `${this.pendingTotal} chunks already wait for their munro`))
    }
    return new Promise<VerifyResult>((resolve) => {
      const list = this.pending.get(frame.munroStart) ?? []
      list.push({ frame, resolve, expires: Date.now() + this.pendingTimeoutMs })
      this.pending.set(frame.munroStart, list)
      this.pendingTotal++
      this.armSweep()
    })
  }

  private armSweep(): void {
    if (this.sweepTimer !== undefined || this.pendingTotal === 0) return
    // One timer for all waiters; it re-arms while anything waits.
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = undefined
      this.sweep()
    }, Math.max(1, Math.ceil(this.pendingTimeoutMs / 4)))
    ;(this.sweepTimer as { unref?: () => void }).unref?.()
  }

  private sweep(): void {
    if (this.isDestroyed) return
    const now = Date.now()
    for (const [start, waiting] of this.pending) {
      const keep = waiting.filter((w) => w.expires > now)
      if (keep.length === waiting.length) continue
      if (keep.length > 0) this.pending.set(start, keep)
      else this.pending.delete(start)
      this.pendingTotal -= waiting.length - keep.length
      for (const w of waiting) {
        if (w.expires <= now) w.resolve(reject(ErrorCode.UNKNOWN_MUNRO, 'munro of this chunk did not arrive in time'))
      }
    }
    this.armSweep()
  }
}
