// What both demo pages share: the error banner, the stats list, and the tree
// drawn as a graph by depth (edges live, this peer highlighted).
import type { PeerStats } from '../src/index.js'

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T

/** Where the signaling server is: this page's origin unless `?signal=` says otherwise. */
export const signalUrl = new URLSearchParams(location.search).get('signal') ?? location.origin

/** Shows an error on the page (never only in the console); `code` is the SDK's stable code when there is one. */
export function showError(err: unknown, context: string): void {
  const e = err as { code?: string; message?: string }
  const box = $('error')
  const code = document.createElement('code')
  code.textContent = e.code ?? 'ERROR'
  box.replaceChildren(code, `${context}: ${e.message ?? String(err)}`)
  box.className = 'shown'
  box.dataset.code = e.code ?? 'ERROR'
}

export function clearError(): void {
  $('error').className = ''
}

/** Fills the `<dl id="stats">` with label/value pairs. */
export function showStats(rows: [string, string][]): void {
  $('stats').replaceChildren(
    ...rows.flatMap(([label, value]) => {
      const dt = document.createElement('dt')
      const dd = document.createElement('dd')
      dt.textContent = label
      dd.textContent = value
      dd.dataset.stat = label
      return [dt, dd]
    })
  )
}

export const kbps = (bps: number) => (bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${(bps / 1e3).toFixed(0)} kbit/s`)
export const ms = (v: number | null) => (v === null ? '–' : `${Math.round(v)} ms`)

export function peerRows(s: PeerStats, viewers: number | null): [string, string][] {
  return [
    ['viewers', viewers === null ? '–' : String(viewers)],
    ['your depth', s.depth === null ? '–' : String(s.depth)],
    ['chunks verified / rejected', `${s.chunksVerified} / ${s.chunksRejected}`],
    ['reconnects', String(s.reconnects)],
    ['children', String(s.children.length)]
  ]
}

interface TreeNode {
  peerId: string
  parent: string | null
  children: string[]
}

const SVG = 'http://www.w3.org/2000/svg'

/**
 * Polls /trees/<id> every second and draws it: one row per depth, an edge
 * from each parent to its children, this peer in the highlight colour.
 * Resolves the viewer count (tree size − the source) into `onSize`.
 */
export function drawTreeLive(treeId: string, me: () => string | null, onSize: (viewers: number | null) => void): () => void {
  let stopped = false
  const draw = async () => {
    try {
      const res = await fetch(`/trees/${treeId}`)
      if (!res.ok) {
        onSize(null)
        return void ($('tree').textContent = res.status === 404 ? 'The tree has ended.' : `The server answered ${res.status}.`)
      }
      const shape = (await res.json()) as { size: number; nodes: TreeNode[] }
      onSize(Math.max(0, shape.size - 1))
      if (!stopped) $('tree').replaceChildren(renderTree(shape.nodes, me()))
    } catch {
      onSize(null)
    }
  }
  void draw()
  const timer = setInterval(() => void draw(), 1000)
  return () => {
    stopped = true
    clearInterval(timer)
  }
}

function renderTree(nodes: TreeNode[], me: string | null): SVGSVGElement {
  const byId = new Map(nodes.map((n) => [n.peerId, n]))
  const rows: string[][] = []
  const root = nodes.find((n) => n.parent === null) ?? nodes[0]
  for (let level = root ? [root.peerId] : []; level.length > 0; ) {
    rows.push(level)
    level = level.flatMap((id) => (byId.get(id)?.children ?? []).filter((c) => byId.has(c)))
  }
  const width = 600
  const rowHeight = 64
  const height = Math.max(1, rows.length) * rowHeight
  const pos = new Map<string, { x: number; y: number }>()
  rows.forEach((row, depth) => row.forEach((id, i) => pos.set(id, { x: ((i + 0.5) * width) / row.length, y: depth * rowHeight + 22 })))
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('role', 'img')
  svg.setAttribute('aria-label', `tree of ${nodes.length} peers, ${rows.length} levels deep`)
  for (const [id, p] of pos) {
    const parent = byId.get(id)?.parent
    const q = parent ? pos.get(parent) : undefined
    if (!q) continue
    const line = document.createElementNS(SVG, 'line')
    Object.entries({ x1: q.x, y1: q.y, x2: p.x, y2: p.y }).forEach(([k, v]) => line.setAttribute(k, String(v)))
    svg.append(line)
  }
  for (const [id, p] of pos) {
    const circle = document.createElementNS(SVG, 'circle')
    Object.entries({ cx: p.x, cy: p.y, r: 11 }).forEach(([k, v]) => circle.setAttribute(k, String(v)))
    circle.setAttribute('class', id === me ? 'me' : id === root?.peerId ? 'source' : 'peer')
    circle.dataset.peer = id
    const label = document.createElementNS(SVG, 'text')
    label.setAttribute('x', String(p.x))
    label.setAttribute('y', String(p.y + 26))
    label.textContent = id === me ? 'you' : id === root?.peerId ? 'source' : id.slice(0, 4)
    svg.append(circle, label)
  }
  return svg
}
