// Bounds on every field an agent sends (hello, health reports, command results, renewals, close).
// The hub checks each decoded frame against them and closes the link with FIELD_INVALID on the
// first violation, before anything is stored; the agent clamps its own free text to them, so a
// well-behaved agent never trips them. One table, shared by both sides.
import type { Frame } from './codec.js';

/** Identifiers: ASCII letters, digits and a few separators. */
const ID = /^[A-Za-z0-9._:+~-]*$/;
/** Versions: like identifiers, no separators at the start. */
const VERSION = /^([A-Za-z0-9][A-Za-z0-9._+~-]*)?$/;
/** Host names: printable, no spaces. */
const HOSTNAME = /^[^\s\p{C}]*$/u;
/** Free text that is shown to operators: printable plus spaces and tabs (no terminal escapes). */
const TEXT = /^[^\p{Cc}\p{Cf}\p{Cs}]*$/u;
const TEXT_OR_TAB = /^[^\p{Cf}\p{Cs}\u0000-\u0008\u000a-\u001f\u007f-\u009f]*$/u;
/** IPv4/IPv6 addresses (with an optional zone or prefix length). */
const ADDRESS = /^[0-9A-Za-z:.%/_-]+$/;
const CODE = /^[A-Za-z0-9_.-]*$/;
const PEM = /^[A-Za-z0-9+/=\s-]*$/;

export interface StringLimit {
  max: number;
  re: RegExp;
  what: string;
}

export const LIMITS = {
  nodeId: { max: 64, re: ID, what: 'letters, digits, . _ : + ~ -' },
  agentVersion: { max: 64, re: VERSION, what: 'a version (letters, digits, . _ + ~ -)' },
  k3sMode: { max: 16, re: /^[a-z-]*$/, what: 'lowercase letters and -' },
  commandId: { max: 64, re: ID, what: 'letters, digits, . _ : + ~ -' },
  hostname: { max: 253, re: HOSTNAME, what: 'printable characters without spaces' },
  os: { max: 200, re: TEXT, what: 'printable characters' },
  kernel: { max: 200, re: TEXT, what: 'printable characters' },
  arch: { max: 32, re: /^[A-Za-z0-9_.-]*$/, what: 'letters, digits, _ . -' },
  address: { max: 64, re: ADDRESS, what: 'an IP address' },
  bootId: { max: 64, re: /^[A-Za-z0-9-]*$/, what: 'letters, digits and -' },
  machineId: { max: 64, re: /^[A-Za-z0-9-]*$/, what: 'letters, digits and -' },
  provider: { max: 32, re: /^[a-z0-9-]*$/, what: 'lowercase letters, digits and -' },
  k3sState: { max: 32, re: /^[a-z-]*$/, what: 'lowercase letters and -' },
  k3sVersion: { max: 64, re: VERSION, what: 'a version (letters, digits, . _ + ~ -)' },
  logLine: { max: 1024, re: TEXT_OR_TAB, what: 'printable characters' },
  errorCode: { max: 64, re: CODE, what: 'letters, digits, _ . -' },
  message: { max: 2048, re: TEXT_OR_TAB, what: 'printable characters' },
  csrPem: { max: 16384, re: PEM, what: 'a PEM document' },
  closeCode: { max: 64, re: CODE, what: 'letters, digits, _ . -' },
  closeReason: { max: 512, re: TEXT_OR_TAB, what: 'printable characters' },
} as const satisfies Record<string, StringLimit>;

export const COUNT_LIMITS = {
  addresses: 64,
  completedCommandIds: 100,
  lastLogLines: 20,
  cpus: 100_000,
} as const;

/** Code of the Close envelope the hub sends when a field is out of bounds. */
export const FIELD_INVALID = 'FIELD_INVALID';

/** What is wrong with one string field, or undefined. Never echoes the value. */
export function checkString(path: string, value: unknown, limit: StringLimit): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return `${path}: not a string`;
  if (value.length > limit.max) return `${path}: ${value.length} characters, at most ${limit.max} allowed`;
  if (!limit.re.test(value)) return `${path}: must be ${limit.what}`;
  return undefined;
}

function checkList(path: string, values: unknown, max: number, limit: StringLimit): string | undefined {
  if (values === undefined || values === null) return undefined;
  if (!Array.isArray(values)) return `${path}: not a list`;
  if (values.length > max) return `${path}: ${values.length} entries, at most ${max} allowed`;
  for (let i = 0; i < values.length; i++) {
    const bad = checkString(`${path}[${i}]`, values[i], limit);
    if (bad) return bad;
  }
  return undefined;
}

function checkNumber(path: string, value: unknown, max: number): string | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max) return `${path}: must be a number from 0 to ${max}`;
  return undefined;
}

function first(...checks: Array<() => string | undefined>): string | undefined {
  for (const c of checks) {
    const bad = c();
    if (bad) return bad;
  }
  return undefined;
}

/** What is wrong with a frame from an agent (the first violation), or undefined when it is in bounds. */
export function checkAgentFrame(frame: Frame): string | undefined {
  switch (frame.payload) {
    case 'hello': {
      const h = frame.hello ?? {};
      const f = h.facts ?? {};
      return first(
        () => checkString('hello.nodeId', h.nodeId, LIMITS.nodeId),
        () => checkString('hello.agentVersion', h.agentVersion, LIMITS.agentVersion),
        () => checkString('hello.k3sMode', h.k3sMode, LIMITS.k3sMode),
        () =>
          checkList(
            'hello.completedCommandIds',
            h.completedCommandIds,
            COUNT_LIMITS.completedCommandIds,
            LIMITS.commandId,
          ),
        () => checkString('hello.facts.hostname', f.hostname, LIMITS.hostname),
        () => checkString('hello.facts.os', f.os, LIMITS.os),
        () => checkString('hello.facts.kernel', f.kernel, LIMITS.kernel),
        () => checkString('hello.facts.arch', f.arch, LIMITS.arch),
        () => checkNumber('hello.facts.cpus', f.cpus, COUNT_LIMITS.cpus),
        () => checkNumber('hello.facts.memoryBytes', f.memoryBytes, Number.MAX_SAFE_INTEGER),
        () => checkList('hello.facts.addresses', f.addresses, COUNT_LIMITS.addresses, LIMITS.address),
        () => checkString('hello.facts.bootId', f.bootId, LIMITS.bootId),
        () => checkString('hello.facts.machineId', f.machineId, LIMITS.machineId),
        () => checkString('hello.facts.provider', f.provider, LIMITS.provider),
      );
    }
    case 'health': {
      // Numbers are fixed-size and coerced on receipt (non-finite ones count as 0); strings are bounded.
      const k = frame.health?.k3s ?? {};
      return first(
        () => checkString('health.k3s.state', k.state, LIMITS.k3sState),
        () => checkString('health.k3s.version', k.version, LIMITS.k3sVersion),
        () => checkList('health.k3s.lastLogLines', k.lastLogLines, COUNT_LIMITS.lastLogLines, LIMITS.logLine),
      );
    }
    case 'commandResult': {
      const r = frame.commandResult ?? {};
      return first(
        () => checkString('commandResult.commandId', r.commandId, LIMITS.commandId),
        () => checkString('commandResult.errorCode', r.errorCode, LIMITS.errorCode),
        () => checkString('commandResult.message', r.message, LIMITS.message),
      );
    }
    case 'certRenewRequest':
      return checkString('certRenewRequest.csrPem', frame.certRenewRequest?.csrPem, LIMITS.csrPem);
    case 'close':
      return first(
        () => checkString('close.code', frame.close?.code, LIMITS.closeCode),
        () => checkString('close.reason', frame.close?.reason, LIMITS.closeReason),
      );
    default:
      return undefined;
  }
}

/** Free text made safe to send: control characters replaced, cut to `max` characters. For the agent. */
export function clampText(text: string, max: number): string {
  const clean = text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, ' ').replace(/[\p{Cf}\p{Cs}]/gu, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
