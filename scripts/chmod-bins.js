// Makes every built entry point in build/src/bin executable, so `./FILE` and
// a symlink to it work from a checkout (tsc does not keep file modes).
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../build/src/bin/', import.meta.url).pathname;
for (const name of readdirSync(dir)) {
  if (name.endsWith('.js')) chmodSync(join(dir, name), 0o755);
}
