// Hands every audit event (the event log) and every alert change (raised, resolved) to the
// configured sinks: the webhook and the JSON-lines file. Documents:
//   {"kind": "event", "hub": <public URL>, "event": {id, at, type, nodeId, pool, actor, message, data}}
//   {"kind": "alert", "hub": <public URL>, "state": "raised"|"resolved", "at": ..., "alert": {id, severity, since, message, link}}
// Metrics: atoll_events_sink_delivered_total, _failures_total, _dropped_total{reason}, atoll_events_sink_queue.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventLog } from '../events.js';
import type { Logger } from '../logger.js';
import type { AlertChange } from '../alerts/alert-service.js';
import { readWebhookSecret, type SinkConfig } from './sink-config.js';
import { WebhookSink, type SinkCounters } from './webhook-sink.js';
import { JsonlSink } from './jsonl-sink.js';

export interface EventSinksDeps {
  config: SinkConfig;
  events: EventLog;
  onAlert: (listener: (c: AlertChange) => void) => () => void;
  logger: Logger;
  registry: Registry;
  hub: string;
}

export interface EventSinks {
  stop(): Promise<void>;
}

interface Sink {
  send(doc: unknown): void;
  queued(): number;
  stop(): Promise<void>;
}

export async function startEventSinks(d: EventSinksDeps): Promise<EventSinks> {
  const { webhookUrl, webhookSecretFile, jsonlPath } = d.config;
  // The metrics exist without sinks too (alerting rules can name them on every hub).
  const delivered = new Counter({
    name: 'atoll_events_sink_delivered_total',
    help: 'Alert changes and audit events delivered by each sink (webhook: answered 2xx; jsonl: written).',
    labelNames: ['sink'],
    registers: [d.registry],
  });
  const failures = new Counter({
    name: 'atoll_events_sink_failures_total',
    help: 'Failed deliveries by sink (each webhook attempt that failed; each jsonl write that failed).',
    labelNames: ['sink'],
    registers: [d.registry],
  });
  const dropped = new Counter({
    name: 'atoll_events_sink_dropped_total',
    help: 'Alert changes and audit events a sink dropped: overflow (queue full, oldest dropped), gave-up (retries or write failed), refused (webhook 4xx), stopped (hub stopping).',
    labelNames: ['sink', 'reason'],
    registers: [d.registry],
  });
  const sinks = new Map<string, Sink>();
  new Gauge({
    name: 'atoll_events_sink_queue',
    help: 'Alert changes and audit events waiting in each sink.',
    labelNames: ['sink'],
    registers: [d.registry],
    collect() {
      for (const [sink, s] of sinks) this.set({ sink }, s.queued());
    },
  });
  const counters = (sink: string): SinkCounters => {
    for (const reason of ['overflow', 'gave-up', 'refused', 'stopped']) dropped.inc({ sink, reason }, 0);
    failures.inc({ sink }, 0);
    delivered.inc({ sink }, 0);
    return {
      delivered: (n = 1) => delivered.inc({ sink }, n),
      failed: () => failures.inc({ sink }),
      dropped: (reason, n = 1) => dropped.inc({ sink, reason }, n),
    };
  };
  if (!webhookUrl && !jsonlPath) return { stop: async () => undefined };
  const log = d.logger.child({ component: 'sinks' });
  if (webhookUrl) {
    const secret = webhookSecretFile ? readWebhookSecret(webhookSecretFile) : null;
    if (!secret) log.warn('--events-webhook without --events-webhook-secret-file: the POSTs are not signed');
    sinks.set('webhook', new WebhookSink({ url: webhookUrl, secret, logger: log, counters: counters('webhook') }));
  }
  if (jsonlPath)
    sinks.set('jsonl', await JsonlSink.open({ path: jsonlPath, logger: log, counters: counters('jsonl') }));
  const send = (doc: unknown): void => {
    for (const s of sinks.values()) s.send(doc);
  };
  const offEvents = d.events.subscribe((event) => send({ kind: 'event', hub: d.hub, event }));
  const offAlerts = d.onAlert((c) =>
    send({
      kind: 'alert',
      hub: d.hub,
      state: c.state,
      at: c.at,
      alert: {
        id: c.alert.id,
        severity: c.alert.severity,
        since: c.alert.since,
        message: c.alert.message,
        link: c.alert.link,
      },
    }),
  );
  return {
    async stop() {
      offEvents();
      offAlerts();
      await Promise.all([...sinks.values()].map((s) => s.stop()));
    },
  };
}
