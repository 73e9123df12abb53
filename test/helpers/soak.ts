// Shared by the soak test (test/relay/soak.test.ts) and its child processes
// (soak-process.ts): the messages it streams, how a viewer checks them without
// keeping a log (a log would grow the very heap being measured), memory
// samples taken after a forced full GC, and the "no events after destroy" watch.
import { fork } from 'node:child_process'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { MunroMessage } from '../../src/index.js'

/** Message `i`: 1 000–16 000 bytes, its id in the first four, a pattern derived from `i` in the rest. */
export function soakMessage(i: number): Uint8Array {
  const data = new Uint8Array(1_000 + ((i * 7919) % 15_000))
  for (let j = 4; j < data.length; j += 97) data[j] = (i + j) & 0xff
  new DataView(data.buffer).setUint32(0, i)
  return data
}

/** What one viewer received, checked as it arrives: ids must run 0, 1, 2, … and each payload be exactly soakMessage(id). */
export interface MessageTally {
  received: number
  /** Ids skipped over (never delivered). */
  lost: number
  corrupted: number
  /** The first few departures from the expected order, for the failure message. */
  problems: string[]
}

export function tallyMessages(): { tally: MessageTally; onMessage: (m: MunroMessage) => void } {
  const tally: MessageTally = { received: 0, lost: 0, corrupted: 0, problems: [] }
  let next = 0
  const problem = (text: string) => {
    if (tally.problems.length < 5) tally.problems.push(text)
  }
  const onMessage = (m: MunroMessage) => {
    tally.received++
    const id = m.data.byteLength >= 4 ? new DataView(m.data.buffer, m.data.byteOffset).getUint32(0) : -1
    if (id !== next) problem(`got ${id} where ${next} was due`)
    if (id > next) tally.lost += id - next
    if (!equalBytes(m.data, soakMessage(id))) {
      tally.corrupted++
      problem(`message ${id} differs from what was written`)
    }
    next = Math.max(next, id + 1)
  }
  return { tally, onMessage }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

v8.setFlagsFromString('--expose_gc')
/** A full, synchronous garbage collection. */
export const gc = vm.runInNewContext('gc') as () => void

export interface MemorySample {
  /** ms since the soak started streaming */
  t: number
  /** V8 heap in use after a full GC (bytes) */
  heap: number
  /** Resident set size: V8 plus native memory (wrtc's WebRTC stack, buffers) */
  rss: number
}

/** Collects garbage (twice: weak callbacks of the first run free more in the second), then reads memory. */
export function sampleMemory(t: number): MemorySample {
  gc()
  gc()
  const { heapUsed, rss } = process.memoryUsage()
  return { t, heap: heapUsed, rss }
}

/** Least-squares slope of `pick(sample)` over time, per minute. */
export function slopePerMinute(samples: MemorySample[], pick: (s: MemorySample) => number): number {
  const n = samples.length
  if (n < 2) return NaN
  const mt = samples.reduce((s, x) => s + x.t, 0) / n
  const mv = samples.reduce((s, x) => s + pick(x), 0) / n
  const num = samples.reduce((s, x) => s + (x.t - mt) * (pick(x) - mv), 0)
  const den = samples.reduce((s, x) => s + (x.t - mt) ** 2, 0)
  return (num / den) * 60_000
}

/** Records, in `late`, every event `object` emits once its destroy() has returned. */
export function watchAfterDestroy(object: object, name: string, late: string[]): void {
  const target = object as { emit: (event: string, ...args: unknown[]) => boolean; destroy: () => void }
  const emit = target.emit.bind(target)
  const destroy = target.destroy.bind(target)
  let destroyed = false
  target.destroy = () => {
    destroy()
    destroyed = true
  }
  target.emit = (event, ...args) => {
    if (destroyed) late.push(`${name}:${event}`)
    return emit(event, ...args)
  }
}

/** The viewer and the parts of it that have their own destroy(): the ones a soak watches. */
export function viewerParts(viewer: object): Record<string, object> {
  const inner = viewer as { peer: object; signaling: object }
  return { '': viewer, '.peer': inner.peer, '.signaling': inner.signaling }
}

/** A soak child process (soak-process.ts) answering requests over its IPC channel. */
export interface SoakProcess {
  request<T = Record<string, unknown>>(message: { type: string; [field: string]: unknown }, timeoutMs?: number): Promise<T>
  /** SIGKILL unless told otherwise (SIGSTOP / SIGCONT freeze and wake it). */
  kill(signal?: NodeJS.Signals): void
}

/** Starts soak-process.ts with `args` and resolves with its first message (its readiness) and a way to ask it things. */
export async function forkSoakProcess(args: string[]): Promise<{ proc: SoakProcess; ready: Record<string, unknown> }> {
  const child = fork('test/helpers/soak-process.ts', args, { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting = new Map<number, (reply: Record<string, unknown>) => void>()
  let ids = 0
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`soak process ${args[0]} did not start within 20 s`)), 20_000)
    child.once('exit', (code) => reject(new Error(`soak process ${args[0]} exited with ${code}`)))
    child.once('message', (m) => {
      clearTimeout(timer)
      resolve(m as Record<string, unknown>)
    })
  })
  child.on('message', (m) => {
    const reply = m as { id: number }
    waiting.get(reply.id)?.(reply)
    waiting.delete(reply.id)
  })
  return {
    ready,
    proc: {
      request: <T>(message: { type: string }, timeoutMs = 60_000) =>
        new Promise<T>((resolve, reject) => {
          const id = ++ids
          const timer = setTimeout(() => reject(new Error(`soak process ${args[0]}: no answer to ${message.type} within ${timeoutMs} ms`)), timeoutMs)
          waiting.set(id, (reply) => {
            clearTimeout(timer)
            resolve(reply as T)
          })
          child.send({ ...message, id })
        }),
      kill: (signal: NodeJS.Signals = 'SIGKILL') => child.kill(signal)
    }
  }
}
