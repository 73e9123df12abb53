import type { Plugin } from 'vite'
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

// One config for the library build (ESM + a <script> build exposing `Munro`)
// and for vitest.
export default defineConfig({
  plugins: [simplePeerForBrowsers()],
  optimizeDeps: {
    // The dev server pre-bundles the UMD like any CommonJS dependency.
    include: ['simple-peer/simplepeer.min.js']
  },
  build: {
    outDir: 'dist/lib',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    lib: {
      entry: 'src/index.ts',
      name: 'Munro',
      formats: ['es', 'iife'],
      fileName: (format) => (format === 'es' ? 'munro.js' : 'munro.iife.js')
    }
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
})
