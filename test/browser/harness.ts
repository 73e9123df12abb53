// Browser test harness: build test pages with the project's Vite config, serve
// them on 127.0.0.1, and drive Debian's Chromium through playwright-core.
//
// Typical use in a vitest file (run in Node, inside scripts/netns.sh):
//
//   const harness = await startHarness({ source: 'test/browser/source.page.ts', viewer: 'test/browser/viewer.page.ts' })
//   const { page } = await harness.open('source')
//   ...
//   await harness.close()
//
// Each page entry is a browser module; it sets `globalThis.__munroReady = true`
// when it has finished its top-level setup (openPage waits for that).

import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { extname, isAbsolute, join, normalize, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { build } from 'vite'

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Flags for Chromium inside the test network namespace: host candidates are
 * real addresses (no mDNS obfuscation, which the namespace cannot resolve),
 * and nothing phones home.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

// ------------------------------------------------------------ preconditions

/** Throws unless this process runs inside scripts/netns.sh (all WebRTC must). */
export function assertIsolatedNetwork(): void {
  if (process.env.MUNRO_IN_NETNS || process.env.MUNRO_NO_NETNS) return
  throw new Error('WebRTC tests must run in an isolated network namespace: bash scripts/netns.sh <command>')
}

/** Chromium's path: $CHROMIUM_PATH, else /usr/bin/chromium. Throws with the fix if missing. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
  if (!existsSync(path)) {
    throw new Error(`Chromium not found at ${path}: apt-get install -y chromium, or set CHROMIUM_PATH to a Chromium binary`)
  }
  return path
}

// ----------------------------------------------------------------- building

export interface BuiltPages {
  /** Directory holding `<name>.html` and the bundles. */
  dir: string
  /** Page file names, by the names given to buildPages. */
  pages: Record<string, string>
  /** Removes the directory. */
  cleanup(): Promise<void>
}

/**
 * Bundles browser entry modules with the project's vite.config.ts (so pages
 * resolve dependencies exactly as the library build does) into a temporary
 * directory, with one `<name>.html` per entry. Entries share chunks.
 */
export async function buildPages(entries: Record<string, string>, options: { minify?: boolean } = {}): Promise<BuiltPages> {
  const names = Object.keys(entries)
  if (names.length === 0) throw new Error('buildPages: no entries')
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new Error(`buildPages: page name ${JSON.stringify(name)} must be [a-z0-9_-]+`)
  }
  const input = Object.fromEntries(names.map((name) => [name, absolute(entries[name]!)]))
  const dir = await mkdtemp(join(tmpdir(), 'munro-pages-'))
  try {
    await build({
      configFile: join(REPO_ROOT, 'vite.config.ts'),
      root: REPO_ROOT,
      logLevel: 'warn',
      mode: 'production',
      build: {
        lib: false,
        outDir: dir,
        emptyOutDir: false,
        copyPublicDir: false,
        sourcemap: true,
        minify: options.minify ?? false,
        reportCompressedSize: false,
        rolldownOptions: {
          input,
          output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunk-[name]-[hash].js' }
        }
      }
    })
    const pages: Record<string, string> = {}
    for (const name of names) {
      pages[name] = `${name}.html`
      await writeFile(
        join(dir, pages[name]),
        `<!doctype html>\n<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${name}</title></head>\n<body><script type="module" src="./${name}.js"></script></body></html>\n`
      )
    }
    return { dir, pages, cleanup: () => rm(dir, { recursive: true, force: true }) }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}

/** buildPages for one entry, served as `index.html`. */
export function buildPage(entry: string, options: { minify?: boolean } = {}): Promise<BuiltPages> {
  return buildPages({ index: entry }, options)
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path)
}

// ------------------------------------------------------------------ serving

export interface StaticServer {
  /** Base URL with a trailing slash, e.g. http://127.0.0.1:40123/ */
  url: string
  close(): Promise<void>
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm'
}

/**
 * Headers that make a page cross-origin isolated, which gives it a 5 µs
 * performance.now() (100 µs otherwise) and SharedArrayBuffer: for benchmarks.
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp'
}

/** Serves `dir` read-only on 127.0.0.1 at an ephemeral port, with `headers` on every response. */
export async function serveDir(dir: string, options: { headers?: Record<string, string> } = {}): Promise<StaticServer> {
  const extraHeaders = options.headers ?? {}
  const root = resolve(dir)
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const relative = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)
    const file = normalize(join(root, relative))
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { ...extraHeaders, 'content-type': type, 'cache-control': 'no-store' })
      res.end(body)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed')
    if (file !== root && !file.startsWith(root + sep)) return send(403, 'forbidden')
    stat(file)
      .then((info) => (info.isFile() ? readFile(file) : Promise.reject(new Error('not a file'))))
      .then((body) => send(200, body, CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'))
      .catch(() => send(404, 'not found'))
  })
  // Keep-alive sockets would hold close() open.
  server.keepAliveTimeout = 1_000
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolveListen())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections()
        server.close(() => resolveClose())
      })
  }
}

// ---------------------------------------------------------------- browsing

/** Launches headless Chromium with CHROMIUM_ARGS (plus `args`). Refuses outside the network namespace. */
export async function launchBrowser(options: { args?: string[]; timeoutMs?: number } = {}): Promise<Browser> {
  assertIsolatedNetwork()
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    timeout: options.timeoutMs ?? 30_000
  })
}

export interface OpenedPage {
  page: Page
  context: BrowserContext
  /** Uncaught exceptions and console.error lines from the page, in order. */
  errors: string[]
  /** Closes the page's context. */
  close(): Promise<void>
}

export interface OpenPageOptions {
  /** Runs after the page exists and before it navigates: the place for page.exposeFunction. */
  beforeLoad?: (page: Page) => Promise<unknown>
  /** How long to wait for `globalThis.__munroReady === true`. Default 15 s. */
  readyTimeoutMs?: number
  /** Print the page's console to this process's stderr (also: MUNRO_BROWSER_LOG=1). */
  log?: boolean
}

/**
 * Opens `url` in a fresh browser context (pages do not share storage) and
 * waits until the page module sets `globalThis.__munroReady = true`.
 */
export async function openPage(browser: Browser, url: string, options: OpenPageOptions = {}): Promise<OpenedPage> {
  const context = await browser.newContext()
  const page = await context.newPage()
  const errors: string[] = []
  const log = options.log ?? process.env.MUNRO_BROWSER_LOG === '1'
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`)
    if (log) process.stderr.write(`[${new URL(url).pathname}] ${msg.type()}: ${msg.text()}\n`)
  })
  try {
    if (options.beforeLoad) await options.beforeLoad(page)
    await page.goto(url)
    await page.waitForFunction(() => (globalThis as { __munroReady?: boolean }).__munroReady === true, undefined, {
      timeout: options.readyTimeoutMs ?? 15_000
    })
  } catch (err) {
    await context.close().catch(() => {})
    const detail = errors.length > 0 ? `\n${errors.join('\n')}` : ''
    throw new Error(`openPage ${url}: ${(err as Error).message}${detail}`, { cause: err })
  }
  return { page, context, errors, close: () => context.close() }
}

/** Methods of a page API object, as callable from Node. */
export type PageCaller<Api> = <M extends keyof Api & string>(
  method: M,
  ...args: Api[M] extends (...a: infer A) => unknown ? A : never
) => Promise<Api[M] extends (...a: never[]) => infer R ? Awaited<R> : never>

/**
 * Calls methods of an object a page put on `globalThis[globalName]`; arguments
 * and results travel as structured clones (JSON-like values, typed arrays).
 *   const call = pageApi<PeerLinkPageApi>(page, 'munroTest'); await call('createLink', true)
 */
export function pageApi<Api>(page: Page, globalName: string): PageCaller<Api> {
  return ((method: string, ...args: unknown[]) =>
    page.evaluate(
      ([g, m, a]) => {
        const target = (globalThis as unknown as Record<string, Record<string, (...x: unknown[]) => unknown> | undefined>)[g]
        if (target === undefined || typeof target[m] !== 'function') throw new Error(`globalThis.${g}.${m} is not a function`)
        return target[m](...a)
      },
      [globalName, method, args] as const
    )) as PageCaller<Api>
}

// ------------------------------------------------------------------ harness

export interface Harness {
  browser: Browser
  server: StaticServer
  built: BuiltPages
  /** URL of a page built from the entry named `name`. */
  url(name: string): string
  /** openPage on the page named `name`. Every opened page is closed by close(). */
  open(name: string, options?: OpenPageOptions): Promise<OpenedPage>
  /** Closes pages, browser and server, and removes the build. Safe to call twice. */
  close(): Promise<void>
}

export interface HarnessOptions {
  /** Minify the pages (default false: readable stack traces). */
  minify?: boolean
  /** Extra response headers, e.g. CROSS_ORIGIN_ISOLATION_HEADERS. */
  headers?: Record<string, string>
  /** Extra Chromium flags. */
  browserArgs?: string[]
}

/** buildPages + serveDir + launchBrowser, and one close() for all of it. */
export async function startHarness(entries: Record<string, string>, options: HarnessOptions = {}): Promise<Harness> {
  assertIsolatedNetwork()
  const built = await buildPages(entries, { minify: options.minify ?? false })
  let server: StaticServer | undefined
  let browser: Browser | undefined
  try {
    server = await serveDir(built.dir, { headers: options.headers ?? {} })
    browser = await launchBrowser({ args: options.browserArgs ?? [] })
  } catch (err) {
    await server?.close()
    await built.cleanup()
    throw err
  }
  const opened = new Set<OpenedPage>()
  let closed = false
  const harness: Harness = {
    browser,
    server,
    built,
    url(name) {
      const file = built.pages[name]
      if (file === undefined) throw new Error(`no page named ${JSON.stringify(name)}; built: ${Object.keys(built.pages).join(', ')}`)
      return server!.url + file
    },
    async open(name, openOptions) {
      const page = await openPage(browser!, harness.url(name), openOptions)
      opened.add(page)
      return page
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.allSettled([...opened].map((p) => p.close()))
      await browser!.close().catch(() => {})
      await server!.close()
      await built.cleanup()
    }
  }
  return harness
}
