// Incremental decoder of a client's request, protocols 1, 2 and 3:
//   DIST ver, ARGC n, n x ARGV len bytes, DOTI len bytes
//   DIST 3, CDIR len dir, ARGC n, n x ARGV, NFIL n, n x (NAME len path, FILE len lzo | LINK len target)
// (distcc doc/protocol-1.txt, doc/protocol-3.txt). It keeps the partial tail between chunks, so
// any split of the stream decodes the same. No sockets here: push() bytes,
// get the request once it is complete. A wrong token, a bad number or a claim
// over a limit throws ProtocolError; the caller closes the connection.

import { ProtocolError } from '../errors.js';
import { defaultLimits, type RequestLimits } from './limits.js';
import { TOKEN_LENGTH, Token, decodeToken } from './token.js';

/** One entry of a pump request: a source or header (LZO-compressed), or a symlink. */
export type PumpEntry =
  { name: string; kind: 'file'; body: Buffer } | { name: string; kind: 'link'; target: string };

export type CompileRequest = {
  /** Protocol version the client asked for: 0 (treated as 1), 1, 2 or 3. */
  version: number;
  args: string[];
  /** The DOTI body as sent: LZO-compressed for version 2. Empty for version 3. */
  body: Buffer;
  /**
   * The same body in the pieces it arrived in (versions 0-2): a big source is
   * written to the compiler without first being copied into one buffer.
   */
  bodyChunks?: readonly Buffer[];
  /** The body went to streamBody()'s sink as it arrived: `body` and `bodyChunks` are empty. */
  bodyStreamed?: boolean;
  /** Version 3: the client's working directory. */
  cwd?: string;
  /** Version 3: the files and links, as sent. */
  files?: PumpEntry[];
};

type Phase =
  | 'dist'
  | 'cdir'
  | 'cdir-body'
  | 'argc'
  | 'argv'
  | 'argv-body'
  | 'doti'
  | 'doti-body'
  | 'nfil'
  | 'name'
  | 'name-body'
  | 'entry'
  | 'file-body'
  | 'link-body'
  | 'done';

/** Highest protocol version this decoder takes. */
export const MAX_VERSION = 3;

export class RequestDecoder {
  readonly #limits: RequestLimits;
  #chunks: Buffer[] = [];
  #buffered = 0;
  #phase: Phase = 'dist';
  #version = 0;
  #argc = 0;
  #args: string[] = [];
  #bodyLength = 0;
  #request: CompileRequest | undefined;
  #cwd = '';
  #nfil = 0;
  #files: PumpEntry[] = [];
  #name = '';
  #fileBytes = 0;
  #sink: ((piece: Buffer) => void) | undefined;
  #sunk = 0;
  /** Bytes of ARGV strings and CDIR taken so far. */
  #argBytes = 0;
  /** Bytes of pump FILE bodies kept. */
  #keptFileBytes = 0;

  constructor(limits: RequestLimits = defaultLimits) {
    this.#limits = limits;
  }

  /** Bytes of the request taken so far; useful for logs and stats. */
  get bytesReceived(): number {
    return this.#received;
  }
  #received = 0;

  /**
   * Bytes of this request the decoder holds in memory: the unparsed tail,
   * the arguments and a pump request's files. What the daemon-wide budget
   * for request data counts (server/request-memory.ts).
   */
  get held(): number {
    return this.#buffered + this.#argBytes + this.#keptFileBytes;
  }

  /** Whether the command line is in (a protocol 3 request's NFIL too): what is left is the body. */
  get headerDone(): boolean {
    switch (this.#phase) {
      case 'dist':
      case 'cdir':
      case 'cdir-body':
      case 'argc':
      case 'argv':
      case 'argv-body':
        return false;
      default:
        return true;
    }
  }

  /** The phase the decoder waits in: for a timeout or EOF message. */
  get phase(): string {
    return this.#phase;
  }

  /** The arguments decoded so far (for log lines about a partial request). */
  get args(): readonly string[] {
    return this.#args;
  }

  /** The protocol version, once DIST is read (0 before). */
  get version(): number {
    return this.#version;
  }

  /**
   * Whether a protocol 0-2 request has all its arguments and waits for the
   * DOTI body: the daemon may start the compiler while the client is still
   * preprocessing (server/early-start.ts).
   */
  get awaitingBody(): boolean {
    return this.#phase === 'doti' || this.#phase === 'doti-body';
  }

  /**
   * From now on, hands a protocol 0-2 body to `sink` piece by piece as it
   * arrives (what is buffered first), as sent (LZO for version 2), instead
   * of keeping it: a big source then lives only as long as it takes to pass
   * it on. Only while awaitingBody; returns whether it took effect.
   */
  streamBody(sink: (piece: Buffer) => void): boolean {
    if (!this.awaitingBody || this.#sink) return false;
    this.#sink = sink;
    if (this.#phase === 'doti-body') this.#flushToSink();
    return true;
  }

  /** In doti-body with a sink: passes on what is buffered; finishes at the body's end. */
  #flushToSink(): void {
    const sink = this.#sink!;
    const left = this.#bodyLength - this.#sunk;
    if (this.#buffered > left) {
      throw new ProtocolError(`${this.#buffered - left} unexpected bytes after the DOTI body`);
    }
    for (const piece of this.#chunks) if (piece.length > 0) sink(piece);
    this.#sunk += this.#buffered;
    this.#chunks = [];
    this.#buffered = 0;
    if (this.#sunk === this.#bodyLength) {
      this.#request = {
        version: this.#version,
        args: this.#args,
        body: Buffer.alloc(0),
        bodyChunks: [],
        bodyStreamed: true,
      };
      this.#phase = 'done';
    }
  }

  /**
   * Takes the next chunk of the stream. Returns the request when it is
   * complete, undefined while more bytes are needed. Bytes after a complete
   * request are a protocol error: one connection is one job.
   */
  push(chunk: Buffer): CompileRequest | undefined {
    if (this.#phase === 'done') {
      if (chunk.length > 0) throw new ProtocolError('unexpected bytes after a complete request');
      return this.#request;
    }
    this.#received += chunk.length;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (!this.#done() && this.#step()) {
      /* keep going while whole items are available */
    }
    return this.#done() ? this.#request : undefined;
  }

  #done(): boolean {
    return this.#phase === 'done';
  }

  /**
   * The next `n` bytes, once buffered. Only the chunks they span are joined
   * (not the whole tail: a big FILE behind many small items is not copied
   * once per item). The result may be a view of a chunk off the socket.
   */
  #take(n: number): Buffer | undefined {
    if (this.#buffered < n) return undefined;
    const chunks = this.#chunks;
    const first = chunks[0];
    if (n === 0) return Buffer.alloc(0);
    let head: Buffer;
    let used = 0; // whole chunks taken
    let cut = 0; // bytes of chunks[used] taken
    if (first!.length >= n) {
      head = first!.subarray(0, n);
      if (first!.length === n) used = 1;
      else cut = n;
    } else {
      head = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = chunks[used]!;
        const k = Math.min(c.length, n - at);
        c.copy(head, at, 0, k);
        at += k;
        if (k === c.length) used++;
        else cut = k;
      }
    }
    if (cut > 0) chunks[used] = chunks[used]!.subarray(cut);
    if (used > 0) chunks.splice(0, used);
    this.#buffered -= n;
    return head;
  }

  #countArgBytes(what: string, length: number): void {
    this.#argBytes += length;
    if (this.#argBytes > this.#limits.maxArgBytes) {
      throw new ProtocolError(
        `${what} brings the command line to ${this.#argBytes} bytes, over the limit of ${this.#limits.maxArgBytes}`,
      );
    }
  }

  #token(expected: string): number | undefined {
    const head = this.#take(TOKEN_LENGTH);
    if (!head) return undefined;
    const token = decodeToken(head, 0);
    if (!token) {
      throw new ProtocolError(
        `expected token ${expected}, got bytes \`${printable(head)}\` that are not a token`,
      );
    }
    if (token.name !== expected) {
      throw new ProtocolError(`expected token ${expected}, got ${printable(head)}`);
    }
    return token.value;
  }

  #pathLength(what: string, length: number): number {
    if (length > this.#limits.maxArgLength) {
      throw new ProtocolError(
        `${what} is ${length} bytes, over the limit of ${this.#limits.maxArgLength}`,
      );
    }
    return length;
  }

  #text(what: string, body: Buffer): string {
    const text = body.toString('utf8');
    if (text.includes('\0')) throw new ProtocolError(`${what} contains a NUL byte`);
    return text;
  }

  #finish(): void {
    if (this.#buffered > 0) {
      throw new ProtocolError(`${this.#buffered} unexpected bytes after the request`);
    }
    this.#request = {
      version: this.#version,
      args: this.#args,
      body: Buffer.alloc(0),
      cwd: this.#cwd,
      files: this.#files,
    };
    this.#phase = 'done';
  }

  #step(): boolean {
    switch (this.#phase) {
      case 'dist': {
        const version = this.#token(Token.DIST);
        if (version === undefined) return false;
        // distcc src/serve.c accepts DIST00000000 and answers it as version 0.
        if (version > MAX_VERSION) {
          throw new ProtocolError(
            `protocol version ${version} is not served here (versions 0 to ${MAX_VERSION})`,
          );
        }
        this.#version = version;
        this.#phase = version === 3 ? 'cdir' : 'argc';
        return true;
      }
      case 'cdir': {
        const length = this.#token(Token.CDIR);
        if (length === undefined) return false;
        this.#bodyLength = this.#pathLength('CDIR', length);
        this.#countArgBytes('CDIR', length);
        this.#phase = 'cdir-body';
        return true;
      }
      case 'cdir-body': {
        const body = this.#take(this.#bodyLength);
        if (!body) return false;
        this.#cwd = this.#text('CDIR', body);
        this.#phase = 'argc';
        return true;
      }
      case 'argc': {
        const argc = this.#token(Token.ARGC);
        if (argc === undefined) return false;
        if (argc < 1 || argc > this.#limits.maxArgs) {
          throw new ProtocolError(`ARGC must be 1 to ${this.#limits.maxArgs}, got ${argc}`);
        }
        this.#argc = argc;
        this.#phase = 'argv';
        return true;
      }
      case 'argv': {
        const length = this.#token(Token.ARGV);
        if (length === undefined) return false;
        if (length > this.#limits.maxArgLength) {
          throw new ProtocolError(
            `ARGV ${this.#args.length} is ${length} bytes, over the limit of ${this.#limits.maxArgLength}`,
          );
        }
        this.#countArgBytes(`ARGV ${this.#args.length}`, length);
        this.#bodyLength = length;
        this.#phase = 'argv-body';
        return true;
      }
      case 'argv-body': {
        const body = this.#take(this.#bodyLength);
        if (!body) return false;
        const arg = body.toString('utf8');
        if (arg.includes('\0')) {
          throw new ProtocolError(`ARGV ${this.#args.length} contains a NUL byte`);
        }
        this.#args.push(arg);
        if (this.#args.length < this.#argc) this.#phase = 'argv';
        else this.#phase = this.#version === 3 ? 'nfil' : 'doti';
        return true;
      }
      case 'nfil': {
        const n = this.#token(Token.NFIL);
        if (n === undefined) return false;
        if (n > this.#limits.maxFiles) {
          throw new ProtocolError(`NFIL ${n} is over the limit of ${this.#limits.maxFiles} files`);
        }
        this.#nfil = n;
        this.#phase = n > 0 ? 'name' : 'done';
        if (n === 0) this.#finish();
        return true;
      }
      case 'name': {
        const length = this.#token(Token.NAME);
        if (length === undefined) return false;
        this.#bodyLength = this.#pathLength('NAME', length);
        this.#phase = 'name-body';
        return true;
      }
      case 'name-body': {
        const body = this.#take(this.#bodyLength);
        if (!body) return false;
        this.#name = this.#text('NAME', body);
        this.#phase = 'entry';
        return true;
      }
      case 'entry': {
        const head = this.#take(TOKEN_LENGTH);
        if (!head) return false;
        const token = decodeToken(head, 0);
        if (!token || (token.name !== Token.FILE && token.name !== Token.LINK)) {
          throw new ProtocolError(`expected token FILE or LINK, got ${printable(head)}`);
        }
        if (token.name === Token.FILE) {
          this.#fileBytes += token.value;
          if (this.#fileBytes > this.#limits.maxBodySize) {
            throw new ProtocolError(
              `the files of this request are over the limit of ${this.#limits.maxBodySize} bytes`,
            );
          }
          this.#bodyLength = token.value;
          this.#phase = 'file-body';
        } else {
          this.#bodyLength = this.#pathLength('LINK', token.value);
          this.#phase = 'link-body';
        }
        return true;
      }
      case 'file-body':
      case 'link-body': {
        const body = this.#take(this.#bodyLength);
        if (!body) return false;
        if (this.#phase === 'file-body') {
          // A view of a socket chunk is copied, so the chunk is not kept for it.
          const own = body.byteOffset === 0 && body.buffer.byteLength === body.length;
          this.#files.push({
            name: this.#name,
            kind: 'file',
            body: own ? body : Buffer.from(body),
          });
          this.#keptFileBytes += body.length;
        } else {
          this.#files.push({ name: this.#name, kind: 'link', target: this.#text('LINK', body) });
        }
        if (this.#files.length < this.#nfil) this.#phase = 'name';
        else this.#finish();
        return true;
      }
      case 'doti': {
        const length = this.#token(Token.DOTI);
        if (length === undefined) return false;
        if (length > this.#limits.maxBodySize) {
          throw new ProtocolError(
            `DOTI is ${length} bytes, over the limit of ${this.#limits.maxBodySize}`,
          );
        }
        this.#bodyLength = length;
        this.#phase = 'doti-body';
        return true;
      }
      case 'doti-body': {
        if (this.#sink) {
          this.#flushToSink();
          return false;
        }
        if (this.#buffered < this.#bodyLength) return false;
        if (this.#buffered > this.#bodyLength) {
          throw new ProtocolError(
            `${this.#buffered - this.#bodyLength} unexpected bytes after the DOTI body`,
          );
        }
        const chunks = this.#chunks;
        this.#chunks = [];
        this.#buffered = 0;
        let whole: Buffer | undefined;
        const request = { version: this.#version, args: this.#args, bodyChunks: chunks } as Omit<
          CompileRequest,
          'body'
        > as CompileRequest;
        // Joined only if asked for (an LZO body, a test).
        Object.defineProperty(request, 'body', {
          enumerable: true,
          get: () => (whole ??= chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)),
        });
        this.#request = request;
        this.#phase = 'done';
        return true;
      }
      case 'done':
        return false;
    }
  }
}

function printable(bytes: Buffer): string {
  return bytes
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
