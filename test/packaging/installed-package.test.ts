// The packed packages, installed into a fresh project outside the repository,
// used the way the README tells a user to: on Node 20.19.0 (the oldest the
// packages claim), from TypeScript with skipLibCheck off, from a Vite app, from
// a <script> tag in Chromium, and `npx munro-signal`.
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VIEWER_APP_BUDGET_BYTES } from '../../bench/package-size.js'
import { launchBrowser } from '../browser/harness.js'
import { exec, installPackages, lockClosure, userEnv, type InstalledProject } from './installed.js'

const SERVER_PACKAGES = ['socket.io', 'engine.io', 'pino', 'prom-client', 'commander', '@types/node', '@types/cors', 'cors']

let project: InstalledProject
let server: { child: ChildProcess; url: string } | undefined
let browser: Browser | undefined
/** PATH with Node 20.19.0 first, so `npx` and `#!/usr/bin/env node` bins run on it. */
let oldestPath: string

beforeAll(async () => {
  project = await installPackages(['@roamhq/wrtc', 'typescript', 'vite'])
  oldestPath = `${dirname(project.oldestNode)}:${process.env.PATH ?? ''}`
}, 300_000)

afterAll(async () => {
  await browser?.close()
  server?.child.kill('SIGTERM')
  await project?.close()
})

function run(command: string, args: string[], options: { env?: Record<string, string>; timeout?: number } = {}) {
  return exec(command, args, { cwd: project.dir, env: userEnv({ PATH: oldestPath, ...options.env }), timeout: options.timeout ?? 60_000 })
}

/** The installed munro-signal on Node 20.19.0, on a free loopback port. */
function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(project.oldestNode, ['node_modules/munro-signal/bin/munro-signal.js', '--port', '0', '--host', '127.0.0.1', '--log-level', 'info', ...args], {
    cwd: project.dir,
    env: userEnv(),
    stdio: ['ignore', 'pipe', 'inherit']
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('munro-signal did not start'))
    }, 20_000)
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      const port = /"port":(\d+)/.exec(text)?.[1]
      if (!port) return
      clearTimeout(timer)
      resolve({ child, url: `http://127.0.0.1:${port}` })
    })
    child.once('exit', (code) => reject(new Error(`munro-signal exited with ${code}`)))
  })
}

describe('the packed tarballs', () => {
  it('hold only what users need: builds and types, no source maps, no sources, no tests', async () => {
    const files = (name: string) => project.packed.find((p) => p.name === name)!.files.map((f) => f.path)
    const sdk = files('munro')
    expect(sdk).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/munro.js', 'dist/simple-peer.js', 'dist/munro.node.js', 'dist/munro.iife.js', 'dist/types/index.d.ts']))
    const signal = files('munro-signal')
    expect(signal).toEqual(expect.arrayContaining(['bin/munro-signal.js', 'dist/signaling-server/index.js', 'dist/signaling-server/cli.js', 'dist/demo/index.html']))
    for (const path of [...sdk, ...signal]) expect(path).not.toMatch(/\.map$|\.ts$(?<!\.d\.ts)|^test\/|^src\//)
    // The SDK is shipped once (the ESM build's simple-peer in its own file), and none of the server is in it.
    expect(sdk.filter((p) => p.endsWith('.js'))).toEqual(['dist/munro.iife.js', 'dist/munro.js', 'dist/munro.node.js', 'dist/simple-peer.js'])
    // Nor does any shipped file point at a map (or a source) that is not there.
    for (const [name, paths] of [['munro', sdk], ['munro-signal', signal]] as const) {
      for (const path of paths.filter((p) => p.endsWith('.js'))) {
        const text = await readFile(join(project.dir, 'node_modules', name, path), 'utf8')
        expect(text.includes('sourceMappingURL'), `${name}/${path} names a source map`).toBe(false)
      }
    }
  })

  it('install nothing of the server for a browser-only user', async () => {
    const sdk = JSON.parse(await readFile(join(project.dir, 'node_modules/munro/package.json'), 'utf8')) as { dependencies: Record<string, string> }
    const lock = JSON.parse(await readFile(join(import.meta.dirname, '../../package-lock.json'), 'utf8')) as { packages: Record<string, never> }
    const closure = lockClosure(
      lock.packages,
      Object.keys(sdk.dependencies).map((name) => ({ name, from: '', optional: false }))
    )
    const names = Object.keys(closure).map((path) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
    console.log(`browser-only install of munro: ${names.length} packages`)
    for (const server of SERVER_PACKAGES) expect(names).not.toContain(server)
    expect(names).toEqual(expect.arrayContaining(['socket.io-client', 'simple-peer', 'valibot']))
  })
})

describe('munro on Node 20.19.0', () => {
  it('is the oldest Node the packages claim', async () => {
    const { stdout } = await run(project.oldestNode, ['--version'])
    expect(stdout.trim()).toBe('v20.19.0')
    for (const name of ['munro', 'munro-signal']) {
      const manifest = JSON.parse(await readFile(join(project.dir, 'node_modules', name, 'package.json'), 'utf8')) as { engines: { node: string } }
      expect(manifest.engines.node).toBe('>=20.19')
    }
  })

  it('runs the README Node example as written: a source and three viewers over WebRTC, 10 messages each', async () => {
    server = await startServer(['--no-static'])
    const readme = await readFile(join(project.dir, 'node_modules/munro/README.md'), 'utf8')
    const example = /<!-- node-example[^\n]*-->\n```js\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(example, 'the README has a Node example block').toBeDefined()
    await writeFile(join(project.dir, 'example.mjs'), example!)
    const { stdout } = await run(project.oldestNode, ['example.mjs'], { env: { MUNRO_SIGNAL: server.url }, timeout: 60_000 })
    const expected = Array.from({ length: 10 }, (_, i) => `message ${i + 1}`).join(', ')
    const lines = stdout.trim().split('\n').sort()
    expect(lines).toEqual([1, 2, 3].map((n) => `viewer ${n}: ${expected}`))
  }, 90_000)

  it('npx munro-signal answers --help and --version from the installed package', async () => {
    const version = JSON.parse(await readFile(join(project.dir, 'node_modules/munro-signal/package.json'), 'utf8')).version as string
    expect((await run('npx', ['--offline', 'munro-signal', '--version'])).stdout.trim()).toBe(version)
    const help = (await run('npx', ['--offline', 'munro-signal', '--help'])).stdout
    for (const flag of ['--port', '--static', '--no-static', '--version', 'MUNRO_PORT', '/healthz']) expect(help).toContain(flag)
  })

  it('munro-signal serves its demo page at /, and a page naming its endpoints with --no-static', async () => {
    const demo = await startServer([])
    try {
      const page = await (await fetch(demo.url + '/')).text()
      // The page's entry script and the chunks it preloads (the demo's pages share one SDK chunk).
      const scripts = [...page.matchAll(/(?:src|href)="([^"]+\.js)"/g)].map((m) => m[1]!)
      expect(scripts.length, 'the demo page loads its script').toBeGreaterThan(0)
      let code = ''
      for (const script of scripts) {
        const js = await fetch(new URL(script, demo.url))
        expect(js.status).toBe(200)
        expect(js.headers.get('content-type')).toContain('javascript')
        code += await js.text()
      }
      // The demo bundles the SDK, simple-peer included.
      expect(code.includes('RTCPeerConnection')).toBe(true)
    } finally {
      demo.child.kill('SIGTERM')
    }
    const bare = await fetch(server!.url + '/')
    expect(bare.status).toBe(200)
    expect(await bare.text()).toContain('/healthz')
  })
})

describe('munro types', () => {
  it('compile under strict with skipLibCheck off, with only the declared dependencies', async () => {
    const dir = join(project.dir, 'types-check')
    await mkdir(dir)
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] },
        files: ['check.ts']
      })
    )
    await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
    await writeFile(
      join(dir, 'check.ts'),
      `import { createSource, joinTree, isMunroError, ErrorCode, SignalingClientError, type MunroMessage, type PeerStats } from 'munro'

const source = await createSource({ signal: 'http://127.0.0.1:8080', k1: 10, k: 4, iceServers: [] })
source.write('text')
source.write(new Uint8Array(4), { startPoint: true })
const viewer = await joinTree(source.treeId, { signal: 'http://127.0.0.1:8080' })
viewer.on('message', (m: MunroMessage) => console.log(m.index + 1, m.data.byteLength))
viewer.on('stats', (s: PeerStats) => console.log(s.depth))
for await (const m of viewer.messages()) console.log(m.startPoint)
try { viewer.destroy() } catch (err) { if (isMunroError(err) && err.code === ErrorCode.DESTROYED) console.log(err.message) }
const e: SignalingClientError = new SignalingClientError('ERR_SIGNAL_UNREACHABLE', 'x')
console.log(e.code)
// The types are real, not any: each misuse below must be an error.
// @ts-expect-error signal is required
await createSource({})
// @ts-expect-error index is a number
viewer.on('message', (m) => { const s: string = m.index; console.log(s) })
// @ts-expect-error no such event
viewer.on('no-such-event', () => {})
`
    )
    const result = await run(join(project.dir, 'node_modules/.bin/tsc'), ['-p', dir]).catch((err: { stdout: string }) => err)
    expect('stdout' in result ? result.stdout : '').toBe('')
  }, 90_000)
})

describe('munro in the browser', () => {
  it('a Vite viewer app and a <script> source page, both from the installed package, stream in Chromium', async () => {
    // The viewer: a minimal Vite app that imports munro.
    const app = join(project.dir, 'viewer-app')
    await mkdir(app)
    await writeFile(join(app, 'index.html'), '<!doctype html><meta charset="utf-8"><title>viewer</title><script type="module" src="./main.js"></script>')
    await writeFile(
      join(app, 'main.js'),
      `import { joinTree } from 'munro'
const viewer = await joinTree(location.hash.slice(1), { signal: location.origin, iceServers: [] })
window.received = []
for await (const m of viewer.messages()) window.received.push(new TextDecoder().decode(m.data))
`
    )
    await run(join(project.dir, 'node_modules/.bin/vite'), ['build', app, '--base', './', '--outDir', join(project.dir, 'site/viewer'), '--logLevel', 'warn'], { timeout: 120_000 })
    const assets = join(project.dir, 'site/viewer/assets')
    const js = (await readdir(assets)).filter((f) => f.endsWith('.js'))
    const appGzip = (await Promise.all(js.map(async (f) => gzipSync(await readFile(join(assets, f))).length))).reduce((a, b) => a + b, 0)
    // The source: a page with no bundler, only the installed <script> build.
    await mkdir(join(project.dir, 'site/source'))
    const iife = join(project.dir, 'node_modules/munro/dist/munro.iife.js')
    await copyFile(iife, join(project.dir, 'site/source/munro.iife.js'))
    await writeFile(join(project.dir, 'site/source/index.html'), '<!doctype html><meta charset="utf-8"><script src="munro.iife.js"></script>')
    // A bundler shares and tree-shakes what the self-contained file must carry whole.
    const iifeGzip = gzipSync(await readFile(iife)).length
    console.log(`viewer-only Vite app: ${(appGzip / 1024).toFixed(1)} kB gzip; munro.iife.js: ${(iifeGzip / 1024).toFixed(1)} kB gzip`)
    expect(appGzip).toBeLessThan(iifeGzip)
    // The size budget, checked where CI runs it (the bench prints the same app's figures).
    expect(appGzip, `viewer app ${appGzip} B gzip, budget ${VIEWER_APP_BUDGET_BYTES} B`).toBeLessThanOrEqual(VIEWER_APP_BUDGET_BYTES)

    const site = await startServer(['--static', join(project.dir, 'site')])
    try {
      browser = await launchBrowser()
      const sourcePage = await (await browser.newContext()).newPage()
      await sourcePage.goto(site.url + '/source/')
      const treeId = await sourcePage.evaluate(async (url) => {
        const M = (globalThis as any).Munro
        const source = await M.createSource({ signal: url, iceServers: [] })
        ;(globalThis as any).source = source
        return source.treeId as string
      }, site.url)
      const viewerPage = await (await browser.newContext()).newPage()
      await viewerPage.goto(`${site.url}/viewer/#${treeId}`)
      await sourcePage.waitForFunction(() => (globalThis as any).source.children.length === 1, null, { timeout: 30_000 })
      await sourcePage.evaluate(() => {
        for (let i = 1; i <= 10; i++) (globalThis as any).source.write(`message ${i}`, { startPoint: i === 1 })
      })
      await viewerPage.waitForFunction(() => ((globalThis as any).received ?? []).length >= 10, null, { timeout: 30_000 })
      expect(await viewerPage.evaluate(() => (globalThis as any).received)).toEqual(Array.from({ length: 10 }, (_, i) => `message ${i + 1}`))
    } finally {
      site.child.kill('SIGTERM')
    }
  }, 120_000)
})
