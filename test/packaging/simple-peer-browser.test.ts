// The browser build of simple-peer that every browser build of munro uses
// (scripts/simple-peer-browser.ts): what it holds, and that it works where a
// browser's globals are all there is. Real WebRTC through it is the browser
// suites' job (test/browser, test/e2e, the installed-package test); here it
// runs in a bare V8 context with a stand-in RTCPeerConnection.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import vm from 'node:vm'
import { build, type Rolldown } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NOT_SHIPPED_MESSAGE, simplePeerForBrowsers } from '../../scripts/simple-peer-browser.js'

const REPO = resolve(import.meta.dirname, '../..')

let dir: string
let chunk: Rolldown.OutputChunk

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'munro-simple-peer-'))
  await writeFile(join(dir, 'entry.js'), "export { default } from 'simple-peer'\n")
  const output = (await build({
    configFile: false,
    root: REPO,
    logLevel: 'silent',
    plugins: [simplePeerForBrowsers()],
    build: { write: false, minify: false, lib: { entry: join(dir, 'entry.js'), formats: ['iife'], name: 'SimplePeer' } }
  })) as Rolldown.RolldownOutput[]
  chunk = output[0]!.output[0]
}, 60_000)

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The npm packages a module list holds code of. */
function packagesOf(moduleIds: string[]): string[] {
  return [...new Set(moduleIds.map((id) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(id)?.[1]).filter((name) => name !== undefined))].sort()
}

/** Runs the build in a context with only what a browser page has that simple-peer's code may touch: no process, global, Buffer or require. */
function loadInBareContext(): { SimplePeer: new (options: object) => Record<string, unknown> & NodeJS.EventEmitter } {
  const context = vm.createContext({ queueMicrotask, crypto: globalThis.crypto, setTimeout, clearTimeout, setInterval, clearInterval, console })
  vm.runInContext(chunk.code, context)
  return context as never
}

class FakePeerConnection {
  close(): void {}
}
const FAKE_WRTC = { RTCPeerConnection: FakePeerConnection, RTCSessionDescription: class {}, RTCIceCandidate: class {} }

describe("munro's browser build of simple-peer", () => {
  it('holds simple-peer and the Duplex it extends, not the Node shims munro never runs', () => {
    expect(packagesOf(chunk.moduleIds)).toEqual(['err-code', 'eventemitter3', 'get-browser-rtc', 'inherits', 'queue-microtask', 'readable-stream', 'simple-peer', 'util-deprecate'])
    const streamModules = chunk.moduleIds.filter((id) => id.includes('/readable-stream/')).map((id) => id.slice(id.indexOf('/readable-stream/') + 17))
    for (const unused of ['lib/_stream_transform.js', 'lib/_stream_passthrough.js', 'lib/internal/streams/pipeline.js', 'lib/internal/streams/async_iterator.js']) {
      expect(streamModules).not.toContain(unused)
    }
  })

  it('constructs, names itself, and is destroyed with only browser globals', async () => {
    const { SimplePeer } = loadInBareContext()
    const peer = new SimplePeer({ initiator: false, wrtc: FAKE_WRTC })
    // simple-peer's id: randombytes(4) in hex, here from crypto.getRandomValues.
    expect(peer._id).toMatch(/^[0-9a-f]{7}$/)
    expect(new SimplePeer({ initiator: false, wrtc: FAKE_WRTC })._id).not.toBe(peer._id)
    const closed = new Promise<void>((done) => peer.once('close', () => done()))
    ;(peer.destroy as () => void)()
    await closed
    expect(peer.destroyed).toBe(true)
  })

  it('fails loudly, with its own message, if anything takes the stream data path it leaves out', () => {
    const { SimplePeer } = loadInBareContext()
    const peer = new SimplePeer({ initiator: false, wrtc: FAKE_WRTC })
    expect(() => (peer.write as (chunk: string) => void)('bytes')).toThrow(NOT_SHIPPED_MESSAGE)
    expect(() => (peer.setEncoding as (encoding: string) => void)('utf8')).toThrow(NOT_SHIPPED_MESSAGE)
    ;(peer.destroy as () => void)()
  })
})
