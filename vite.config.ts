import { readFileSync } from 'node:fs'
import type { Plugin, UserConfig } from 'vite'
import { defineConfig } from 'vitest/config'
import { simplePeerForBrowsers } from './scripts/simple-peer-browser.js'

// The demo's config and the browser test pages build with the same plugin.
export { simplePeerForBrowsers }

const dependencies = Object.keys((JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }).dependencies)
/** A dependency or one of its subpaths (`@noble/hashes/sha2.js`). */
const isDependency = (id: string): boolean => dependencies.some((name) => id === name || id.startsWith(name + '/'))

/**
 * The files of the published SDK, one `vite build --mode <name>` each
 * (`npm run build:sdk`):
 * - `browser`: dist/munro.js, ESM for bundlers; dependencies stay imports so an
 *   application's bundler can dedupe and tree-shake them, except simple-peer,
 *   which comes as dist/simple-peer.js: its browser build without the Node
 *   shims munro never runs (scripts/simple-peer-browser.ts), so that an
 *   application's bundler never meets its Node-only source.
 * - `node`: dist/munro.node.js, the same with simple-peer's real package, and
 *   socket.io-client resolved by Node (its `ws` transport: Node 20 has no global WebSocket).
 * - `script`: dist/munro.iife.js, self-contained and minified for a `<script>` tag (global `Munro`).
 * No source maps: the package ships no sources for them to point at; the ESM files are not minified.
 */
interface LibBuild {
  fileName: string
  format: 'es' | 'iife'
  plugins: Plugin[]
  external: (id: string) => boolean
  /** Put simple-peer's browser build in a file of its own, dist/simple-peer.js. */
  simplePeerFile?: boolean
}

const LIB_BUILDS: Record<string, LibBuild> = {
  browser: {
    fileName: 'munro.js',
    format: 'es',
    plugins: [simplePeerForBrowsers()],
    external: (id) => isDependency(id) && !/^simple-peer(\/|$)/.test(id),
    simplePeerFile: true
  },
  node: { fileName: 'munro.node.js', format: 'es', plugins: [], external: isDependency },
  script: { fileName: 'munro.iife.js', format: 'iife', plugins: [simplePeerForBrowsers()], external: () => false }
}

function libraryBuild(mode: string): UserConfig {
  const target = LIB_BUILDS[mode]!
  return {
    plugins: target.plugins,
    build: {
      outDir: 'dist',
      // The builds share dist/: each replaces only its own files.
      emptyOutDir: false,
      sourcemap: false,
      minify: target.format === 'iife',
      target: 'es2022',
      lib: {
        entry: 'src/index.ts',
        name: 'Munro',
        formats: [target.format],
        fileName: () => target.fileName
      },
      rolldownOptions: {
        external: target.external,
        output: target.simplePeerFile
          ? { codeSplitting: { groups: [{ name: 'simple-peer', test: /node_modules|\0munro:simple-peer:|\0rolldown\/runtime/ }] }, chunkFileNames: '[name].js' }
          : {}
      }
    }
  }
}

// One config for the library builds (by mode), for vitest, and for the browser test pages' builds.
export default defineConfig(({ mode }) =>
  LIB_BUILDS[mode]
    ? libraryBuild(mode)
    : {
        plugins: [simplePeerForBrowsers()],
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
