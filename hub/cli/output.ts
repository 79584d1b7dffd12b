// Human tables (-o table, -o wide: more columns) or one document (-o json, -o yaml), and the CLI's
// error type.
import { AtollError } from '../../certs/atoll-error.js';

/** A command that failed (exit 1, code CLI_FAILED) or was used wrongly (exit 2, code USAGE). */
export class CliError extends AtollError<'USAGE' | 'CLI_FAILED'> {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: ErrorOptions,
  ) {
    super(exitCode === 2 ? 'USAGE' : 'CLI_FAILED', message, options);
    this.name = 'CliError';
  }
}

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutput(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new CliError(`-o must be one of ${OUTPUT_FORMATS.join(', ')}, not "${value}"`, 2);
}

/** json and yaml print the API's document; table and wide print for people. */
export function isStructured(format: OutputFormat): boolean {
  return format === 'json' || format === 'yaml';
}

export function printJson(value: unknown, out: NodeJS.WritableStream = process.stdout): void {
  out.write(JSON.stringify(value, null, 2) + '\n');
}

export function printDocument(value: unknown, format: OutputFormat, out: NodeJS.WritableStream = process.stdout): void {
  if (format === 'yaml') out.write(toYaml(value));
  else printJson(value, out);
}

/** A column of a table; `wide` columns show with -o wide only. */
export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  wide?: boolean;
}

export function printRows<T>(
  columns: Array<Column<T>>,
  rows: T[],
  format: OutputFormat,
  out: NodeJS.WritableStream = process.stdout,
): void {
  const shown = columns.filter((c) => format === 'wide' || !c.wide);
  printTable(
    shown.map((c) => c.header),
    rows.map((r) => shown.map((c) => c.value(r))),
    out,
  );
}

export function printTable(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
  out: NodeJS.WritableStream = process.stdout,
): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  out.write(line(headers) + '\n');
  for (const r of cells) out.write(line(r) + '\n');
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

// Plain scalars only when YAML 1.1 and 1.2 readers both take them as the same string.
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}

function isBlock(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

/** A JSON value as a block-style YAML document (JSON's double-quoted strings are valid YAML). */
export function toYaml(value: unknown, indent = ''): string {
  if (!isBlock(value))
    return `${indent}${Array.isArray(value) ? '[]' : typeof value === 'object' && value !== null ? '{}' : scalar(value)}\n`;
  let out = '';
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isBlock(item)) out += `${indent}- ${toYaml(item, `${indent}  `).slice(indent.length + 2)}`;
      else out += `${indent}- ${toYaml(item).trimEnd()}\n`;
    }
    return out;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (isBlock(v)) out += `${indent}${scalar(k)}:\n${toYaml(v, `${indent}  `)}`;
    else out += `${indent}${scalar(k)}: ${toYaml(v).trimEnd()}\n`;
  }
  return out;
}
