// pino-roll ships no types; the part we use (see its pino-roll.js).
declare module 'pino-roll' {
  import type { DestinationStream } from 'pino';
  export type PinoRollOptions = {
    file: string;
    size?: string | number;
    frequency?: 'daily' | 'hourly' | number;
    extension?: string;
    symlink?: boolean;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
    dateFormat?: string;
    mkdir?: boolean;
    sync?: boolean;
    /** Passed on to sonic-boom, where it wins over the file pino-roll names. */
    fd?: number;
  };
  export default function pinoRoll(options: PinoRollOptions): Promise<DestinationStream>;
}

// Its helpers, to find the file it starts with (lib/utils.js).
declare module 'pino-roll/lib/utils.js' {
  const utils: {
    sanitizeFile(file: string): { file: string; extension: string };
    parseFrequency(frequency?: 'daily' | 'hourly' | number): { start: number } | null;
    detectLastNumber(file: string, time?: number, extension?: string): Promise<number>;
    buildFileName(file: string, date: string | null, number: number, extension?: string): string;
  };
  export default utils;
}
