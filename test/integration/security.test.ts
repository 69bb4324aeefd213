// Refusals: CVE-2004-2687 (any command as the daemon user), paths as
// compiler names, unsafe options, clients outside --allow, and malformed
// requests. Each closes that connection with no reply; the daemon goes on.
// Needs: gcc, Debian's distcc package (its /usr/lib/distcc whitelist).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exchange } from '../helpers/client.js';
import { openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { parseReply, request } from '../helpers/wire.js';

let ts: RunningDaemon;
let scratch: string;
const source = Buffer.from('int answer(void) { return 42; }\n');

before(async () => {
  scratch = openTempDir('tsdistcc-sec-');
  ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info']);
});

after(async () => {
  await ts?.stop();
});

async function refused(argv: string[], logRe: RegExp) {
  const { reply, closedBy } = await exchange(ts.port, request(1, argv, source));
  assert.equal(reply.length, 0, 'a refused request must get no reply bytes');
  assert.notEqual(closedBy, 'timeout', 'a refused request must be closed by the server');
  await ts.waitForLog(logRe);
}

test('CVE-2004-2687: a request whose compiler is sh gets no reply and runs nothing', async () => {
  const marker = join(scratch, 'pwned');
  await refused(
    ['sh', '-c', `touch ${marker}`, '#', '-c', 'x.c', '-o', 'x.o'],
    /refused: CRITICAL! sh not in .*whitelist/,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(existsSync(marker), false, 'sh ran');
});

test('an absolute compiler path other than /usr/bin/NAME or /bin/NAME is refused', async () => {
  await refused(
    ['/usr/local/bin/x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
    /compiler name <\/usr\/local\/bin\/x86_64-linux-gnu-gcc> cannot be an absolute path/,
  );
  await refused(
    ['../../usr/bin/gcc', '-c', 'x.c', '-o', 'x.o'],
    /compiler name <\.\.\/\.\.\/usr\/bin\/gcc> cannot be an absolute path/,
  );
});

test('/usr/bin/NAME of a whitelisted compiler is served (distcc issue #279)', async () => {
  const { reply } = await exchange(
    ts.port,
    request(1, ['/usr/bin/x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
  );
  const r = parseReply(reply);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.equal(r.object.subarray(0, 4).toString('latin1'), '\x7fELF');
});

test('-fplugin= and an unsatisfied -specs= are refused', async () => {
  await refused(
    ['x86_64-linux-gnu-gcc', '-fplugin=/tmp/evil.so', '-c', 'x.c', '-o', 'x.o'],
    /refused: argument `-fplugin=\/tmp\/evil.so` is not accepted for a remote compile \(loads code into the compiler\)/,
  );
  await refused(
    ['x86_64-linux-gnu-gcc', '-specs=/tmp/evil.specs', '-c', 'x.c', '-o', 'x.o'],
    /refused: argument `-specs=\/tmp\/evil.specs` is not accepted for a remote compile \(a specs file can run programs/,
  );
});

test('a non-distributable command (a link) is refused', async () => {
  await refused(
    ['x86_64-linux-gnu-gcc', 'x.c', '-o', 'x'],
    /non-distributable command: compiler apparently called not for compile/,
  );
});

test('a client outside --allow (127.0.0.2 with --allow 127.0.0.1) is refused', async () => {
  const { reply, closedBy } = await exchange(
    ts.port,
    request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
    {
      localAddress: '127.0.0.2',
    },
  );
  assert.equal(reply.length, 0);
  assert.notEqual(closedBy, 'timeout');
  await ts.waitForLog(/client: 127\.0\.0\.2:\d+ denied by access list/);
});

test('a malformed request closes that connection, and the next one is served', async () => {
  const junk = await exchange(ts.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
  assert.equal(junk.reply.length, 0);
  assert.notEqual(junk.closedBy, 'timeout');
  await ts.waitForLog(
    /bad request: expected token DIST, got bytes `GET \/ HTTP\/1` that are not a token/,
  );
  const huge = await exchange(ts.port, Buffer.from('DIST00000001ARGCffffffff'));
  assert.equal(huge.reply.length, 0);
  await ts.waitForLog(/ARGC must be 1 to 4096, got 4294967295/);
  const ok = await exchange(
    ts.port,
    request(2, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], Buffer.alloc(0)),
  );
  assert.equal(parseReply(ok.reply).status, 0);
});
