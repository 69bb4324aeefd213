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
  };
  export default function pinoRoll(options: PinoRollOptions): Promise<DestinationStream>;
}
