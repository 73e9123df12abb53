// The plain-HTTP side of the server: health, metrics and (optionally) a
// static folder, used by `npm start` to serve the demo page.
import { createReadStream } from 'node:fs'
import { pipeline } from 'node:stream'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import type { ServerMetrics } from './metrics.js'

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm'
}

export interface HttpRoutesOptions {
  metrics: ServerMetrics
  health: () => Record<string, unknown>
  /** The shape of one tree, or undefined if there is no such tree. */
  tree: (treeId: string) => Promise<unknown | undefined>
  staticDir?: string
}

/**
 * Returns a request handler for /healthz, /metrics, /trees/<id> and static files. It
 * answers true when it handled the request, so it can be mounted beside an
 * application's own routes on a shared http server.
 */
export function createHttpRoutes(options: HttpRoutesOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const root = options.staticDir ? resolve(options.staticDir) : undefined
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    if (url.pathname === '/healthz') {
      send(res, 200, 'application/json', JSON.stringify({ status: 'ok', ...options.health() }))
      return true
    }
    if (url.pathname === '/metrics') {
      send(res, 200, options.metrics.registry.contentType, await options.metrics.registry.metrics())
      return true
    }
    const treeMatch = /^\/trees\/([A-Za-z0-9_-]{43})$/.exec(url.pathname)
    if (treeMatch) {
      const tree = await options.tree(treeMatch[1]!)
      if (tree === undefined) send(res, 404, 'application/json', JSON.stringify({ error: 'ERR_TREE_NOT_FOUND' }))
      else send(res, 200, 'application/json', JSON.stringify(tree))
      return true
    }
    if (root && (await serveStatic(root, url.pathname, res))) return true
    if (url.pathname !== '/') return false
    // Someone opening the server's address learns what it is, not just "not found".
    send(res, 200, 'text/html; charset=utf-8', INDEX_PAGE)
    return true
  }
}

const INDEX_PAGE = `<!doctype html><meta charset="utf-8"><title>munro-signal</title>
<h1>munro-signal</h1>
<p>A signaling server for munro (WebRTC live streaming over a tree of peers). Point the SDK's <code>signal</code> option at this address.</p>
<ul><li><a href="/healthz">/healthz</a>: status</li><li><a href="/metrics">/metrics</a>: Prometheus metrics</li><li>/trees/&lt;id&gt;: the shape of one tree</li></ul>
`

async function serveStatic(root: string, pathname: string, res: ServerResponse): Promise<boolean> {
  let relative: string
  try {
    relative = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '')
  } catch {
    return false
  }
  let file = join(root, relative)
  if (file !== root && !file.startsWith(root + sep)) return false
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html')
    const info = await stat(file)
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': 'no-cache'
    })
    // pipeline() turns a read error (a file that vanished, or is not readable) into an aborted response, not a crash.
    pipeline(createReadStream(file), res, () => {})
    return true
  } catch {
    return false
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
