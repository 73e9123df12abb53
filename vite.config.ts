import { readFileSync } from 'node:fs'
import type { Plugin, UserConfig } from 'vite'
import { defineConfig } from 'vitest/config'

/**
 * Browser builds get simple-peer's prebuilt bundle (simple-peer/simplepeer.min.js,
 * a UMD that carries its own `buffer`, `process`, `events` and `readable-stream`
 * shims) instead of its source, which needs Node built-ins that Vite does not
 * polyfill. Applies to client environments only (library build, dev server,
 * test pages), so Node code and vitest's Node tests keep the real package.
 */
export function simplePeerForBrowsers(): Plugin {
  return {
    name: 'munro:simple-peer-browser',
    enforce: 'pre',
    applyToEnvironment: (environment) => environment.config.consumer === 'client',
    async resolveId(source, importer, options) {
      if (source !== 'simple-peer') return null
      return this.resolve('simple-peer/simplepeer.min.js', importer, { ...options, skipSelf: true })
    }
  }
}

const dependencies = Object.keys((JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies)
/** A dependency or one of its subpaths (`@noble/hashes/sha2.js`). */
const isDependency = (id: string): boolean => dependencies.some((name) => id === name || id.startsWith(name + '/'))

/**
 * The three files of the published SDK, one `vite build --mode <name>` each
 * (`npm run build:sdk`):
 * - `browser`: dist/munro.js, ESM for bundlers; dependencies stay imports so an
 *   application's bundler can dedupe and tree-shake them.
 * - `node`: dist/munro.node.js, the same with simple-peer's real package, and
 *   socket.io-client resolved by Node (its `ws` transport: Node 20 has no global WebSocket).
 * - `script`: dist/munro.iife.js, self-contained and minified for a `<script>` tag (global `Munro`).
 * No source maps: the package ships no sources for them to point at; the ESM files are unminified.
 */
const LIB_BUILDS: Record<string, { fileName: string; plugins: Plugin[]; external: boolean; paths?: Record<string, string> }> = {
  // simple-peer stays external but by its prebuilt bundle, so an application's bundler never meets its Node-only source.
  browser: { fileName: 'munro.js', plugins: [], external: true, paths: { 'simple-peer': 'simple-peer/simplepeer.min.js' } },
  node: { fileName: 'munro.node.js', plugins: [], external: true },
  script: { fileName: 'munro.iife.js', plugins: [simplePeerForBrowsers()], external: false }
}

function libraryBuild(mode: string): UserConfig {
  const target = LIB_BUILDS[mode]!
  return {
    plugins: target.plugins,
    build: {
      outDir: 'dist',
      // Three builds share dist/: each replaces only its own file.
      emptyOutDir: false,
      sourcemap: false,
      minify: !target.external,
      target: 'es2022',
      lib: {
        entry: 'src/index.ts',
        name: 'Munro',
        formats: [target.external ? 'es' : 'iife'],
        fileName: () => target.fileName
      },
      rollupOptions: { external: target.external ? isDependency : [], output: { paths: target.paths ?? {} } }
    }
  }
}

// One config for the library builds (by mode) and for vitest and the test pages' dev servers.
export default defineConfig(({ mode }) =>
  LIB_BUILDS[mode]
    ? libraryBuild(mode)
    : {
        plugins: [simplePeerForBrowsers()],
        optimizeDeps: {
          // The dev server pre-bundles the UMD like any CommonJS dependency.
          include: ['simple-peer/simplepeer.min.js']
        },
        test: {
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // WebRTC tests run many peers each; one file at a time keeps a 2-core machine from dropping UDP under load.
          fileParallelism: false,
          reporters: process.env.CI ? ['default', 'json'] : ['default'],
          outputFile: { json: '.vitest-report.json' }
        }
      }
)
