// What a log line, a page or a terminal must never get raw from a client:
// C0 controls (but the line's own LF where a test allows it), DEL, C1, the
// line and paragraph separators and the bidi controls. Checked code unit by
// code unit (a regular expression of control characters is what lint forbids).

/** Whether code unit `u` is one of those. */
export function forbiddenUnit(u: number): boolean {
  return (
    u < 0x20 ||
    (u >= 0x7f && u <= 0x9f) ||
    u === 0x2028 ||
    u === 0x2029 ||
    (u >= 0x202a && u <= 0x202e) ||
    (u >= 0x2066 && u <= 0x2069) ||
    u === 0x200e ||
    u === 0x200f ||
    u === 0x061c
  );
}

/** The first forbidden character in `text` as `U+HHHH at I`, or undefined; LF is let through if `lines`. */
export function firstRaw(text: string, { lines = false } = {}): string | undefined {
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    if (lines && u === 0x0a) continue;
    if (forbiddenUnit(u)) return `U+${u.toString(16).padStart(4, '0')} at ${i}`;
  }
  return undefined;
}
