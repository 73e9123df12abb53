// The crypto bench loops, shared by Node (bench/crypto.ts) and Chromium
// (bench/crypto-browser.ts via crypto-browser.page.ts). Pure: no Node APIs;
// the caller passes a CPU clock (process.cpuUsage in Node; in a page the main
// thread is the only thread doing the work, so wall time is the CPU time).
import { generateKeyPair, type KeyPair } from '../src/crypto/keys.js'
import { ed25519Backend, signMessage, verifySignature, verifyWithNoble } from '../src/crypto/ed25519.js'
import { leafHash, leafHashAsync } from '../src/crypto/merkle.js'
import { StreamSigner } from '../src/sign/munro-signer.js'
import { munroSignable } from '../src/wire/signed-layouts.js'
import { ChunkVerifier } from '../src/verify/verifier.js'
import { MessageReassembler } from '../src/verify/reassembler.js'
import { FrameType, decodeFrame } from '../src/wire/frames.js'
import { MAX_FRAME_BYTES } from '../src/wire/limits.js'

/** A live stream to simulate: `fps` messages per second sized to the bitrate, a start point every second. */
export interface StreamProfile {
  name: string
  bitsPerSecond: number
  /** Seconds of stream to generate. */
  seconds: number
  fps: number
}

export const PROFILES: StreamProfile[] = [
  { name: '2.5 Mbit/s', bitsPerSecond: 2.5e6, seconds: 20, fps: 30 },
  { name: '10 Mbit/s', bitsPerSecond: 10e6, seconds: 10, fps: 30 }
]

/** Milliseconds of CPU used so far (all threads in Node; main-thread wall time in a page). */
export type CpuClock = () => number

export interface StreamFigures {
  profile: string
  chunks: number
  munros: number
  frameBytes: number
  /** Source: split + hash + Merkle + sign + encode, CPU ms per second of stream. */
  sourceCpuMsPerStreamSecond: number
  /** Source: % of one core needed to keep up. */
  sourceCorePercent: number
  /** Receiver: decode + verify (signatures and proofs) + reassemble, chunks per second of CPU. */
  verifyChunksPerCpuSecond: number
  /** Receiver: chunks per second of wall time (the loop, awaited one by one). */
  verifyChunksPerWallSecond: number
  /** Receiver: % of one core needed to keep up (CPU per second of stream). */
  verifyCorePercent: number
  /** Receiver: CPU time over wall time of the loop (> 100% = work on other threads). */
  verifyCpuOverWallPercent: number
}

export interface PrimitiveFigures {
  backend: 'webcrypto' | 'noble'
  /** Synchronous JS SHA-256 (noble). */
  leafHash16KiBMicros: number
  /** leafHashAsync: the runtime's native SHA-256 when available. */
  leafHashNative16KiBMicros: number
  signMicros: number
  munrosSignedPerSecond: number
  verifyMicros: number
  verifyNobleMicros: number
}

interface Prepared {
  keys: KeyPair
  frames: Uint8Array[]
  chunks: number
  munros: number
  bytes: number
  cpuMs: number
  startedAt: number
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!
}

/** Deterministic filler so payloads are not all zeros. */
function filler(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  let s = seed | 1
  for (let i = 0; i < length; i += 4) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    out[i] = s
    out[i + 1] = s >>> 8
    out[i + 2] = s >>> 16
    out[i + 3] = s >>> 24
  }
  return out
}

/**
 * Signs `profile` as a live source would: one write per video frame at its
 * time, munros closed by the 50 ms deadline (simulated: flush before a write
 * that comes 50 ms or more after the munro's first write) or by the span.
 */
async function prepare(profile: StreamProfile, cpu: CpuClock): Promise<Prepared> {
  const keys = generateKeyPair()
  const frameCount = Math.round(profile.seconds * profile.fps)
  const messageBytes = Math.round(profile.bitsPerSecond / 8 / profile.fps)
  const sources = [0, 1, 2, 3].map((i) => filler(messageBytes * 3, i + 1)) // keyframes are 3x larger
  const startedAt = Date.now()
  let simulated = 0
  const signer = new StreamSigner({ ...keys, munroDeadlineMs: Infinity, now: () => startedAt + Math.round(simulated) })
  const frames: Uint8Array[] = []
  let chunks = 0
  let munros = 0
  let bytes = 0
  signer.on('munro', (m) => {
    munros++
    chunks += m.chunks.length
    for (const f of m.frames) {
      frames.push(f)
      bytes += f.length
    }
  })
  await signMessage(keys.secretKey, new Uint8Array(1)) // warm the backend probe and key import
  const before = cpu()
  let openedAt = -1
  for (let i = 0; i < frameCount; i++) {
    simulated = (i * 1000) / profile.fps
    if (openedAt >= 0 && simulated - openedAt >= 50) {
      signer.flush()
      openedAt = -1
    }
    if (openedAt < 0) openedAt = simulated
    const keyframe = i % profile.fps === 0
    const src = sources[i % sources.length]!
    signer.write(src.subarray(0, keyframe ? messageBytes * 3 : messageBytes), { startPoint: keyframe })
  }
  signer.flush()
  await signer.settled()
  const cpuMs = cpu() - before
  signer.destroy()
  return { keys, frames, chunks, munros, bytes, cpuMs, startedAt }
}

/** The receiver's hot loop: every frame decoded, verified and reassembled, awaited in order. */
async function verifyAll(p: Prepared): Promise<number> {
  const verifier = new ChunkVerifier({ publicKey: p.keys.publicKey })
  const reassembler = new MessageReassembler()
  let messages = 0
  for (const bytes of p.frames) {
    const d = decodeFrame(bytes)
    if (!d.ok) throw new Error(`bench: ${d.code}`)
    if (d.frame.type === FrameType.MUNRO) {
      const r = await verifier.acceptMunro(d.frame)
      if (!r.ok) throw new Error(`bench: ${r.code}`)
    } else if (d.frame.type === FrameType.CHUNK) {
      const r = await verifier.acceptChunk(d.frame)
      if (!r.ok) throw new Error(`bench: ${r.code}`)
      messages += reassembler.push({ ...d.frame, timestamp: 0 }).filter((e) => e.kind === 'message').length
    }
  }
  verifier.destroy()
  return messages
}

/** Source and receiver figures for one stream profile (median of `rounds` verify runs). */
export async function benchStream(profile: StreamProfile, cpu: CpuClock, wall: () => number, rounds = 5): Promise<StreamFigures> {
  const p = await prepare(profile, cpu)
  await verifyAll(p) // warm-up (JIT, key import)
  const cpuRuns: number[] = []
  const wallRuns: number[] = []
  for (let r = 0; r < rounds; r++) {
    const c0 = cpu()
    const w0 = wall()
    await verifyAll(p)
    wallRuns.push(wall() - w0)
    cpuRuns.push(cpu() - c0)
  }
  const cpuMs = median(cpuRuns)
  const wallMs = median(wallRuns)
  return {
    profile: profile.name,
    chunks: p.chunks,
    munros: p.munros,
    frameBytes: p.bytes,
    sourceCpuMsPerStreamSecond: p.cpuMs / profile.seconds,
    sourceCorePercent: (p.cpuMs / (profile.seconds * 1000)) * 100,
    verifyChunksPerCpuSecond: p.chunks / (cpuMs / 1000),
    verifyChunksPerWallSecond: p.chunks / (wallMs / 1000),
    verifyCorePercent: (cpuMs / (profile.seconds * 1000)) * 100,
    verifyCpuOverWallPercent: (cpuMs / wallMs) * 100
  }
}

async function perOp(wall: () => number, n: number, op: () => unknown): Promise<number> {
  for (let i = 0; i < Math.max(5, n / 4); i++) await op() // warm-up: JIT, key caches, noble tables
  const t0 = wall()
  for (let i = 0; i < n; i++) await op()
  return ((wall() - t0) * 1000) / n
}

/** Costs of the primitives, µs per operation (wall time, one at a time). */
export async function benchPrimitives(wall: () => number): Promise<PrimitiveFigures> {
  const keys = generateKeyPair()
  const payload = filler(MAX_FRAME_BYTES - 200, 9)
  const signable = munroSignable(keys.publicKey, { epoch: 1, start: 123, count: 32, span: 32, timestamp: Date.now(), root: new Uint8Array(32).fill(7) })
  const signature = await signMessage(keys.secretKey, signable)
  const signMicros = await perOp(wall, 300, () => signMessage(keys.secretKey, signable))
  return {
    backend: await ed25519Backend(),
    leafHash16KiBMicros: await perOp(wall, 1000, () => leafHash(1, 3, payload)),
    leafHashNative16KiBMicros: await perOp(wall, 1000, () => leafHashAsync(1, 3, payload)),
    signMicros,
    munrosSignedPerSecond: 1e6 / signMicros,
    verifyMicros: await perOp(wall, 300, () => verifySignature(keys.publicKey, signable, signature)),
    verifyNobleMicros: await perOp(wall, 40, () => verifyWithNoble(keys.publicKey, signable, signature))
  }
}

export interface CryptoBenchResult {
  primitives: PrimitiveFigures
  streams: StreamFigures[]
}

/** Runs everything with the given clocks. */
export async function runCryptoBenchWith(cpu: CpuClock, wall: () => number, profiles = PROFILES): Promise<CryptoBenchResult> {
  const primitives = await benchPrimitives(wall)
  const streams: StreamFigures[] = []
  for (const profile of profiles) streams.push(await benchStream(profile, cpu, wall))
  return { primitives, streams }
}

/** A small fixed-width table of the results. */
export function formatCryptoBench(result: CryptoBenchResult, title: string): string {
  const p = result.primitives
  const f = (n: number, d = 1) => n.toFixed(d)
  const lines = [
    `${title} (ed25519 backend: ${p.backend})`,
    `  leaf hash, 16 KiB chunk      ${f(p.leafHash16KiBMicros)} µs JS, ${f(p.leafHashNative16KiBMicros)} µs native (used)`,
    `  sign munro                   ${f(p.signMicros)} µs  (${f(p.munrosSignedPerSecond, 0)} munros/s)`,
    `  verify munro signature       ${f(p.verifyMicros)} µs  (noble fallback ${f(p.verifyNobleMicros)} µs)`,
    '',
    '  stream       chunks munros | source %core | verify chunks/s (cpu)  chunks/s (wall)  %core  cpu/wall',
    ...result.streams.map(
      (s) =>
        `  ${s.profile.padEnd(11)} ${String(s.chunks).padStart(7)} ${String(s.munros).padStart(6)} | ${f(s.sourceCorePercent, 2).padStart(11)}% | ` +
        `${f(s.verifyChunksPerCpuSecond, 0).padStart(21)} ${f(s.verifyChunksPerWallSecond, 0).padStart(16)} ${f(s.verifyCorePercent, 2).padStart(6)}% ${f(s.verifyCpuOverWallPercent, 0).padStart(8)}%`
    )
  ]
  return lines.join('\n')
}
