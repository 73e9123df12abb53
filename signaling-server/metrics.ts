import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'

/** Prometheus metrics of one server instance (its own registry, so several servers can share a process). */
export class ServerMetrics {
  readonly registry = new Registry()
  readonly peers = new Gauge({ name: 'munro_peers', help: 'Peers currently in a tree on this server (sources included)', registers: [this.registry] })
  readonly trees = new Gauge({ name: 'munro_trees', help: 'Trees hosted by this server', registers: [this.registry] })
  readonly connections = new Gauge({ name: 'munro_connections', help: 'Open socket.io connections', registers: [this.registry] })
  readonly joins = new Counter({ name: 'munro_joins_total', help: 'Peers placed in a tree (creates, joins and resumes)', registers: [this.registry] })
  readonly departures = new Counter({ name: 'munro_departures_total', help: 'Peers that left a tree (goodbye, disconnect or eviction)', registers: [this.registry] })
  readonly reparents = new Counter({ name: 'munro_reparents_total', help: 'Peers given a new parent because of churn or a report', registers: [this.registry] })
  readonly reports = new Counter({ name: 'munro_reports_total', help: 'Reports of a parent by its child', labelNames: ['reason'], registers: [this.registry] })
  readonly signals = new Counter({ name: 'munro_signals_relayed_total', help: 'WebRTC signals relayed between neighbours', registers: [this.registry] })
  readonly rejected = new Counter({ name: 'munro_rejected_messages_total', help: 'Client messages rejected, by error code', labelNames: ['code'], registers: [this.registry] })
  readonly disconnected = new Counter({ name: 'munro_connections_dropped_total', help: 'Connections the server closed, by cause (ERR_SLOW_READER, ERR_ABUSE, ERR_PAYLOAD_TOO_LARGE, ...)', labelNames: ['code'], registers: [this.registry] })
  readonly evictions = new Counter({ name: 'munro_evictions_total', help: 'Relays evicted on invalid-data reports that the report policy counted', registers: [this.registry] })
  readonly shed = new Counter({ name: 'munro_signals_shed_total', help: 'Signals refused with ERR_OVERLOADED to keep the server responsive', registers: [this.registry] })
  readonly treesEnded = new Counter({ name: 'munro_trees_ended_total', help: 'Trees ended, by reason', labelNames: ['reason'], registers: [this.registry] })

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry })
  }
}
