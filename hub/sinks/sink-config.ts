// Where alerts and audit events also go: --events-webhook URL (+ --events-webhook-secret-file) and
// --events-jsonl FILE. Parsed once at the edge with the rest of the hub's config (hub/config.ts).
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ConfigError } from '../errors.js';

export interface SinkConfig {
  /** POST each alert change and audit event here (http or https); null: off. */
  readonly webhookUrl: string | null;
  /** The file holding the HMAC-SHA256 key that signs each POST; null: unsigned. */
  readonly webhookSecretFile: string | null;
  /** Append each alert change and audit event as one JSON line (0600); null: off. */
  readonly jsonlPath: string | null;
}

export interface SinkFlags {
  eventsWebhook?: string;
  eventsWebhookSecretFile?: string;
  eventsJsonl?: string;
}

export const NO_SINKS: SinkConfig = Object.freeze({ webhookUrl: null, webhookSecretFile: null, jsonlPath: null });

/** The flags, on `atoll-hub run`. */
export function addSinkOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--events-webhook <url>',
        'POST alerts (raised, resolved) and audit events as JSON to this URL, retried with backoff (env ATOLL_EVENTS_WEBHOOK)',
      ),
    )
    .addOption(
      new Option(
        '--events-webhook-secret-file <file>',
        'sign each webhook POST with HMAC-SHA256 of "<timestamp>.<body>" using the key in this file (env ATOLL_EVENTS_WEBHOOK_SECRET_FILE)',
      ),
    )
    .addOption(
      new Option(
        '--events-jsonl <file>',
        'also append alerts and audit events to this file as JSON lines, mode 0600 (env ATOLL_EVENTS_JSONL)',
      ),
    );
}

export function parseSinkConfig(flags: SinkFlags, env: NodeJS.ProcessEnv): SinkConfig {
  const url = flags.eventsWebhook ?? env.ATOLL_EVENTS_WEBHOOK;
  const secretFile = flags.eventsWebhookSecretFile ?? env.ATOLL_EVENTS_WEBHOOK_SECRET_FILE;
  const jsonl = flags.eventsJsonl ?? env.ATOLL_EVENTS_JSONL;
  let webhookUrl: string | null = null;
  if (url) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new ConfigError(`--events-webhook "${url.slice(0, 200)}" is not a URL`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:')
      throw new ConfigError(`--events-webhook must be http:// or https:// (got ${u.protocol})`);
    if (url.length > 2000) throw new ConfigError('--events-webhook is longer than 2000 characters');
    webhookUrl = u.toString();
  }
  if (secretFile && !webhookUrl) throw new ConfigError('--events-webhook-secret-file needs --events-webhook');
  if (secretFile) readWebhookSecret(resolve(secretFile));
  return Object.freeze({
    webhookUrl,
    webhookSecretFile: secretFile ? resolve(secretFile) : null,
    jsonlPath: jsonl ? resolve(jsonl) : null,
  });
}

/** The key in the secret file (trailing newline dropped): at least 16 bytes. */
export function readWebhookSecret(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `--events-webhook-secret-file ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const key = Buffer.from(text.replace(/\r?\n$/, ''), 'utf8');
  if (key.length < 16) throw new ConfigError(`--events-webhook-secret-file ${path}: the key must be at least 16 bytes`);
  return key;
}
