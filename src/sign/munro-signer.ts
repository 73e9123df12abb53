// The source side: turns messages into signed munros and their chunk frames.
//
// Chunks get a global, gap-free index within the signer's session (`epoch`,
// chosen at start and signed into every munro and init, so a restarted source
// with the same key never collides with its previous run). A munro is the run
// of chunks from the first chunk after the previous munro up to `munroSpan`
// chunks; it closes when full, at the end of the task that wrote it (so every
// write() is signed at once, and writes made together share one signature), or
// `munroDeadlineMs` after its first chunk when that is set, or on flush().
// Closing builds the Merkle tree, writes each chunk's proof and signs the root
// once; the signed munro is then emitted as a MUNRO frame followed by its
// CHUNK frames, already encoded.
//
// Init messages (codec setup) are not chunks: writeInit() signs one INIT frame
// that applies from the next chunk index on, outside the index order.
//
// With `heartbeatMs`, a task in which nothing was written for that long gets
// an empty heartbeat chunk, so viewers can tell a quiet stream from a parent
// that withholds data. The heartbeat timer dies with the signer.
//
// A chunk frame is laid out for span = munroSpan when it is written: write()
// copies the message into its frames at once, and the caller may reuse its
// buffer as soon as write() returns. Hashing waits for the close, where it can
// use the runtime's native SHA-256. A munro that closes before it is full (a
// write signed at its task's end, a deadline, flush()) gets the smallest span
// that holds its chunks, and its frames are laid out again for it: every hop
// then checks log2(munroSpan / span) fewer tree levels per chunk and keeps a
// smaller verified tree, and each chunk carries a shorter proof.
import { EventEmitter } from 'eventemitter3'
import { ErrorCode, MunroError } from '../errors.js'
import { MAX_SAFE_U64, equalBytes } from '../crypto/bytes.js'
import { derivePublicKey, signMessage } from '../crypto/ed25519.js'
import { MerkleTree, leafHashAsync } from '../crypto/merkle.js'
import { type ChunkFrame, FrameType, type InitFrame, type MunroFrame, decodeFrame, encodeFrame } from '../wire/frames.js'
import { CHUNK_PREFIX_BYTES, MAX_INIT_BYTES, isWireSpan, maxChunkPayloadBytes } from '../wire/limits.js'
import { initSignable, munroSignable } from '../wire/signed-layouts.js'
import { type ChunkPiece, type MessageFlags, splitMessage } from './chunker.js'

export interface StreamSignerOptions {
  /** The tree's 32-byte ed25519 secret key. */
  secretKey: Uint8Array
  /** Its public key (checked against the secret key). */
  publicKey: Uint8Array
  /** Largest message write() accepts. Default 4 MiB. */
  maxMessageBytes?: number
  /** Chunks per munro, a power of two in 1..1024. Default 32. */
  munroSpan?: number
  /**
   * Close an open munro this long after its first chunk. Default 0: at the end
   * of the task that wrote it (a microtask). Infinity = only when full or flushed.
   */
  munroDeadlineMs?: number
  /** The source session, signed into everything. Default Date.now() at construction (so a restart is newer). */
  epoch?: number
  /** Sign an empty heartbeat chunk after this long without writes. Default 0 (off). */
  heartbeatMs?: number
  /** Index of the first chunk; a restarted source continues where it stopped. Default 0. */
  firstChunkIndex?: number
  /** Clock for munro timestamps, ms since the Unix epoch. Default Date.now. */
  now?: () => number
}

/** One encoded CHUNK frame and its decoded view (byte fields are views into `bytes`). */
export interface SignedChunk {
  frame: ChunkFrame
  bytes: Uint8Array
}

/** A closed, signed munro: send `frames` in order (the MUNRO frame, then its chunks). */
export interface SignedMunro {
  munro: MunroFrame
  munroBytes: Uint8Array
  chunks: SignedChunk[]
  /** munroBytes followed by every chunk's bytes. */
  frames: Uint8Array[]
}

/** A signed init message: one INIT frame. */
export interface SignedInit {
  frame: InitFrame
  bytes: Uint8Array
}

export interface StreamSignerEvents {
  /** A munro was signed. Munros are emitted in index order. */
  munro: (signed: SignedMunro) => void
  /** An init message was signed; emitted in order with the munros. */
  init: (signed: SignedInit) => void
  /** Signing failed; the signer destroyed itself (the stream would have a gap). */
  error: (err: MunroError) => void
}

/** Indices of the chunks one write() produced: [first, end). */
export interface WriteResult {
  first: number
  end: number
}

interface OpenChunk {
  bytes: Uint8Array
  index: number
  flags: number
  /** View of the payload inside `bytes`. */
  payload: Uint8Array
}

/** Bytes of a chunk's proof in a munro of `span`. */
function proofBytes(span: number): number {
  return (31 - Math.clz32(span)) * 32
}

/** The smallest power of two >= count (count >= 1). */
function fittingSpan(count: number): number {
  return 1 << (32 - Math.clz32(count - 1))
}

const DEFAULTS = { maxMessageBytes: 4 * 1024 * 1024, munroSpan: 32, munroDeadlineMs: 0, heartbeatMs: 0 }

/** Splits, hashes and signs a live stream of messages. See the file comment. */
export class StreamSigner extends EventEmitter<StreamSignerEvents> {
  /** The tree key (public key) every munro is signed for. */
  readonly treeKey: Uint8Array
  readonly maxMessageBytes: number
  readonly munroSpan: number
  readonly munroDeadlineMs: number
  /** The source session every munro and init is signed for. */
  readonly epoch: number
  /** Largest payload of one chunk (fills a CHUNK frame to exactly MAX_FRAME_BYTES). */
  readonly maxChunkPayload: number

  private readonly secretKey: Uint8Array
  private readonly now: () => number
  private next: number
  private open: OpenChunk[] = []
  private openStart: number
  private timer: ReturnType<typeof setTimeout> | undefined
  private closeQueued = false
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined
  private wroteSinceHeartbeat = false
  private initSeq = 0
  private tail: Promise<void> = Promise.resolve()
  private isDestroyed = false

  constructor(options: StreamSignerOptions) {
    super()
    const { secretKey, publicKey } = options
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
      throw new MunroError(ErrorCode.BAD_KEY, 'StreamSigner: publicKey must be 32 bytes')
    }
    if (!equalBytes(derivePublicKey(secretKey), publicKey)) {
      throw new MunroError(ErrorCode.BAD_KEY, 'StreamSigner: publicKey does not belong to secretKey')
    }
    this.secretKey = secretKey.slice()
    this.treeKey = publicKey.slice()
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULTS.maxMessageBytes
    this.munroSpan = options.munroSpan ?? DEFAULTS.munroSpan
    this.munroDeadlineMs = options.munroDeadlineMs ?? DEFAULTS.munroDeadlineMs
    this.next = options.firstChunkIndex ?? 0
    this.now = options.now ?? Date.now
    this.epoch = options.epoch ?? Math.floor(Date.now())
    const heartbeatMs = options.heartbeatMs ?? DEFAULTS.heartbeatMs
    if (!Number.isSafeInteger(this.maxMessageBytes) || this.maxMessageBytes < 0) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: maxMessageBytes must be a non-negative integer')
    }
    if (!isWireSpan(this.munroSpan)) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: munroSpan must be a power of two in 1..1024')
    }
    if (!(this.munroDeadlineMs >= 0)) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: munroDeadlineMs must be >= 0 (Infinity disables it)')
    }
    if (!Number.isSafeInteger(this.epoch) || this.epoch < 0) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: epoch must be an integer in 0..2^53-1')
    }
    if (!(heartbeatMs >= 0) || !Number.isFinite(heartbeatMs)) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: heartbeatMs must be a finite number >= 0')
    }
    if (!Number.isSafeInteger(this.next) || this.next < 0) {
      throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: firstChunkIndex must be an integer in 0..2^53-1')
    }
    this.openStart = this.next
    this.maxChunkPayload = maxChunkPayloadBytes(this.munroSpan)
    if (heartbeatMs > 0) {
      this.heartbeatTimer = setInterval(() => {
        if (!this.wroteSinceHeartbeat) this.heartbeat()
        this.wroteSinceHeartbeat = false
      }, heartbeatMs)
      ;(this.heartbeatTimer as { unref?: () => void }).unref?.()
    }
  }

  /** Index the next written chunk will get. */
  get nextIndex(): number {
    return this.next
  }

  get destroyed(): boolean {
    return this.isDestroyed
  }

  /**
   * Queues one message. It is copied into its chunk frames before this
   * returns. Empty messages are allowed (one empty chunk). Throws MunroError
   * ERR_DESTROYED after destroy(), ERR_MESSAGE_TOO_LARGE over maxMessageBytes.
   */
  write(message: Uint8Array, flags?: MessageFlags): WriteResult {
    if (this.isDestroyed) throw new MunroError(ErrorCode.DESTROYED, 'StreamSigner: write after destroy')
    if (!(message instanceof Uint8Array)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: message must be a Uint8Array')
    if (message.length > this.maxMessageBytes) {
      throw new MunroError(ErrorCode.MESSAGE_TOO_LARGE, `StreamSigner: message of ${message.length} bytes is over ${this.maxMessageBytes}`)
    }
    this.wroteSinceHeartbeat = true
    return this.append(splitMessage(message, flags, this.maxChunkPayload))
  }

  /**
   * Signs an init message (codec setup a decoder needs first). It travels in
   * one INIT frame outside the chunk order and applies to the chunks written
   * after it. Throws ERR_MESSAGE_TOO_LARGE over MAX_INIT_BYTES (one frame).
   */
  writeInit(message: Uint8Array): void {
    if (this.isDestroyed) throw new MunroError(ErrorCode.DESTROYED, 'StreamSigner: writeInit after destroy')
    if (!(message instanceof Uint8Array)) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: message must be a Uint8Array')
    if (message.length > MAX_INIT_BYTES) {
      throw new MunroError(ErrorCode.MESSAGE_TOO_LARGE, `StreamSigner: init message of ${message.length} bytes is over ${MAX_INIT_BYTES}`)
    }
    if (this.initSeq >= 0xffffffff) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: init sequence exhausted')
    // Chunks written before it go out first, under their own signature.
    this.close()
    const fields = { epoch: this.epoch, seq: ++this.initSeq, atIndex: this.next, timestamp: this.timestamp(), payload: message.slice() }
    const signed = signMessage(this.secretKey, initSignable(this.treeKey, fields))
    signed.catch(() => {}) // handled below, in order
    this.enqueue(signed, (signature) => {
      const bytes = encodeFrame({ type: FrameType.INIT, ...fields, signature })
      const decoded = decodeFrame(bytes) as { ok: true; frame: InitFrame }
      this.safeEmit('init', { frame: decoded.frame, bytes })
    })
  }

  /**
   * Appends one empty chunk outside any message (no flags): a signed sign of
   * life while the application writes nothing, so viewers can tell a quiet
   * stream from a parent that withholds data. Reassemblers skip it.
   */
  heartbeat(): WriteResult {
    if (this.isDestroyed) throw new MunroError(ErrorCode.DESTROYED, 'StreamSigner: heartbeat after destroy')
    return this.append([{ flags: 0, payload: new Uint8Array(0) }])
  }

  private append(pieces: ChunkPiece[]): WriteResult {
    if (this.next + pieces.length > MAX_SAFE_U64) throw new MunroError(ErrorCode.INVALID_ARGUMENT, 'StreamSigner: chunk index space exhausted')
    const first = this.next
    const proofPlaceholder = new Uint8Array(proofBytes(this.munroSpan))
    for (const piece of pieces) {
      if (this.open.length === 0) {
        this.openStart = this.next
        this.armDeadline()
      }
      const index = this.next++
      // The proof is written in place when the munro closes.
      const bytes = encodeFrame({
        type: FrameType.CHUNK,
        index,
        munroStart: this.openStart,
        span: this.munroSpan,
        flags: piece.flags,
        proof: proofPlaceholder,
        payload: piece.payload
      })
      const payload = bytes.subarray(bytes.length - piece.payload.length)
      this.open.push({ bytes, index, flags: piece.flags, payload })
      if (this.open.length === this.munroSpan) this.close()
    }
    return { first, end: this.next }
  }

  /** Closes the open munro now (if it has any chunk). */
  flush(): void {
    if (this.isDestroyed) throw new MunroError(ErrorCode.DESTROYED, 'StreamSigner: flush after destroy')
    this.close()
  }

  /** Resolves once every munro closed so far has been signed and emitted (or dropped by destroy). */
  settled(): Promise<void> {
    return this.tail
  }

  /** Stops the signer: clears the timer, drops the open munro, emits nothing more. Idempotent. */
  destroy(): void {
    if (this.isDestroyed) return
    this.isDestroyed = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer)
    this.heartbeatTimer = undefined
    this.open = []
  }

  private armDeadline(): void {
    if (this.munroDeadlineMs === 0) {
      // Signed at the end of this task: writes made together share one munro.
      if (this.closeQueued) return
      this.closeQueued = true
      queueMicrotask(() => {
        this.closeQueued = false
        if (!this.isDestroyed) this.close()
      })
      return
    }
    if (!Number.isFinite(this.munroDeadlineMs)) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      if (!this.isDestroyed) this.close()
    }, this.munroDeadlineMs)
    // Node: a pending deadline must not keep the process alive on its own.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private close(): void {
    if (this.open.length === 0) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const chunks = this.open
    this.open = []
    const start = this.openStart
    const span = fittingSpan(chunks.length)
    if (span < this.munroSpan) {
      const proof = new Uint8Array(proofBytes(span))
      for (const c of chunks) {
        c.bytes = encodeFrame({ type: FrameType.CHUNK, index: c.index, munroStart: start, span, flags: c.flags, proof, payload: c.payload })
        c.payload = c.bytes.subarray(c.bytes.length - c.payload.length)
      }
    }
    const timestamp = this.timestamp()
    const epoch = this.epoch
    // Hash, build the tree, write the proofs and sign now, in parallel with
    // earlier munros, but emit strictly in order.
    const signed = (async () => {
      const leaves = await Promise.all(chunks.map((c) => leafHashAsync(c.index, c.flags, c.payload)))
      const tree = new MerkleTree(leaves, span)
      chunks.forEach((c, p) => c.bytes.set(tree.proof(p), CHUNK_PREFIX_BYTES))
      const fields = { epoch, start, count: chunks.length, span, timestamp, root: tree.root }
      const signature = await signMessage(this.secretKey, munroSignable(this.treeKey, fields))
      return { type: FrameType.MUNRO, ...fields, signature } satisfies MunroFrame
    })()
    signed.catch(() => {}) // handled below, in order; avoids an unhandled-rejection warning meanwhile
    this.enqueue(signed, (munro) => this.emitMunro(munro, chunks))
  }

  /** Emits what `signed` yields after everything signed before it; a failure destroys the signer. */
  private enqueue<T>(signed: Promise<T>, emit: (value: T) => void): void {
    this.tail = this.tail
      .then(() => signed)
      .then((value) => {
        if (!this.isDestroyed) emit(value)
      })
      // Whatever fails, the chain stays usable: nothing signed later is skipped silently.
      .catch((err: unknown) => this.fail(err))
  }

  /** Now, as a u64 the wire accepts: a clock returning fractions or garbage must not make a frame unencodable. */
  private timestamp(): number {
    return Math.min(MAX_SAFE_U64, Math.max(0, Math.floor(this.now()) || 0))
  }

  private emitMunro(munro: MunroFrame, chunks: OpenChunk[]): void {
    if (this.isDestroyed) return
    const munroBytes = encodeFrame(munro)
    const signedChunks = chunks.map(({ bytes }) => {
      // Our own frames: decoding gives the metadata as views into the bytes.
      const decoded = decodeFrame(bytes)
      if (!decoded.ok || decoded.frame.type !== FrameType.CHUNK) throw new MunroError(ErrorCode.BAD_FRAME, 'StreamSigner: internal frame error')
      return { frame: decoded.frame, bytes }
    })
    const signed: SignedMunro = {
      munro: (decodeFrame(munroBytes) as { ok: true; frame: MunroFrame }).frame,
      munroBytes,
      chunks: signedChunks,
      frames: [munroBytes, ...signedChunks.map((c) => c.bytes)]
    }
    this.safeEmit('munro', signed)
  }

  private fail(err: unknown): void {
    if (this.isDestroyed) return
    const error =
      err instanceof MunroError ? err : new MunroError(ErrorCode.BAD_KEY, 'StreamSigner: signing failed', { cause: err })
    this.destroy()
    this.safeEmit('error', error)
  }

  // A listener that throws must not break the ordered emit chain; its error
  // is rethrown in a fresh microtask so it still surfaces.
  private safeEmit<E extends keyof StreamSignerEvents>(event: E, ...args: Parameters<StreamSignerEvents[E]>): void {
    try {
      ;(this.emit as (e: E, ...a: Parameters<StreamSignerEvents[E]>) => boolean)(event, ...args)
    } catch (err) {
      queueMicrotask(() => {
        throw err
      })
    }
  }
}
