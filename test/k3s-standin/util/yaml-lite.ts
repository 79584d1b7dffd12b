// A small YAML reader for the two files the stand-in reads: k3s config files and kubeconfigs.
// Block maps and sequences, plain/quoted scalars, flow sequences and empty flow maps, comments.
// Scalars stay strings (callers decide what "true" or "0644" mean).

export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly indent: number;
  readonly text: string;
  readonly no: number;
}

export class YamlError extends Error {}

function stripComment(s: string): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) {
      return s.slice(0, i);
    }
  }
  return s;
}

function toLines(src: string): Line[] {
  const out: Line[] = [];
  src.split(/\r?\n/).forEach((raw, idx) => {
    if (raw.trim() === '---' || raw.trim() === '...') return;
    const noComment = stripComment(raw).replace(/\s+$/, '');
    if (noComment.trim() === '') return;
    const indent = noComment.length - noComment.trimStart().length;
    out.push({ indent, text: noComment.trimStart(), no: idx + 1 });
  });
  return out;
}

function unquoteDouble(s: string): string {
  return s.replace(/\\(["\\/bfnrt]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})/g, (_m, e: string) => {
    switch (e[0]) {
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'x':
      case 'u':
        return String.fromCharCode(parseInt(e.slice(1), 16));
      default:
        return e;
    }
  });
}

function splitFlow(inner: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const c of inner) {
    if (quote) {
      cur += c;
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (c === ',') {
      parts.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim() !== '') parts.push(cur.trim());
  return parts;
}

function scalar(text: string): YamlValue {
  const t = text.trim();
  if (t === '' || t === '~' || t === 'null') return null;
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) return unquoteDouble(t.slice(1, -1));
  if (t.startsWith("'") && t.endsWith("'") && t.length >= 2) return t.slice(1, -1).replace(/''/g, "'");
  if (t.startsWith('[') && t.endsWith(']')) return splitFlow(t.slice(1, -1)).map((p) => scalar(p));
  if (t.startsWith('{') && t.endsWith('}')) {
    const obj: Record<string, YamlValue> = {};
    for (const p of splitFlow(t.slice(1, -1))) {
      const i = p.indexOf(':');
      if (i < 0) throw new YamlError(`invalid flow mapping entry ${p}`);
      obj[String(scalar(p.slice(0, i)))] = scalar(p.slice(i + 1));
    }
    return obj;
  }
  return t;
}

/** Index of the ':' that ends a mapping key, or -1. */
function keyColon(text: string): number {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === ':' && (i === text.length - 1 || text[i + 1] === ' ' || text[i + 1] === '\t')) {
      return i;
    }
  }
  return -1;
}

const isSeqItem = (t: string): boolean => t === '-' || t.startsWith('- ');

class Parser {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlValue {
    if (this.lines.length === 0) return null;
    const first = this.lines[0] as Line;
    const v = this.parseBlock(first.indent);
    if (this.i < this.lines.length)
      throw new YamlError(`unexpected content at line ${(this.lines[this.i] as Line).no}`);
    return v;
  }

  private parseBlock(indent: number): YamlValue {
    const line = this.lines[this.i];
    if (!line) return null;
    if (isSeqItem(line.text)) return this.parseSeq(indent);
    if (keyColon(line.text) >= 0) return this.parseMap(indent);
    this.i++;
    return scalar(line.text);
  }

  private parseSeq(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (
      let line = this.lines[this.i];
      line && line.indent === indent && isSeqItem(line.text);
      line = this.lines[this.i]
    ) {
      const rest = line.text === '-' ? '' : line.text.slice(2);
      const restTrim = rest.trimStart();
      if (restTrim === '') {
        this.i++;
        const next = this.lines[this.i];
        out.push(next && next.indent > indent ? this.parseBlock(next.indent) : null);
      } else if (keyColon(restTrim) >= 0 || isSeqItem(restTrim)) {
        const childIndent = indent + 2 + (rest.length - restTrim.length);
        this.lines[this.i] = { indent: childIndent, text: restTrim, no: line.no };
        out.push(this.parseBlock(childIndent));
      } else {
        this.i++;
        out.push(scalar(restTrim));
      }
    }
    return out;
  }

  private parseMap(indent: number): Record<string, YamlValue> {
    const out: Record<string, YamlValue> = {};
    for (
      let line = this.lines[this.i];
      line && line.indent === indent && !isSeqItem(line.text);
      line = this.lines[this.i]
    ) {
      const c = keyColon(line.text);
      if (c < 0) throw new YamlError(`expected a mapping key at line ${line.no}`);
      const key = String(scalar(line.text.slice(0, c)));
      const value = line.text.slice(c + 1).trim();
      this.i++;
      if (value !== '') {
        out[key] = scalar(value);
        continue;
      }
      const next = this.lines[this.i];
      if (next && next.indent > indent) out[key] = this.parseBlock(next.indent);
      else if (next && next.indent === indent && isSeqItem(next.text)) out[key] = this.parseSeq(indent);
      else out[key] = null;
    }
    return out;
  }
}

export function parseYaml(src: string): YamlValue {
  return new Parser(toLines(src)).parseDocument();
}

export function isYamlMap(v: YamlValue | undefined): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
