// Objects are compared by their SHA-256.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const sha256File = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
