import { spawn, type ChildProcess } from 'node:child_process'
import type { Placement } from '../../src/index.js'

export interface ViewerProcess {
  child: ChildProcess
  placement: Placement
  /** Every event line the process printed so far, parsed (see viewer-process.ts). */
  events: Array<{ event: string; [field: string]: unknown }>
  kill(signal: NodeJS.Signals): void
}

/**
 * Starts a viewer in a child process and resolves once it is placed.
 * `defaults`: the SDK's own timings; `clockOffsetMs`: its wall clock is off by this much.
 */
export function spawnViewer(url: string, treeId: string, timings: 'fast' | 'defaults' = 'fast', clockOffsetMs = 0): Promise<ViewerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/viewer-process.ts', url, treeId, timings], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MUNRO_CLOCK_OFFSET_MS: String(clockOffsetMs) }
  })
  const events: ViewerProcess['events'] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('viewer process did not join within 20 s')), 20_000)
    let text = ''
    child.stdout!.setEncoding('utf8').on('data', (data: string) => {
      text += data
      const lines = text.split('\n')
      text = lines.pop()!
      for (const line of lines) {
        const msg = JSON.parse(line) as ViewerProcess['events'][number] & { placement?: Placement }
        events.push(msg)
        if (msg.event === 'joined' && msg.placement) {
          clearTimeout(timer)
          resolve({ child, placement: msg.placement, events, kill: (signal) => child.kill(signal) })
        }
      }
    })
    child.once('exit', (code, signal) => {
      // After the join, a test reads this as an event: a viewer process that died (a native crash gives no output) says so.
      events.push({ event: 'exit', code, signal })
      reject(new Error(`viewer process exited with ${code ?? signal}`))
    })
  })
}
