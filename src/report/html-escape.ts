/**
 * Escaping for the HTML report. Everything a report shows about a host came from the network
 * (host names from target files, certificate subjects, NTLM names, server strings) and is
 * hostile until escaped. Every value goes through `esc`, in text and in double-quoted
 * attributes alike (HTML Living Standard 13.1.2.3, 13.1.3: `&`, `<`, `>`, `"` and `'` are
 * enough in both places); values are never put in a script, a style or an unquoted attribute.
 */
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * C0 controls other than tab and newline, DEL and the C1 controls, and lone surrogates, are
 * parse errors or noncharacters in HTML; a hostile server string may carry them, so they are
 * shown as U+FFFD instead of being handed to the parser.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function esc(value: unknown): string {
  const s = value === null || value === undefined ? '' : String(value);
  return s.replace(UNSAFE, '\ufffd').replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

/** Shorten to `max` characters (by code point), with an ellipsis; the caller escapes. */
export function clip(s: string, max: number): string {
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, Math.max(1, max - 1)).join('') + '\u2026';
}

/** Split text into lines of at most `width` code points, at spaces where possible. */
export function wrap(s: string, width: number, maxLines = 6): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/).filter(Boolean)) {
    let w = word;
    while (Array.from(w).length > width) {
      if (line) {
        out.push(line);
        line = '';
      }
      const cps = Array.from(w);
      out.push(cps.slice(0, width).join(''));
      w = cps.slice(width).join('');
    }
    if (!line) line = w;
    else if (Array.from(line).length + 1 + Array.from(w).length <= width) line += ' ' + w;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line) out.push(line);
  if (out.length > maxLines) {
    const kept = out.slice(0, maxLines);
    kept[maxLines - 1] = clip(kept[maxLines - 1]! + ' \u2026', width);
    return kept;
  }
  return out;
}
