// The Redis protocol port's Prometheus metrics, on the node's registry (GET /metrics,
// docs/operations.md): connections, commands by name, error replies by kind, bytes in and out, and
// the limits connections ran into. The connections count plain numbers (RespStats) and the metrics
// read them at scrape time, so a command costs no prom-client call.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { RespContext } from './resp-context.js';

/** Registers the RESP metrics on `registry`; returns a function that removes them again. */
export function registerRespMetrics(registry: Registry, ctx: RespContext): () => void {
  const registers = [registry];
  const s = ctx.stats;
  const names: string[] = [];
  const counter = (name: string, help: string, value: () => number) => {
    names.push(name);
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };
  const byLabel = (name: string, help: string, label: string, values: () => Map<string, number>) => {
    names.push(name);
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [k, v] of values()) this.inc({ [label]: k }, v);
      },
    });
  };
  names.push('eau2_resp_connections');
  new Gauge({
    name: 'eau2_resp_connections',
    help: 'Open Redis-protocol (RESP) connections',
    registers,
    collect() {
      this.set(ctx.clients.size);
    },
  });
  counter('eau2_resp_connections_total', 'RESP connections accepted', () => s.connections);
  counter(
    'eau2_resp_rejected_connections_total',
    'RESP connections refused over limits.maxConnections or maxConnectionsPerClient',
    () => s.rejected,
  );
  byLabel(
    'eau2_resp_commands_total',
    'RESP commands run, by lower-case command name ("unknown" for commands eau2 does not serve)',
    'command',
    () => s.byCommand,
  );
  byLabel(
    'eau2_resp_errors_total',
    'RESP error replies, by the error kind that starts them (ERR, NOAUTH, WRONGPASS, NOPERM, TRYAGAIN, ...)',
    'kind',
    () => s.errors,
  );
  counter('eau2_resp_received_bytes_total', 'Bytes read from RESP connections', () => s.netIn);
  counter('eau2_resp_sent_bytes_total', 'Reply bytes written to RESP connections', () => s.netOut);
  counter(
    'eau2_resp_protocol_errors_total',
    'RESP connections closed for malformed input (a protocol error)',
    () => s.protocolErrors,
  );
  byLabel(
    'eau2_resp_reply_buffer_limit_total',
    'Reply-buffer limits hit: soft (commands paused until the socket drains), hard (closed past replyBufferHardBytes), stall (closed after replyStallMs over the soft limit)',
    'limit',
    () =>
      new Map([
        ['soft', s.replySoftLimitPauses],
        ['hard', s.replyHardLimitCloses],
        ['stall', s.replyStallCloses],
      ]),
  );
  counter(
    'eau2_resp_input_pauses_total',
    'Times reading a RESP connection paused at maxQueuedCommands or maxQueuedBytes of pipelined commands',
    () => s.inputPauses,
  );
  return () => {
    for (const n of names) registry.removeSingleMetric(n);
  };
}
