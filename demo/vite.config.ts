import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, defineConfig, type Plugin } from 'vite'
import { simplePeerForBrowsers } from '../vite.config.js'

/**
 * The <script> example needs the library's global build next to it: build it
 * (the `script` mode of the root config, as `npm run build:sdk` makes it) into the demo's output.
 */
const here = fileURLToPath(new URL('.', import.meta.url))

function scriptBuild(): Plugin {
  let outDir = ''
  return {
    name: 'munro:demo-script-build',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir)
    },
    async closeBundle() {
      const root = resolve(here, '..')
      await build({
        configFile: resolve(root, 'vite.config.ts'),
        root,
        mode: 'script',
        logLevel: 'warn',
        build: {
          outDir: resolve(outDir, 'lib'),
          emptyOutDir: false,
          lib: { entry: resolve(root, 'src/index.ts'), name: 'Munro', formats: ['iife'], fileName: () => 'munro.iife.js' }
        }
      })
    }
  }
}

// The demo pages, built into signaling-server/dist/demo by `npm run build -w munro-signal`
// and served by munro-signal (`npm start`, `npx munro-signal`):
// index.html broadcasts, watch.html plays, script-tag.html plays with only the global build.
export default defineConfig({
  root: 'demo',
  plugins: [simplePeerForBrowsers(), scriptBuild()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    rolldownOptions: {
      input: {
        index: resolve(here, 'index.html'),
        watch: resolve(here, 'watch.html'),
        'script-tag': resolve(here, 'script-tag.html')
      }
    }
  }
})
