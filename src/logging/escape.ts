// The one escape for text that came from a client (file names, compiler
// names, arguments, host names) on its way into a log line, a syslog
// datagram, the stats page or a terminal: nothing in it can end a line, move
// the cursor, recolour the screen or reorder what a reader sees.
//
//   \  -> \\          (so an escaped form cannot be forged)
//   LF CR TAB -> \n \r \t
//   other C0 controls and DEL -> \xHH
//   C1 controls (U+0080-U+009F), U+2028, U+2029, the bidi controls
//   (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and lone
//   surrogates -> \uHHHH
//
// Every escape starts with a backslash, and a backslash in the output always
// starts one, each of a fixed length: the mapping is injective (unescapeLog
// in the tests reads it back). Everything else, printable non-ASCII
// included, is kept as it is.
//
// It runs on every log call of every job: plain printable ASCII (the usual
// case) is returned as it is after one scan, with no allocation.

/** Whether code unit `c` (not a surrogate) must be escaped. */
function special(c: number): boolean {
  if (c < 0x20 || c === 0x5c) return true;
  if (c < 0x7f) return false;
  if (c <= 0x9f) return true; // DEL and C1
  return (
    c === 0x061c ||
    c === 0x200e ||
    c === 0x200f ||
    (c >= 0x2028 && c <= 0x202e) || // LINE/PARAGRAPH SEPARATOR, LRE RLE PDF LRO RLO
    (c >= 0x2066 && c <= 0x2069) // LRI RLI FSI PDI
  );
}

function hex(c: number, width: number): string {
  return c.toString(16).padStart(width, '0');
}

function escapeUnit(c: number): string {
  switch (c) {
    case 0x5c:
      return '\\\\';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
  }
  return c < 0x80 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`;
}

/** `text` with every character listed above escaped; `text` itself if none is. */
export function escapeLog(text: string): string {
  const n = text.length;
  let i = 0;
  // Fast path: printable ASCII but backslash.
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x5c) break;
  }
  if (i === n) return text;
  let out = text.slice(0, i);
  let from = i;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x5c) continue;
    let esc: string | undefined;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a whole pair: an ordinary character
        continue;
      }
      esc = escapeUnit(c);
    } else if ((c >= 0xdc00 && c <= 0xdfff) || special(c)) {
      esc = escapeUnit(c);
    }
    if (esc === undefined) continue;
    out += text.slice(from, i) + esc;
    from = i + 1;
  }
  return out + text.slice(from);
}

/**
 * The source of escapeLog and its helpers, for the /ui page's script: the
 * page escapes what it shows with the very same code.
 */
export const ESCAPE_LOG_SOURCE = [special, hex, escapeUnit, escapeLog]
  .map((f) => f.toString())
  .join('\n');

/**
 * A value as one token of a `key=value` text log field: escaped, and in
 * double quotes (with `"` as `\"`) when it is empty or holds a space (any
 * Unicode one), `"` or `=`, so that the fields of a line cannot be confused with each other.
 */
export function escapeField(text: string): string {
  const s = escapeLog(text);
  if (s !== '' && !/[\s"=]/.test(s)) return s;
  return `"${s.replace(/"/g, '\\"')}"`;
}

/**
 * JSON text with every character outside printable ASCII written as a
 * `\uHHHH` escape: JSON.parse gives back exactly the same value, and the
 * bytes themselves hold no control, bidi or other invisible character for a
 * terminal (`curl`, `tail`) to act on. For /jobs, /history and
 * `tsdistccmon --json`, which keep client strings exact for programs.
 */
export function asciiJson(value: unknown): string {
  const json = JSON.stringify(value) ?? 'null';
  return /[^\x20-\x7e]/.test(json)
    ? json.replace(/[^\x20-\x7e]/g, (ch) => `\\u${hex(ch.charCodeAt(0), 4)}`)
    : json;
}
