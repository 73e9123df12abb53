// A source in its own process, so a test can kill it (SIGKILL) and start it
// again with the same key: writes "<run>:<n>" every 50 ms, a start point every
// 5th, with the SDK's defaults.
import { spawn, type ChildProcess } from 'node:child_process'

const SOURCE = `
const { createSource, importKeyPair } = await import('./src/index.ts')
const { wrtc } = await import('./test/helpers/wrtc.ts')
const [url, key, run] = process.argv.slice(1)
const source = await createSource({ signal: url, keyPair: importKeyPair(JSON.parse(key)), wrtc, iceServers: [], statsIntervalMs: 0 })
let n = 0
setInterval(() => source.write(run + ':' + n, { startPoint: n++ % 5 === 0 }), 50)
process.stdout.write('ready\\n')
`

/** Resolves once the source has created (or re-created) its tree; `key` is exportKeyPair() as JSON. */
export function startSourceProcess(url: string, key: string, run: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SOURCE, url, key, run], { stdio: ['ignore', 'pipe', 'inherit'] })
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && resolve(child))
    child.once('exit', (code) => reject(new Error(`source process exited with ${code}`)))
  })
}
