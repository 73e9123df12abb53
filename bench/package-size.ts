// Bundle size as an application sees it: pack and install munro as a user
// would (test/packaging/installed.ts), build minimal Vite apps that import it,
// and gzip what they ship. Budget (issue 10): a viewer-only app ≤ 64 kB gzip.
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { exec, installPackages, userEnv } from '../test/packaging/installed.js'

export const VIEWER_APP_BUDGET_BYTES = 64 * 1024

const APPS: Record<string, string> = {
  viewer: `import { joinTree } from 'munro'\nconst viewer = await joinTree(location.hash.slice(1), { signal: location.origin })\nfor await (const m of viewer.messages()) document.body.append(String(m.data.length))\n`,
  full: `import { createSource, joinTree } from 'munro'\nconst source = await createSource({ signal: location.origin })\nsource.write('x')\nconst viewer = await joinTree(source.treeId, { signal: location.origin })\nviewer.on('message', (m) => document.body.append(String(m.index)))\n`
}

async function gzipOf(dir: string): Promise<{ raw: number; gzip: number }> {
  let raw = 0
  let gzip = 0
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js'))) {
    const bytes = await readFile(join(dir, file))
    raw += bytes.length
    gzip += gzipSync(bytes).length
  }
  return { raw, gzip }
}

export interface PackageSizeResult {
  apps: Record<string, { raw: number; gzip: number }>
  iife: { raw: number; gzip: number }
  tarballs: Record<string, { packed: number; unpacked: number; files: number }>
}

export async function runPackageSizeBench(): Promise<PackageSizeResult> {
  const project = await installPackages(['vite'])
  try {
    const apps: PackageSizeResult['apps'] = {}
    for (const [name, code] of Object.entries(APPS)) {
      const src = join(project.dir, `${name}-app`)
      await mkdir(src)
      await writeFile(join(src, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="./main.js"></script>')
      await writeFile(join(src, 'main.js'), code)
      const out = join(project.dir, `${name}-dist`)
      await exec(join(project.dir, 'node_modules/.bin/vite'), ['build', src, '--outDir', out, '--logLevel', 'warn'], { cwd: project.dir, env: userEnv() })
      apps[name] = await gzipOf(join(out, 'assets'))
    }
    const iife = await readFile(join(project.dir, 'node_modules/munro/dist/munro.iife.js'))
    const tarballs = Object.fromEntries(project.packed.map((p) => [p.name, { packed: p.size, unpacked: p.unpackedSize, files: p.files.length }]))
    return { apps, iife: { raw: iife.length, gzip: gzipSync(iife).length }, tarballs }
  } finally {
    await project.close()
  }
}

const kB = (n: number) => `${(n / 1024).toFixed(1)} kB`

export function formatPackageSizeBench(r: PackageSizeResult): string {
  const viewer = r.apps.viewer!.gzip
  return [
    'package size (installed from the packed tarballs; Vite app builds, JS gzip level 6)',
    ...Object.entries(r.apps).map(([name, s]) => `  ${(name + '-only Vite app').padEnd(28)} ${kB(s.gzip)} gzip (${kB(s.raw)} min)`.replace('full-only', 'full SDK')),
    `  ${'munro.iife.js (<script>)'.padEnd(28)} ${kB(r.iife.gzip)} gzip (${kB(r.iife.raw)} min)`,
    ...Object.entries(r.tarballs).map(([name, t]) => `  ${(name + ' tarball').padEnd(28)} ${kB(t.packed)} packed, ${kB(t.unpacked)} unpacked, ${t.files} files`),
    `  viewer app budget ${kB(VIEWER_APP_BUDGET_BYTES)}: ${viewer <= VIEWER_APP_BUDGET_BYTES ? 'met' : `OVER by ${kB(viewer - VIEWER_APP_BUDGET_BYTES)}`}`
  ].join('\n')
}
