// Log output for the hub and the agent (shared, like files.ts): one JSON object per line (pino's
// own format) for journals and collectors, or short readable lines when stderr is a terminal.
// ATOLL_LOG_FORMAT=json|pretty overrides the choice. No dependency: pino hands each line to write().
import { writeSync } from 'node:fs';
import { pino } from 'pino';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '36' },
  30: { name: 'INFO', color: '32' },
  40: { name: 'WARN', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '35' },
};
const HIDDEN = new Set(['level', 'time', 'msg', 'svc', 'component', 'pid', 'hostname', 'v']);
const MAX_VALUE = 300;

function value(v: unknown): string {
  const text = typeof v === 'string' ? (/[\s="]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE)}…` : text;
}

/** One pino JSON line as `HH:MM:SS.mmm LEVEL component: message key=value …` (+ an error's stack). */
export function prettyLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const lv = LEVELS[Number(o.level)] ?? { name: String(o.level), color: '0' };
  const time =
    new Date(Number(o.time) || Date.now()).toTimeString().slice(0, 8) +
    `.${String(new Date(Number(o.time) || Date.now()).getMilliseconds()).padStart(3, '0')}`;
  const level = color ? `\x1b[${lv.color}m${lv.name.padEnd(5)}\x1b[0m` : lv.name.padEnd(5);
  const where = typeof o.component === 'string' ? `${o.component}: ` : '';
  const err = o.err as { message?: string; stack?: string; type?: string } | undefined;
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k) && k !== 'err')
    .map(([k, v]) => `${k}=${value(v)}`);
  if (err && typeof err === 'object') fields.unshift(`err=${value(err.message ?? err.type ?? err)}`);
  const dim = (s: string): string => (color && s ? `\x1b[2m${s}\x1b[0m` : s);
  let out = `${dim(time)} ${level} ${where}${String(o.msg ?? '')}${fields.length ? ` ${dim(fields.join(' '))}` : ''}\n`;
  if (err?.stack && Number(o.level) >= 50)
    out +=
      err.stack
        .split('\n')
        .slice(1)
        .map((l) => `    ${l.trim()}`)
        .join('\n') + '\n';
  return out;
}

export type LogFormat = 'json' | 'pretty';

export function logFormat(env: NodeJS.ProcessEnv = process.env, isTty = Boolean(process.stderr.isTTY)): LogFormat {
  const f = env.ATOLL_LOG_FORMAT;
  if (f === 'json' || f === 'pretty') return f;
  return isTty ? 'pretty' : 'json';
}

/** Where a process's logs go: stderr, as JSON lines or pretty lines (see logFormat). */
export function logDestination(format: LogFormat = logFormat()): pino.DestinationStream {
  if (format === 'json') return pino.destination({ dest: 2, sync: true });
  const color = Boolean(process.stderr.isTTY) && process.env.NO_COLOR === undefined;
  return { write: (line: string) => void writeSync(2, prettyLine(line, color)) };
}
