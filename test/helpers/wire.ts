// Test-only protocol writer and reply reader, written from distcc's
// doc/protocol-1.txt without the production code, so that the encoder and
// decoder are never their own oracle.

export function tok(name: string, value: number): Buffer {
  return Buffer.from(name + value.toString(16).padStart(8, '0'), 'ascii');
}

export function request(version: number, argv: string[], body: Buffer): Buffer {
  const parts = [tok('DIST', version), tok('ARGC', argv.length)];
  for (const a of argv) {
    const b = Buffer.from(a);
    parts.push(tok('ARGV', b.length), b);
  }
  parts.push(tok('DOTI', body.length), body);
  return Buffer.concat(parts);
}

/** A protocol-3 (pump) request; FILE bodies are given already in wire form. */
export function pumpRequest(
  cwd: string,
  argv: string[],
  entries: ({ name: string; file: Buffer } | { name: string; link: string })[],
): Buffer {
  const parts = [tok('DIST', 3)];
  const cdir = Buffer.from(cwd);
  parts.push(tok('CDIR', cdir.length), cdir, tok('ARGC', argv.length));
  for (const a of argv) {
    const b = Buffer.from(a);
    parts.push(tok('ARGV', b.length), b);
  }
  parts.push(tok('NFIL', entries.length));
  for (const e of entries) {
    const name = Buffer.from(e.name);
    parts.push(tok('NAME', name.length), name);
    if ('file' in e) parts.push(tok('FILE', e.file.length), e.file);
    else {
      const target = Buffer.from(e.link);
      parts.push(tok('LINK', target.length), target);
    }
  }
  return Buffer.concat(parts);
}

export type ParsedReply = {
  version: number;
  status: number;
  stderr: Buffer;
  stdout: Buffer;
  object: Buffer;
  /** Protocol 3 on success: the .d file, as sent. */
  dependencies?: Buffer;
};

/** Parses a complete protocol 1/2/3 reply; bodies are returned as sent. */
export function parseReply(buf: Buffer): ParsedReply {
  let at = 0;
  const header = (name: string): number => {
    const head = buf.subarray(at, at + 12).toString('ascii');
    if (head.length < 12)
      throw new Error(`reply truncated before ${name} (at ${at} of ${buf.length})`);
    if (!head.startsWith(name)) throw new Error(`expected ${name} at ${at}, got ${head}`);
    at += 12;
    return parseInt(head.slice(4), 16);
  };
  const body = (name: string): Buffer => {
    const n = header(name);
    const b = buf.subarray(at, at + n);
    if (b.length !== n) throw new Error(`${name} body truncated`);
    at += n;
    return b;
  };
  const version = header('DONE');
  const status = header('STAT');
  const stderr = body('SERR');
  const stdout = body('SOUT');
  const object = body('DOTO');
  const dependencies = at < buf.length ? body('DOTD') : undefined;
  if (at !== buf.length) throw new Error(`${buf.length - at} bytes after the reply`);
  return { version, status, stderr, stdout, object, ...(dependencies ? { dependencies } : {}) };
}
