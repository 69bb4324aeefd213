// The compiler whitelist of distccd 3.4 (distcc src/serve.c
// dcc_check_compiler_whitelist, CVE-2004-2687): a request may only name a
// compiler that has an executable entry of the same name in a whitelist
// directory, and never a path (a leading /bin/ or /usr/bin/ is stripped,
// distcc issue #279). And the options a remote job may have: remote-options.ts,
// then distccd's -specs= rule (dcc_check_insecure_options).

import { accessSync, constants } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { scanArgs } from './args.js';
import { checkRemoteOptions } from './remote-options.js';

export const DEFAULT_WHITELIST_DIRS = ['/usr/lib/distcc', '/usr/lib/tsdistcc'] as const;

export type WhitelistOptions = Readonly<{
  dirs: readonly string[];
  /** Names allowed without a directory entry (compilers found on PATH, --whitelist-path). */
  names: ReadonlySet<string>;
  /** --enable-tcp-insecure: no whitelist at all. */
  insecure: boolean;
  /** --sysroot: where -specs= files may be. */
  sysroot?: string;
}>;

export type Verdict = { ok: true } | { ok: false; reason: string };

export function stripSystemBinDir(name: string): string {
  const m = /^(\/usr)?\/bin\//i.exec(name);
  return m ? name.slice(m[0].length) : name;
}

export function checkCompiler(compiler: string, opts: WhitelistOptions): Verdict {
  if (opts.insecure) return { ok: true };
  const name = stripSystemBinDir(compiler);
  if (name.includes('/')) {
    return { ok: false, reason: `compiler name <${compiler}> cannot be an absolute path` };
  }
  if (name === '' || name === '.' || name === '..') {
    return { ok: false, reason: `compiler name <${compiler}> is not a command name` };
  }
  if (opts.names.has(name)) return { ok: true };
  for (const dir of opts.dirs) {
    try {
      // One access(2) on a local directory: cheaper in the loop than a
      // thread-pool round trip, and this runs for every job.
      accessSync(join(dir, name), constants.X_OK);
      return { ok: true };
    } catch {
      /* not in this directory */
    }
  }
  return {
    ok: false,
    reason: `CRITICAL! ${name} not in ${opts.dirs.join(' or ')} whitelist`,
  };
}

/**
 * The options of a remote job: the allow-list of remote-options.ts (which
 * refuses -fplugin= among much else), then distccd's -specs= rule: a specs
 * file (it can run commands) only when --sysroot DIR is given and DIR/FILE
 * is a regular file. The source and output checkRemoteOptions finds must be
 * the ones scanArgs found (the daemon rewrites those): an option's value
 * that scanArgs took for a file is refused.
 */
export async function checkOptions(
  argv: readonly string[],
  sysroot?: string,
  pump = false,
): Promise<Verdict> {
  const r = checkRemoteOptions(argv, { pump });
  if (!r.ok) return r;
  const scan = scanArgs(argv);
  if (
    scan.distributable &&
    (scan.inputIndex !== r.inputIndex || (scan.outputAt?.index ?? -1) !== r.outputIndex)
  ) {
    const at = scan.inputIndex !== r.inputIndex ? scan.inputIndex : scan.outputAt!.index;
    return {
      ok: false,
      reason: `argument \`${argv[at]!.slice(0, 120)}\` is not accepted for a remote compile (it is an option's value, not the input or output file)`,
    };
  }
  for (const file of r.specs) {
    if (sysroot !== undefined && !file.includes('..')) {
      try {
        if ((await stat(join(sysroot, file))).isFile()) continue;
      } catch {
        /* falls through to the refusal */
      }
    }
    return {
      ok: false,
      reason: `argument \`-specs=${file.slice(0, 120)}\` is not accepted for a remote compile (a specs file can run programs; it is accepted only when it exists under --sysroot)`,
    };
  }
  return { ok: true };
}

/**
 * Compiler names on PATH, as update-distcc-symlinks would link them: cc, c++,
 * c89, c99, gcc, g++, clang, clang++ with an optional target prefix and
 * version suffix.
 */
export const COMPILER_NAME =
  /^(?:cc|c\+\+|c89|c99|c89-gcc|c99-gcc|(?:[A-Za-z0-9_.]+-)*(?:gcc|g\+\+|clang|clang\+\+)(?:-[0-9][0-9.]*)?)$/;
