import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDaemonConfig } from '../../src/config/daemon-config.js';
import { createLogger } from '../../src/logging/logger.js';
import { makeContext } from '../../src/server/daemon.js';
import { applyReload } from '../../src/server/reload.js';

const config = (args: Record<string, unknown>) =>
  buildDaemonConfig({ options: { allow: ['127.0.0.1'], ...args }, env: {}, stdinIsSocket: false });

test('SIGHUP: live options change, the launcher-fixed ones and ports need a restart, PATH compilers stay', async () => {
  const logger = await createLogger({
    level: 'error',
    destination: { kind: 'stderr' },
    format: 'text',
    ident: 't',
  });
  const ctx = makeContext(config({ port: '4000' }), logger, {});
  (ctx.config.whitelist.names as Set<string>).add('gcc');
  const report = applyReload(
    ctx,
    config({ port: '4001', allow: ['10.0.0.0/8'], personality: 'linux32', jobs: '3' }),
  );
  assert.deepEqual(report.changed.sort(), ['allow', 'jobs', 'queueLimit']);
  assert.deepEqual(report.needRestart.sort(), ['personality', 'port', 'statsPort']);
  assert.equal(ctx.config.port, 4000);
  assert.equal(ctx.config.personality, 'native');
  assert.equal(ctx.config.jobs, 3);
  assert.ok(ctx.config.whitelist.names.has('gcc'));
  // Re-reading the same file changes nothing, even with compilers taken from PATH.
  const again = applyReload(
    ctx,
    config({ port: '4001', allow: ['10.0.0.0/8'], personality: 'linux32', jobs: '3' }),
  );
  assert.deepEqual(again.changed, []);
});
