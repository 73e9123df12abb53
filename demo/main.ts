// The demo: broadcast a live ticker (and chat lines) to a tree of browsers, or
// watch one, and show this peer's stats and the whole tree as the server sees it.
import { createSource, joinTree, type MunroSource, type MunroViewer, type PeerStats } from '../src/index.js'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const server = location.origin
const treeParam = new URLSearchParams(location.search).get('tree')
const encoder = new TextEncoder()
const decoder = new TextDecoder()

async function checkServer(): Promise<void> {
  try {
    const health = (await (await fetch('/healthz')).json()) as { trees: number; peers: number }
    $('server').textContent = `${server} — ok, ${health.trees} tree(s), ${health.peers} peer(s)`
  } catch {
    $('server').textContent = `${server} — unreachable`
  }
}

function log(line: string): void {
  const feed = $('feed')
  const div = document.createElement('div')
  div.textContent = line
  feed.prepend(div)
  while (feed.childElementCount > 200) feed.lastElementChild!.remove()
}

function showStats(s: PeerStats): void {
  const rows: [string, string][] = [
    ['peer', s.peerId ?? '-'],
    ['depth', String(s.depth)],
    ['parent', s.parent ?? '(none: source)'],
    ['children', s.children.join(', ') || '-'],
    ['in / out', `${(s.bytesIn / 1024).toFixed(0)} KiB / ${(s.bytesOut / 1024).toFixed(0)} KiB`],
    ['chunks verified / rejected', `${s.chunksVerified} / ${s.chunksRejected}`],
    ['messages', String(s.messages)],
    ['buffer', `${s.buffer.chunks} chunks, ${(s.buffer.ms / 1000).toFixed(1)} s`],
    ['latency from source', s.latencyMs === null ? '-' : `${s.latencyMs.toFixed(1)} ms`],
    ['reconnects', String(s.reconnects)]
  ]
  $('stats').replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = document.createElement('tr')
      tr.innerHTML = `<td class="muted"></td><td></td>`
      tr.children[0]!.textContent = k
      tr.children[1]!.textContent = v
      return tr
    })
  )
}

interface TreeShape {
  size: number
  nodes: { peerId: string; parent: string | null; children: string[] }[]
}

async function drawTree(treeId: string, me: string | null): Promise<void> {
  const res = await fetch(`/trees/${treeId}`)
  if (!res.ok) return void ($('tree').textContent = 'tree ended')
  const shape = (await res.json()) as TreeShape
  const byId = new Map(shape.nodes.map((n) => [n.peerId, n]))
  const render = (id: string): HTMLLIElement => {
    const li = document.createElement('li')
    li.textContent = id === shape.nodes[0]?.peerId ? `${id} (source)` : id
    if (id === me) li.className = 'me'
    const kids = byId.get(id)?.children ?? []
    if (kids.length) {
      const ul = document.createElement('ul')
      ul.append(...kids.filter((k) => byId.has(k)).map(render))
      li.append(ul)
    }
    return li
  }
  const root = document.createElement('ul')
  if (shape.nodes[0]) root.append(render(shape.nodes[0].peerId))
  $('tree').replaceChildren(`${shape.size} peer(s)`, root)
}

function enterLive(role: string, treeId: string, peer: MunroSource | MunroViewer): void {
  $('start').hidden = true
  $('live').hidden = false
  $('role').textContent = role
  $('treeId').textContent = treeId
  ;(peer as MunroViewer).on('stats', showStats) // both kinds emit the same stats event
  setInterval(() => void drawTree(treeId, peer.stats().peerId), 1_000)
}

async function broadcast(): Promise<void> {
  const source = await createSource({ signal: server, k1: Number($<HTMLInputElement>('k1').value), k: Number($<HTMLInputElement>('k').value) })
  enterLive('Source', source.treeId, source)
  const url = `${location.origin}${location.pathname}?tree=${source.treeId}`
  $('share').hidden = false
  $('say').hidden = false
  Object.assign($<HTMLAnchorElement>('link'), { href: url, textContent: url })
  let seq = 0
  setInterval(() => source.write(encoder.encode(JSON.stringify({ seq: seq++, at: Date.now() }))), 250)
  const send = () => {
    const input = $<HTMLInputElement>('text')
    if (!input.value) return
    source.write(encoder.encode(JSON.stringify({ text: input.value, at: Date.now() })))
    log(`you: ${input.value}`)
    input.value = ''
  }
  $('send').onclick = send
  $('text').onkeydown = (e) => e.key === 'Enter' && send()
}

async function watch(treeId: string): Promise<void> {
  const viewer = await joinTree(treeId, { signal: server })
  enterLive('Viewer', treeId, viewer)
  viewer.on('parent-changed', (id) => log(`parent is now ${id}`))
  viewer.on('chunk-rejected', (r) => log(`rejected a chunk from ${r.parentId}: ${r.code}`))
  viewer.on('tree-ended', (e) => log(`tree ended: ${e.reason}`))
  for await (const m of viewer.messages()) {
    const msg = JSON.parse(decoder.decode(m.data)) as { seq?: number; text?: string; at: number }
    if (msg.text !== undefined) log(`source: ${msg.text}`)
    else if (msg.seq! % 20 === 0) log(`tick ${msg.seq} (${Date.now() - msg.at} ms after the source wrote it)`)
  }
}

void checkServer()
setInterval(() => void checkServer(), 5_000)
$('broadcast').onclick = () => void broadcast().catch((err: Error & { code?: string }) => log(`could not broadcast: ${err.code ?? ''} ${err.message}`))
if (treeParam) void watch(treeParam).catch((err: Error & { code?: string }) => log(`could not join: ${err.code ?? ''} ${err.message}`))
