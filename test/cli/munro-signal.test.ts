import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const BIN = 'signaling-server/bin/munro-signal.js'
const children: ChildProcess[] = []

beforeAll(async () => {
  // The bin runs the compiled server, exactly as `npx munro-signal` does after install.
  await run('npx', ['tsc', '-p', 'tsconfig.server.json'], { timeout: 120_000 })
}, 180_000)

afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
})

function startBin(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; lines: string[] }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  const lines: string[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; got: ${lines.join('\n')}`)), 15_000)
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      for (const line of text.split('\n').filter(Boolean)) {
        lines.push(line)
        const entry = JSON.parse(line) as { port?: number }
        if (entry.port) {
          clearTimeout(timer)
          resolve({ child, port: entry.port, lines })
        }
      }
    })
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)))
  })
}

describe('munro-signal CLI', () => {
  it('documents every option in --help', async () => {
    const { stdout } = await run(process.execPath, [BIN, '--help'])
    for (const flag of ['--port', '--host', '--k ', '--k1', '--max-k', '--max-k1', '--cors', '--source-grace', '--rate', '--detach-grace', '--secret', '--max-signals', '--max-lag', '--max-queued-bytes', '--evict-after', '--report-tenure', '--max-trees-per-connection', '--static', '--log-level', '--help']) {
      expect(stdout).toContain(flag)
    }
    for (const env of ['MUNRO_PORT', 'MUNRO_HOST', 'MUNRO_K', 'MUNRO_K1', 'MUNRO_CORS', 'MUNRO_SECRET', 'MUNRO_MAX_SIGNALS']) expect(stdout).toContain(env)
    expect(stdout).toContain('ulimit -n')
    expect(stdout).toContain('/healthz')
    expect(stdout).toContain('/metrics')
    expect(stdout).toContain('/trees/<id>')
  })

  it('starts, answers /healthz and /metrics, and stops on SIGTERM', async () => {
    const { child, port } = await startBin(['--port', '0', '--host', '127.0.0.1', '--k', '3'])
    const health = await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()
    expect(health).toEqual({ status: 'ok', trees: 0, peers: 0 })
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    expect(metrics).toContain('munro_peers 0')
    expect(metrics).toContain('process_cpu_seconds_total')
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('takes its settings from environment variables', async () => {
    const { port } = await startBin([], { MUNRO_PORT: '0', MUNRO_HOST: '127.0.0.1', MUNRO_LOG_LEVEL: 'info' })
    expect(port).toBeGreaterThan(0)
  })

  it('rejects a bad option with a clear message and a non-zero exit', async () => {
    const err = await run(process.execPath, [BIN, '--k', 'zero']).catch((e: { code: number; stderr: string }) => e)
    expect((err as { code: number }).code).not.toBe(0)
    expect((err as { stderr: string }).stderr).toMatch(/--k.*positive integer/)
    const tooBig = await run(process.execPath, [BIN, '--max-k', '500', '--port', '0']).catch((e: { code: number; stderr: string }) => e)
    expect((tooBig as { code: number }).code).toBe(2)
    expect((tooBig as { stderr: string }).stderr).toMatch(/maxK and maxK1 must be at most 64/)
  })
})
