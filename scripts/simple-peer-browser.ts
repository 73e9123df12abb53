// simple-peer for browser builds: its own source (index.js), with the Node
// built-ins it expects supplied the way a browser has them, and without the
// Node-compatibility code that munro never runs.
//
// Why not simple-peer's prebuilt simplepeer.min.js (what browser builds used
// before): it carries a browserify set of Node shims (Buffer, events, process,
// the whole readable-stream with its string decoder, async iterator, pipeline
// and transform streams) and the `debug` logger: 28 of a viewer app's 70 kB
// gzip. munro uses simple-peer for the connection only. PeerLink
// (src/transport/peer-link.ts) takes over the data channel from construction
// on (`_onChannelMessage`, `_channel.send`), so simple-peer's stream never
// carries a byte: no Buffer is ever made, no chunk is ever read or written.
// What simple-peer needs to be constructed, signal and be destroyed remains.
//
// Used by every browser build of the repository (vite.config.ts): the ESM
// build for bundlers (as its own file, dist/simple-peer.js), the `<script>`
// build, the demo and the browser test pages, so the browser suites run
// exactly this. Node builds use the package as it is.
//
// What changes, for modules of simple-peer's dependency tree only:
// - `debug`, simple-peer's only logger, is a no-op (its logs showed only when
//   `localStorage.debug` named them).
// - `readable-stream` gives simple-peer its `Duplex` only.
// - Node's Buffer (the `buffer` package) and the stream features loaded for
//   data (setEncoding's string decoder, async iteration, Readable.from) are
//   left out: anything reaching them throws a clear error instead of shipping
//   ≈ 9 kB gzip for a path munro never takes.
// - `randombytes` (simple-peer's ids: `randombytes(n).toString('hex')`) is the
//   browser's crypto.getRandomValues, which its browser build wraps in a Buffer.
// - `events` is eventemitter3, which munro ships anyway: it has Node's
//   EventEmitter API that readable-stream uses (on, once, emit, listeners,
//   listenerCount); only pipe()'s fallback for emitters without
//   prependListener would differ, and munro never pipes the stream.
// - the free globals `process` (readable-stream calls `process.nextTick`) and
//   `global` get a microtask-based nextTick and `globalThis`.
import { readFileSync } from 'node:fs'
import type { Plugin } from 'vite'

const PREFIX = '\0munro:simple-peer:'
const ENTRY = `${PREFIX}entry`
const NO_DEBUG = `${PREFIX}debug`
const DUPLEX_ONLY = `${PREFIX}readable-stream`
const RANDOM_BYTES = `${PREFIX}randombytes`
const EVENTS = `${PREFIX}events`
const NOT_SHIPPED = `${PREFIX}not-shipped`

export const NOT_SHIPPED_MESSAGE =
  "munro's browser build of simple-peer has no Node Buffer or stream data path: PeerLink moves data on the data channel itself"

const VIRTUAL_MODULES: Record<string, string> = {
  // What `import SimplePeer from 'simple-peer'` gets: an ES module, so the CommonJS interop stays in simple-peer's own file.
  [ENTRY]: "import SimplePeer from 'simple-peer/index.js'\nexport default SimplePeer",
  [NO_DEBUG]: 'module.exports = function debug() { return function log() {} }',
  [DUPLEX_ONLY]: "exports.Duplex = require('readable-stream/lib/_stream_duplex.js')",
  [RANDOM_BYTES]: [
    'module.exports = function randomBytes(size) {',
    '  var bytes = crypto.getRandomValues(new Uint8Array(size))',
    "  return { toString: function () { return Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0') }).join('') } }",
    '}'
  ].join('\n'),
  // An ES import, so that where eventemitter3 stays external (the ESM build) the application's bundler resolves it once for munro and simple-peer.
  [EVENTS]: "export { EventEmitter } from 'eventemitter3'",
  // Stands in for `buffer` (its Buffer's every method throws), `string_decoder` (its StringDecoder throws)
  // and readable-stream's async iterator and Readable.from (they throw when called).
  [NOT_SHIPPED]: [
    `function notShipped() { throw new Error(${JSON.stringify(NOT_SHIPPED_MESSAGE)}) }`,
    'module.exports = notShipped',
    'notShipped.Buffer = new Proxy({}, { get: function () { return notShipped } })',
    'notShipped.StringDecoder = notShipped'
  ].join('\n')
}

/** Packages of simple-peer's dependency tree whose imports are rewired here (npm names). */
const TREE = /\/node_modules\/(simple-peer|readable-stream|queue-microtask|util-deprecate|inherits)\//
/** What each of them asks for, and what it gets instead. */
const REWIRED: Record<string, Record<string, string>> = {
  'simple-peer': { debug: NO_DEBUG, 'readable-stream': DUPLEX_ONLY, randombytes: RANDOM_BYTES, buffer: NOT_SHIPPED },
  'readable-stream': {
    events: EVENTS,
    buffer: NOT_SHIPPED,
    'string_decoder/': NOT_SHIPPED,
    './internal/streams/async_iterator': NOT_SHIPPED,
    './internal/streams/from': NOT_SHIPPED
  }
}

/** Same-line prelude (so source maps stay true) for modules that use Node's free globals. */
const GLOBALS_PRELUDE =
  'var process = { nextTick: function (fn) { var args = [].slice.call(arguments, 1); queueMicrotask(function () { fn.apply(null, args) }) } }, global = globalThis;'

export function simplePeerForBrowsers(): Plugin {
  return {
    name: 'munro:simple-peer-browser',
    enforce: 'pre',
    applyToEnvironment: (environment) => environment.config.consumer === 'client',
    resolveId(source, importer) {
      // Bundled even where dependencies stay external (the ESM build, see vite.config.ts): its source is not for browsers as is.
      if (source === 'simple-peer') return ENTRY
      const from = importer === undefined ? undefined : TREE.exec(importer)?.[1]
      return (from !== undefined && REWIRED[from]?.[source]) || null
    },
    load(id) {
      return VIRTUAL_MODULES[id] ?? null
    },
    transform(code, id) {
      if (!TREE.test(id) || !/\bprocess\.nextTick\b|\bglobal\b/.test(code)) return null
      return { code: GLOBALS_PRELUDE + code, map: null }
    },
    renderChunk(code, chunk) {
      // dist/simple-peer.js (the ESM build's own file for it) names what it holds and under which licenses.
      if (chunk.name !== 'simple-peer') return null
      return { code: packageBanner(chunk.moduleIds) + code, map: null }
    }
  }
}

/** A comment naming each npm package a chunk holds code of, with its version and license. */
function packageBanner(moduleIds: readonly string[]): string {
  const roots = new Map<string, string>()
  for (const id of moduleIds) {
    const match = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(id)
    if (match) roots.set(match[1]!, match[1]!)
  }
  const lines = [...roots.keys()].sort().map((root) => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { name: string; version: string; license?: string }
    return ` *   ${pkg.name}@${pkg.version} (${pkg.license ?? 'see its package'})`
  })
  return ['/*!', " * simple-peer for browsers, built by munro (scripts/simple-peer-browser.ts). Holds code of:", ...lines, ' */', ''].join('\n')
}
