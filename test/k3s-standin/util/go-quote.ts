// Go's strconv.Quote, as used by fmt's %q and by logrus for values that need quoting.

export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** logrus quotes a value unless every character is in [A-Za-z0-9-._/@^+]. */
export function logrusValue(s: string): string {
  if (s.length > 0 && /^[A-Za-z0-9\-._/@^+]+$/.test(s)) return s;
  return goQuote(s);
}
