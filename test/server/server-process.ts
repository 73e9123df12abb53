// A munro-signal server in its own process (the CLI entry point run from
// source), so a test can kill and restart it, or load it without the load
// generator sharing its event loop.
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface ServerProcess {
  child: ChildProcess
  port: number
  url: string
  /** Resolves when the process has exited. */
  exited: Promise<void>
}

// `node -e` puts the arguments right after the executable; commander expects a script path there.
const MAIN = "import('./signaling-server/cli.ts').then((m) => m.main([process.argv[0], 'munro-signal', ...process.argv.slice(1)]))"

export function startServerProcess(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', MAIN, '--', ...args], {
    env: { ...process.env, MUNRO_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('munro-signal did not start within 20 s')), 20_000)
    // The JSON log line that announces the port.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const port = (JSON.parse(line) as { port?: number }).port
      if (!port) return
      clearTimeout(timer)
      resolve({ child, port, url: `http://127.0.0.1:${port}`, exited })
    })
    child.once('exit', (code) => reject(new Error(`munro-signal exited with ${code}`)))
  })
}

// Fetches /healthz every 50 ms from its own process (so the load generator's busy event loop does not count) and prints latencies.
const PROBE = `
const [url, ms] = process.argv.slice(1)
const out = []
const end = Date.now() + Number(ms)
;(async () => {
  while (Date.now() < end) {
    const t = performance.now()
    try { await fetch(url + '/healthz', { signal: AbortSignal.timeout(5000) }); out.push(performance.now() - t) } catch { out.push(5000) }
    await new Promise((r) => setTimeout(r, 50))
  }
  console.log(JSON.stringify(out))
})()`

export interface LatencySummary {
  count: number
  p50: number
  p99: number
  max: number
}

/** /healthz latency seen from a separate process over `ms` milliseconds. */
export function probeHealthz(url: string, ms: number): Promise<LatencySummary> {
  const child = spawn(process.execPath, ['-e', PROBE, url, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d))
  return new Promise((resolve, reject) => {
    child.once('exit', () => {
      try {
        const all = (JSON.parse(text) as number[]).sort((a, b) => a - b)
        const at = (q: number) => all[Math.min(all.length - 1, Math.floor(q * all.length))]!
        resolve({ count: all.length, p50: at(0.5), p99: at(0.99), max: all[all.length - 1]! })
      } catch (err) {
        reject(err as Error)
      }
    })
  })
}
