import { spawn, type ChildProcess } from 'node:child_process'
import type { Placement } from '../../src/index.js'

export interface ViewerProcess {
  child: ChildProcess
  placement: Placement
  kill(signal: NodeJS.Signals): void
}

/** Starts a viewer in a child process and resolves once it is placed. */
export function spawnViewer(url: string, treeId: string): Promise<ViewerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/viewer-process.ts', url, treeId], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('viewer process did not join within 20 s')), 20_000)
    let text = ''
    child.stdout!.setEncoding('utf8').on('data', (data: string) => {
      text += data
      const lines = text.split('\n')
      text = lines.pop()!
      for (const line of lines) {
        const msg = JSON.parse(line) as { event: string; placement?: Placement }
        if (msg.event === 'joined' && msg.placement) {
          clearTimeout(timer)
          resolve({ child, placement: msg.placement, kill: (signal) => child.kill(signal) })
        }
      }
    })
    child.once('exit', (code) => reject(new Error(`viewer process exited with ${code}`)))
  })
}
