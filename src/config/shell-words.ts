// Splits a value such as DISTCC_ARGS into words the way systemd does for
// `ExecStart=... $DISTCC_ARGS` (extract_first_word with EXTRACT_UNQUOTE):
// spaces, tabs, newlines and carriage returns separate words; 'single' and
// "double" quotes group, and are removed; a backslash takes the next character
// literally, outside quotes and inside both kinds of them. Nothing is expanded:
// `$HOME` stays `$HOME`.
//
// Where this differs from POSIX sh reading the same text as words: inside
// single quotes sh keeps a backslash (systemd, and so this, drops it and keeps
// the next character), and inside double quotes sh keeps a backslash unless
// it comes before $ ` " \ or a newline. (`set -- $VAR` in sh splits at
// whitespace only and keeps every quote; that is not followed.)
//
// Where this differs from systemd: an unterminated quote or a trailing
// backslash is an error here; systemd accepts the first and drops the second.

import { ConfigError } from '../errors.js';

const SEPARATORS = new Set([' ', '\t', '\n', '\r']);
const PLAIN = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The words of `text`, with quotes removed and escapes applied.
 * @throws ConfigError on an unterminated quote or a trailing backslash.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let word: string | undefined; // undefined between words
  let quote: string | undefined;
  let quoteAt = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '\\') {
      if (i + 1 === text.length) {
        throw new ConfigError(
          `expected a character after the backslash at the end of \`${text}\`, got the end of the text`,
        );
      }
      i++;
      word = (word ?? '') + text.charAt(i);
    } else if (quote !== undefined) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      quoteAt = i;
      word ??= '';
    } else if (SEPARATORS.has(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote !== undefined) {
    throw new ConfigError(
      `expected a closing ${quote} for the quote at character ${quoteAt + 1} of \`${text}\`, got the end of the text`,
    );
  }
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * `word` quoted so that splitWords gives it back as one word; also read the
 * same by sh. Words of only safe characters are returned as they are.
 */
export function quoteWord(word: string): string {
  if (PLAIN.test(word)) return word;
  // Without a backslash or a single quote, single quotes mean the same to both.
  if (!/['\\]/.test(word)) return `'${word}'`;
  // In double quotes sh and systemd agree on \" \\ \$ \` (and leave the rest).
  return `"${word.replace(/["\\$`]/g, '\\$&')}"`;
}
