// atoll-hub admin commands: thin wrappers over the dashboard API.
import type { Command } from 'commander';
import { createApiClient, resolveClientSettings, type ApiClient } from './api-client.js';
import { ago, parseOutput, printJson, printTable, CliError } from './output.js';
import { defaultDataDir } from '../config.js';
import { registerUpgradeCommands } from './upgrade.js';
import { API_ROLES } from '../api/roles.js';
import { registerDatastoreCommands } from './datastore.js';
import { registerArtifactCommands } from './artifact.js';

interface Globals { dataDir?: string; output?: string }

function client(cmd: Command): { api: ApiClient; json: boolean } {
  const g = cmd.optsWithGlobals<Globals>();
  const dataDir = g.dataDir ?? defaultDataDir(process.env, process.getuid?.() === 0);
  return { api: createApiClient(resolveClientSettings(dataDir, process.env)), json: parseOutput(g.output) === 'json' };
}

type Obj = Record<string, unknown>;
const s = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

function kv(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`--label must be key=value, got "${p}"`, 2);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

export function registerAdminCommands(program: Command): void {
  registerUpgradeCommands(program);
  registerDatastoreCommands(program);
  registerArtifactCommands(program);
  const token = program.command('token').description('join tokens: create, list, revoke');
  token.command('create').description('create a join token (printed once)')
    .option('--pool <pool>', 'pool the token joins nodes to', 'default')
    .option('--ttl <duration>', 'lifetime, e.g. 10m, 1h, 7d', '1h')
    .option('--uses <n>', 'number of joins allowed (default 1)')
    .option('--reusable', 'no use limit (until expiry or revoke)')
    .option('--description <text>', 'free text shown in token list')
    .action(async (o: { pool: string; ttl: string; uses?: string; reusable?: boolean; description?: string }, cmd: Command) => {
      const { api, json } = client(cmd);
      if (o.uses !== undefined && o.reusable) throw new CliError('give either --uses or --reusable', 2);
      const uses = o.uses === undefined ? undefined : Number(o.uses);
      if (uses !== undefined && (!Number.isInteger(uses) || uses < 1)) throw new CliError('--uses must be a positive integer', 2);
      const t = await api.call<Obj>('POST', '/v1/tokens', { pool: o.pool, ttl: o.ttl, uses, reusable: Boolean(o.reusable), description: o.description ?? '' });
      if (json) printJson(t);
      else process.stdout.write(`${s(t.token)}\n`);
      if (!json) process.stderr.write(`token ${s(t.id)} for pool ${s(t.pool)}, expires ${s(t.expiresAt)}, uses ${t.reusable ? 'unlimited' : s(t.maxUses)}\n`);
    });
  token.command('list').description('list join tokens').action(async (_o, cmd: Command) => {
    const { api, json } = client(cmd);
    const r = await api.call<{ items: Obj[] }>('GET', '/v1/tokens');
    if (json) return printJson(r);
    printTable(['ID', 'POOL', 'STATUS', 'USES', 'EXPIRES', 'DESCRIPTION'], r.items.map((t) => [s(t.id), s(t.pool), s(t.status), `${s(t.uses)}/${t.reusable ? '∞' : s(t.maxUses)}`, s(t.expiresAt), s(t.description)]));
  });
  token.command('revoke').description('revoke a join token').argument('<id>').action(async (id: string, _o, cmd: Command) => {
    const { api, json } = client(cmd);
    await api.call('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
    if (json) printJson({ id, revoked: true });
    else process.stdout.write(`token ${id} revoked\n`);
  });

  const apiToken = program.command('api-token').description('dashboard API tokens with a role: create, list, revoke');
  apiToken.command('create').description('create an API token (printed once)')
    .requiredOption('--role <role>', `${API_ROLES.join(' | ')}`)
    .option('--description <text>', 'free text shown in api-token list')
    .action(async (o: { role: string; description?: string }, cmd: Command) => {
      const { api, json } = client(cmd);
      if (!(API_ROLES as readonly string[]).includes(o.role)) throw new CliError(`--role must be one of ${API_ROLES.join(', ')}`, 2);
      const t = await api.call<Obj>('POST', '/v1/api-tokens', { role: o.role, description: o.description ?? '' });
      if (json) return printJson(t);
      process.stdout.write(`${s(t.token)}\n`);
      process.stderr.write(`API token ${s(t.id)} (${s(t.role)}); it is shown only this once\n`);
    });
  apiToken.command('list').description('list API tokens').action(async (_o, cmd: Command) => {
    const { api, json } = client(cmd);
    const r = await api.call<{ items: Obj[] }>('GET', '/v1/api-tokens');
    if (json) return printJson(r);
    printTable(['ID', 'ROLE', 'STATUS', 'CREATED', 'DESCRIPTION'], r.items.map((t) => [s(t.id), s(t.role), t.revokedAt ? 'revoked' : 'active', s(t.createdAt), s(t.description)]));
  });
  apiToken.command('revoke').description('revoke an API token').argument('<id>').action(async (id: string, _o, cmd: Command) => {
    const { api, json } = client(cmd);
    await api.call('DELETE', `/v1/api-tokens/${encodeURIComponent(id)}`);
    if (json) printJson({ id, revoked: true });
    else process.stdout.write(`API token ${id} revoked\n`);
  });

  program.command('nodes').description('list nodes').option('--pool <pool>').action(async (o: { pool?: string }, cmd: Command) => {
    const { api, json } = client(cmd);
    const r = await api.call<{ items: Obj[] }>('GET', `/v1/nodes${o.pool ? `?pool=${encodeURIComponent(o.pool)}` : ''}`);
    if (json) return printJson(r);
    printTable(['ID', 'NAME', 'POOL', 'STATE', 'LAST SEEN', 'AGENT', 'K3S', 'CPU%', 'MEM%', 'DISK%', 'ADDRESSES'], r.items.map((n) => {
      const h = n.health as Obj | null;
      const k3s = n.k3s as Obj;
      return [s(n.id), s(n.name), s(n.pool), s(n.state), ago(n.lastSeen as string | null), s(n.agentVersion), `${s(k3s.state)} ${s(k3s.version)}`.trim(),
        h ? s(h.cpuPercent) : '', h ? s((h.memory as Obj).usedPercent) : '', h ? s((h.disk as Obj).usedPercent) : '', (n.addresses as string[]).slice(0, 2).join(',')];
    }));
  });

  const node = program.command('node').description('one node: show, remove');
  node.command('show').argument('<id>').description('show a node').action(async (id: string, _o, cmd: Command) => {
    const { api } = client(cmd);
    printJson(await api.call('GET', `/v1/nodes/${encodeURIComponent(id)}`));
  });
  node.command('remove').argument('<id>').description('remove a node: revoke its certificate and close its connection').action(async (id: string, _o, cmd: Command) => {
    const { api, json } = client(cmd);
    await api.call('DELETE', `/v1/nodes/${encodeURIComponent(id)}`);
    if (json) printJson({ id, removed: true });
    else process.stdout.write(`node ${id} removed\n`);
  });
  const actionHelp: Record<string, string> = {
    remediate: 'the next autoheal step now (a node that needs attention starts a fresh ladder)',
    'clear-attention': 'take a node out of needs-attention: its state follows its reports again, autoheal uncordons what it cordoned',
  };
  for (const action of ['cordon', 'uncordon', 'restart-k3s', 'reboot', 'remediate', 'clear-attention']) {
    node.command(action).argument('<id>').description(actionHelp[action] ?? `${action} a node`).action(async (id: string, _o, cmd: Command) => {
      const { api, json } = client(cmd);
      const r = await api.call<Obj>('POST', `/v1/nodes/${encodeURIComponent(id)}/actions/${action}`);
      if (json) printJson(r);
      else process.stdout.write(`${action} on ${id}: ${r.message ? s(r.message) : 'ok'}\n`);
    });
  }

  const pool = program.command('pool').description('node pools: list, create, update, delete');
  pool.command('list').action(async (_o, cmd: Command) => {
    const { api, json } = client(cmd);
    const r = await api.call<{ items: Obj[] }>('GET', '/v1/pools');
    if (json) return printJson(r);
    printTable(['NAME', 'LABELS', 'TAINTS', 'DESCRIPTION'], r.items.map((p) => [s(p.name), Object.entries(p.labels as Obj).map(([k, v]) => `${k}=${s(v)}`).join(','), (p.taints as string[]).join(','), s(p.description)]));
  });
  const poolFields = (c: Command): Command => c
    .option('--description <text>')
    .option('--label <k=v>', 'node label for the pool (repeatable)', collect, [])
    .option('--taint <k=v:Effect>', 'node taint for the pool (repeatable)', collect, []);
  poolFields(pool.command('create').argument('<name>')).action(async (name: string, o: { description?: string; label: string[]; taint: string[] }, cmd: Command) => {
    const { api, json } = client(cmd);
    const p = await api.call<Obj>('POST', '/v1/pools', { name, description: o.description, labels: kv(o.label), taints: o.taint });
    if (json) printJson(p);
    else process.stdout.write(`pool ${name} created\n`);
  });
  poolFields(pool.command('update').argument('<name>')).action(async (name: string, o: { description?: string; label: string[]; taint: string[] }, cmd: Command) => {
    const { api, json } = client(cmd);
    const body: Obj = {};
    if (o.description !== undefined) body.description = o.description;
    if (o.label.length) body.labels = kv(o.label);
    if (o.taint.length) body.taints = o.taint;
    if (Object.keys(body).length === 0) throw new CliError('nothing to update: give --description, --label or --taint', 2);
    const p = await api.call<Obj>('PATCH', `/v1/pools/${encodeURIComponent(name)}`, body);
    if (json) printJson(p);
    else process.stdout.write(`pool ${name} updated\n`);
  });
  pool.command('delete').argument('<name>').action(async (name: string, _o, cmd: Command) => {
    const { api, json } = client(cmd);
    await api.call('DELETE', `/v1/pools/${encodeURIComponent(name)}`);
    if (json) printJson({ name, deleted: true });
    else process.stdout.write(`pool ${name} deleted\n`);
  });

  program.command('join-command').description('print an install line (or, with --cloud-init, a #cloud-config document) with a fresh single-use token')
    .option('--pool <pool>', 'pool to join', 'default')
    .option('--ttl <duration>', 'token lifetime', '1h')
    .option('--cloud-init', 'print a #cloud-config document that joins a new server')
    .option('--label <k=v>', 'with --cloud-init: node label (repeatable)', collect, [])
    .option('--name-prefix <prefix>', 'with --cloud-init: name nodes <prefix>-<machine id>')
    .option('--k3s <mode>', 'with --cloud-init: auto | off')
    .action(async (o: { pool: string; ttl: string; cloudInit?: boolean; label: string[]; namePrefix?: string; k3s?: string }, cmd: Command) => {
      const { api, json } = client(cmd);
      if (o.cloudInit) {
        const q = new URLSearchParams({ ttl: o.ttl });
        if (o.label.length) q.set('labels', Object.entries(kv(o.label)).map(([k, v]) => `${k}=${v}`).join(','));
        if (o.namePrefix) q.set('namePrefix', o.namePrefix);
        if (o.k3s) q.set('k3s', o.k3s);
        const doc = await api.call<string>('GET', `/v1/pools/${encodeURIComponent(o.pool)}/cloud-init?${q.toString()}`);
        if (json) printJson({ pool: o.pool, cloudConfig: doc });
        else process.stdout.write(doc.endsWith('\n') ? doc : `${doc}\n`);
        return;
      }
      const r = await api.call<Obj>('POST', '/v1/join-command', { pool: o.pool, ttl: o.ttl });
      if (json) printJson(r);
      else process.stdout.write(`${s(r.command)}\n`);
    });

  program.command('kubeconfig').description('print the admin kubeconfig of the control plane').action(async (_o, cmd: Command) => {
    const { api } = client(cmd);
    process.stdout.write(await api.call<string>('GET', '/v1/cluster/kubeconfig'));
  });

  program.command('events').description('show events (joins, state changes, admin actions)')
    .option('--since <cursor>', 'only events after this cursor', '0')
    .option('--type <type>').option('--node <id>').option('--pool <pool>')
    .option('--limit <n>', 'at most this many', '100')
    .option('-f, --follow', 'keep printing new events')
    .action(async (o: { since: string; type?: string; node?: string; pool?: string; limit: string; follow?: boolean }, cmd: Command) => {
      const { api, json } = client(cmd);
      let cursor = Number(o.since);
      if (!Number.isInteger(cursor) || cursor < 0) throw new CliError('--since must be a cursor number', 2);
      for (;;) {
        const q = new URLSearchParams({ since: String(cursor), limit: o.limit });
        if (o.type) q.set('type', o.type);
        if (o.node) q.set('node', o.node);
        if (o.pool) q.set('pool', o.pool);
        const r = await api.call<{ items: Obj[]; cursor: number }>('GET', `/v1/events?${q}`);
        if (json && !o.follow) return printJson(r);
        for (const e of r.items) {
          if (json) process.stdout.write(JSON.stringify(e) + '\n');
          else process.stdout.write(`${s(e.id).padStart(6)}  ${s(e.at)}  ${s(e.type).padEnd(18)} ${s(e.actor).padEnd(16)} ${s(e.message)}\n`);
        }
        cursor = r.cursor;
        if (!o.follow) return;
        await new Promise((res) => setTimeout(res, 1000));
      }
    });
}
