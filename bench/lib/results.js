// Sections of bench/RESULTS.md: newest first, after the file's header and its
// standing summary ("## What the numbers say ..."), if that comes first.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './daemons.js';
import { ratio } from './stats.js';

export const RESULTS_FILE = join(ROOT, 'bench/RESULTS.md');
const HEADER =
  '# Benchmark results\n\nNewest first. Each section says the machine and the command.\n\n';

/** `text` with `section` inserted where the newest section goes. */
export function insertSection(text, section) {
  const [head, ...sections] = text.split(/^(?=## )/m);
  const keep = sections[0]?.startsWith('## What the numbers say') ? 1 : 0;
  const body = section.endsWith('\n') ? section : `${section}\n`;
  return [head || HEADER, ...sections.slice(0, keep), `${body}\n`, ...sections.slice(keep)].join(
    '',
  );
}

export function appendSection(section, file = RESULTS_FILE) {
  let text = HEADER;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* a new file */
  }
  writeFileSync(file, insertSection(text, section));
}

/** A Markdown table: `header` is a list of column titles, `rows` lists of cells. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `Ratio tsdistccd / distccd, what: **1.17**` — the line every benchmark ends with. */
export function ratioLine(what, tsdistccd, distccd, digits = 2) {
  return `Ratio tsdistccd / distccd, ${what}: **${ratio(tsdistccd, distccd, digits)}**`;
}
