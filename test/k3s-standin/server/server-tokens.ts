// server/token, server/node-token and server/agent-token: K10<CA hash>::server:<password> and the
// agent's ::node:<password>. A restart without --token keeps the stored password.
import { existsSync, lstatSync, readFileSync, symlinkSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { formatToken, parseToken } from '../util/k10-token.js';
import { randomHex } from '../util/random.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { Passwords } from './supervisor-auth.js';

function passwordOf(token: string): string {
  if (!token.startsWith('K10')) return token;
  const t = parseToken(token);
  if (t.bootstrap) throw new Error('bootstrap tokens cannot be used as the server token');
  return t.password ?? '';
}

function linkTo(path: string, target: string): void {
  if (existsSync(path) || lstatExists(path)) unlinkSync(path);
  symlinkSync(target, path);
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The server token's password: from --token, else the stored token, else a new random one. */
export function resolveServerPassword(dataDir: string, token: string): string {
  const tokenPath = join(dataDir, 'server', 'token');
  let server = token ? passwordOf(token) : '';
  if (!server && existsSync(tokenPath)) server = passwordOf(readFileSync(tokenPath, 'utf8').trim());
  return server || randomHex(16);
}

export function ensureServerTokens(dataDir: string, server: string, agentToken: string, caPem: string): Passwords {
  const dir = join(dataDir, 'server');
  const tokenPath = join(dir, 'token');
  writeFileAtomic(tokenPath, `${formatToken(`server:${server}`, caPem)}\n`, 0o600);
  linkTo(join(dir, 'node-token'), 'token');
  const agent = agentToken ? passwordOf(agentToken) : server;
  if (agentToken) writeFileAtomic(join(dir, 'agent-token'), `${formatToken(`node:${agent}`, caPem)}\n`, 0o600);
  else linkTo(join(dir, 'agent-token'), 'token');
  return { server, agent };
}
