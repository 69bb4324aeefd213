// KEY=VALUE files such as /etc/conf.d/tsdistccd, which systemd reads through
// EnvironmentFile= and OpenRC or a shell reads with `.`. Only what both read the
// same way is accepted; anything they would read differently is a ConfigError
// naming FILE:LINE, so a file this parser takes means one thing everywhere.
//
// Accepted:
//   - blank lines; comment lines starting with `#` or `;` (after blanks);
//   - `KEY=value`, optionally preceded by `export ` and by blanks;
//     KEY is [A-Za-z_][A-Za-z0-9_]*, with nothing between it and `=`;
//   - unquoted text: a backslash takes the next character literally, and a
//     backslash-newline joins the next line; the first unquoted space or tab
//     ends the value, after which only blanks may follow;
//   - "double quotes": \" \\ \$ \` are escapes, backslash-newline joins the next
//     line, any other backslash stays (as in sh); newlines are kept;
//   - 'single quotes': verbatim, newlines kept;
//   - quoted parts joined to each other and followed by unquoted text:
//     KEY="a"'b'c is `abc`.
//
// Kept literally, never expanded: `$NAME`, `${...}`, `$(...)` and backquotes.
// systemd does not expand them in an EnvironmentFile; sh would.
//
// Rejected because sh and systemd disagree (or sh would run a command):
//   - unquoted whitespace inside a value (`A=b c`: sh runs `c`);
//   - a quote after unquoted text (`A=a"b"`: systemd keeps the quotes);
//   - unquoted ; & | < > ( ) (shell syntax);
//   - an unquoted `~` at the start of a value or after `:` (sh expands it);
//   - a carriage return outside quotes (systemd ends the line there);
//   - a backslash as the last character of the file (sh keeps it, systemd
//     drops it).
//
// A `# comment` after a value is refused too (sh drops it, systemd keeps it
// as part of the value). Where the two still differ, sh wins: `export ` is accepted (systemd
// ignores such a line), `;` comment lines are accepted (sh rejects them) and a
// comment ending in a backslash does not continue onto the next line (systemd
// before v254 continued it).

import { ConfigError } from '../errors.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXPORT = /export[ \t]+/y;
const SHELL_SYNTAX = new Set([';', '&', '|', '<', '>', '(', ')']);
const DOUBLE_QUOTE_ESCAPES = new Set(['"', '\\', '$', '`']);

/**
 * Parses the text of an env file; `file` names it in error messages.
 * Returns a Map from key to value, in the order each key was first assigned;
 * a later assignment of the same key replaces the value.
 * @throws ConfigError `FILE:LINE: expected ..., got ...` on anything malformed.
 */
export function parseEnvFile(text: string, file: string): Map<string, string> {
  return new EnvFileParser(text, file).parse();
}

function isBlank(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

class EnvFileParser {
  private readonly text: string;
  private readonly file: string;
  private readonly lines: string[];
  private readonly result = new Map<string, string>();
  private pos = 0;
  private line = 1;

  constructor(text: string, file: string) {
    this.text = text;
    this.file = file;
    this.lines = text.split('\n');
  }

  parse(): Map<string, string> {
    for (;;) {
      this.skipBlanks();
      const c = this.text[this.pos];
      if (c === undefined) return this.result;
      if (c === '\n') {
        this.pos++;
        this.line++;
      } else if (c === '#' || c === ';') {
        this.skipToEndOfLine();
      } else {
        this.assignment();
      }
    }
  }

  private assignment(): void {
    EXPORT.lastIndex = this.pos;
    if (EXPORT.test(this.text)) this.pos = EXPORT.lastIndex;
    const endOfLine = this.endOfLine();
    const eq = this.text.indexOf('=', this.pos);
    const key = eq === -1 || eq > endOfLine ? '' : this.text.slice(this.pos, eq);
    if (key === '' || /[ \t]/.test(key)) {
      throw this.fail(this.line, `expected KEY=VALUE, got \`${this.lineText(this.line)}\``);
    }
    if (!KEY.test(key)) {
      throw this.fail(
        this.line,
        `expected a KEY of letters, digits and underscores not starting with a digit, got \`${key}\``,
      );
    }
    this.pos = eq + 1;
    this.result.set(key, this.value(key));
  }

  /** From just after `=` to the end of the value and of its line. */
  private value(key: string): string {
    let value = '';
    let unquotedSeen = false; // systemd takes quotes only before any unquoted text
    let tildeExpands = true; // sh expands `~` at the start and after an unquoted `:`
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n') return value;
      if (isBlank(c)) {
        this.afterValue(key);
        return value;
      }
      if (c === '\r') throw this.carriageReturn();
      if (c === '\\') {
        const next = this.text[this.pos + 1];
        if (next === undefined) {
          throw this.fail(
            this.line,
            `expected a character after the backslash, got the end of the file after \`${this.lineText(this.line)}\``,
          );
        }
        if (next === '\r') throw this.carriageReturn();
        this.pos += 2;
        if (next === '\n') {
          this.line++;
        } else {
          value += next;
          tildeExpands = false;
        }
        unquotedSeen = true;
        continue;
      }
      if (c === '"' || c === "'") {
        if (unquotedSeen) {
          throw this.fail(
            this.line,
            `expected no quote after unquoted text in the value of ${key} (systemd keeps such a quote, sh removes it), got \`${this.lineText(this.line)}\``,
          );
        }
        value += c === '"' ? this.doubleQuoted() : this.singleQuoted();
        tildeExpands = false;
        continue;
      }
      if (SHELL_SYNTAX.has(c)) {
        throw this.fail(
          this.line,
          `expected no unquoted \`${c}\` in the value of ${key} (sh reads it as shell syntax; quote the value), got \`${this.lineText(this.line)}\``,
        );
      }
      if (c === '~' && tildeExpands) {
        throw this.fail(
          this.line,
          `expected no unquoted \`~\` at the start of the value of ${key} or after \`:\` (sh expands it to a home directory, systemd does not; quote it), got \`${this.lineText(this.line)}\``,
        );
      }
      value += c;
      this.pos++;
      unquotedSeen = true;
      tildeExpands = c === ':';
    }
  }

  /** After the blank that ended a value: only blanks and a comment. */
  private afterValue(key: string): void {
    this.skipBlanks();
    const c = this.text[this.pos];
    if (c === undefined || c === '\n') return;
    if (c === '#') {
      // sh drops it, systemd's EnvironmentFile= keeps it in the value (and
      // ExecStart=$DISTCC_ARGS would pass its words as options): refuse.
      throw this.fail(
        this.line,
        `expected a comment on a line of its own (systemd would read this one as part of the value of ${key}), got \`${this.lineText(this.line)}\``,
      );
    }
    if (c === '\r') throw this.carriageReturn();
    throw this.fail(
      this.line,
      `expected the value of ${key} to end at its first unquoted space or tab (quote a value that has spaces), got \`${this.lineText(this.line)}\``,
    );
  }

  private doubleQuoted(): string {
    const openLine = this.line;
    let out = '';
    this.pos++;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined) throw this.unterminated('"', openLine);
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        const next = this.text[this.pos + 1];
        if (next === '\n') {
          this.pos += 2;
          this.line++;
        } else if (next !== undefined && DOUBLE_QUOTE_ESCAPES.has(next)) {
          out += next;
          this.pos += 2;
        } else {
          out += c; // kept, as sh does; the next character is read on its own
          this.pos++;
        }
        continue;
      }
      if (c === '\n') this.line++;
      out += c;
      this.pos++;
    }
  }

  private singleQuoted(): string {
    const openLine = this.line;
    const close = this.text.indexOf("'", this.pos + 1);
    if (close === -1) throw this.unterminated("'", openLine);
    const out = this.text.slice(this.pos + 1, close);
    for (const c of out) if (c === '\n') this.line++;
    this.pos = close + 1;
    return out;
  }

  private skipBlanks(): void {
    while (isBlank(this.text[this.pos])) this.pos++;
  }

  private skipToEndOfLine(): void {
    this.pos = this.endOfLine();
  }

  private endOfLine(): number {
    const newline = this.text.indexOf('\n', this.pos);
    return newline === -1 ? this.text.length : newline;
  }

  private lineText(line: number): string {
    return (this.lines[line - 1] ?? '').trim();
  }

  private unterminated(quote: string, openLine: number): ConfigError {
    return this.fail(
      openLine,
      `expected a closing ${quote} for the quote opened on this line, got the end of the file; the line is \`${this.lineText(openLine)}\``,
    );
  }

  private carriageReturn(): ConfigError {
    return this.fail(
      this.line,
      `expected lines ending in a newline alone, got a carriage return (CRLF line endings?) in \`${this.lineText(this.line)}\``,
    );
  }

  private fail(line: number, what: string): ConfigError {
    return new ConfigError(`${this.file}:${line}: ${what}`);
  }
}
