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

export function ensureServerTokens(dataDir: string, token: string, agentToken: string, caPem: string): Passwords {
  const dir = join(dataDir, 'server');
  const tokenPath = join(dir, 'token');
  let server = token ? passwordOf(token) : '';
  if (!server && existsSync(tokenPath)) server = passwordOf(readFileSync(tokenPath, 'utf8').trim());
  if (!server) server = randomHex(16);
  writeFileAtomic(tokenPath, `${formatToken(`server:${server}`, caPem)}\n`, 0o600);
  linkTo(join(dir, 'node-token'), 'token');
  const agent = agentToken ? passwordOf(agentToken) : server;
  if (agentToken) writeFileAtomic(join(dir, 'agent-token'), `${formatToken(`node:${agent}`, caPem)}\n`, 0o600);
  else linkTo(join(dir, 'agent-token'), 'token');
  return { server, agent };
}
