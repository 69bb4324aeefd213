// distcc's exit codes (distcc src/exitcode.h), the one registry of them, and
// one error class per kind of failure tsdistcc itself can have. A compiler that
// fails is not an error: it is a result sent back to the client.

export const ExitCode = {
  GENERAL: 100,
  BAD_ARGUMENTS: 101,
  BIND_FAILED: 102,
  CONNECT_FAILED: 103,
  COMPILER_CRASHED: 104,
  OUT_OF_MEMORY: 105,
  BAD_HOSTSPEC: 106,
  IO_ERROR: 107,
  TRUNCATED: 108,
  PROTOCOL_ERROR: 109,
  COMPILER_MISSING: 110,
  RECURSION: 111,
  SETUID_FAILED: 112,
  ACCESS_DENIED: 113,
  BUSY: 114,
  NO_SUCH_FILE: 115,
  NO_HOSTS: 116,
  GONE: 117,
  TIMEOUT: 118,
  GSSAPI_FAILED: 119,
  LOCAL_CPP: 120,
} as const;

export type ExitCodeName = keyof typeof ExitCode;

/** What each code means, as the man page documents it. */
export const exitCodeMeaning: Readonly<Record<ExitCodeName, string>> = {
  GENERAL: 'general error',
  BAD_ARGUMENTS: 'bad arguments or configuration',
  BIND_FAILED: 'cannot bind the listening port',
  CONNECT_FAILED: 'cannot connect to a server',
  COMPILER_CRASHED: 'the compiler crashed',
  OUT_OF_MEMORY: 'out of memory',
  BAD_HOSTSPEC: 'bad host specification',
  IO_ERROR: 'input or output error',
  TRUNCATED: 'truncated stream',
  PROTOCOL_ERROR: 'protocol error',
  COMPILER_MISSING: 'the compiler could not be run',
  RECURSION: 'recursive call to distcc',
  SETUID_FAILED: 'cannot drop privileges',
  ACCESS_DENIED: 'network access denied',
  BUSY: 'in use by another process',
  NO_SUCH_FILE: 'no such file',
  NO_HOSTS: 'no hosts defined',
  GONE: 'process gone',
  TIMEOUT: 'timed out',
  GSSAPI_FAILED: 'GSS-API error',
  LOCAL_CPP: 'local preprocessing',
};

export class TsdistccError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A bad option, option value or configuration line: exit 101. */
export class ConfigError extends TsdistccError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.BAD_ARGUMENTS, options);
  }
}

/** The listening socket could not be bound: exit 102. */
export class BindError extends TsdistccError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.BIND_FAILED, options);
  }
}

/** The peer broke the protocol: wrong token, bad number, over a limit. */
export class ProtocolError extends TsdistccError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.PROTOCOL_ERROR, options);
  }
}

/** Privileges could not be dropped to the configured user. */
export class SetuidError extends TsdistccError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.SETUID_FAILED, options);
  }
}

/** No compiler whitelist directory exists and the whitelist is on. */
export class CompilerMissingError extends TsdistccError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.COMPILER_MISSING, options);
  }
}

/** A DISTCC_HOSTS word (or hosts file line) distcc would refuse: exit 106. */
export class BadHostSpecError extends TsdistccError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ExitCode.BAD_HOSTSPEC, options);
  }
}
