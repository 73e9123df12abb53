import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, defineConfig, type Plugin } from 'vite'
import { simplePeerForBrowsers } from '../vite.config.js'

/**
 * The <script> example needs the library's global build next to it: build it
 * (exactly as `npm run build:lib` does, IIFE only) into the demo's output.
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

// The demo pages, built into demo/dist and served by munro-signal (`npm start`):
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
