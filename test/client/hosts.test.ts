import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHostList } from '../../src/client/host-source.js';
import {
  displayName,
  parseHosts,
  protocolVersion,
  type HostDef,
  type HostList,
} from '../../src/client/hosts.js';
import { BadHostSpecError } from '../../src/errors.js';

// ---------------------------------------------------------------------------
// Differential: every list below goes to Debian's real distcc 3.4 and to
// parseHosts, and the two must agree. `distcc --show-hosts` prints each host's
// word as written, one a line; `distcc -j` prints the sum of the slots. Neither
// connects to anything. A list distcc refuses makes both print "Failed to get
// host list" on stderr -- and exit 0 regardless (distcc 3.4 ignores the
// error's code there), so the message is what tells a refusal.

const DISTCC = '/usr/bin/distcc';
const noDistcc = existsSync(DISTCC) ? undefined : `${DISTCC} is not installed (Debian's distcc)`;

type DistccView = { refused: boolean; specs: string[]; slots?: number };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tsdistcc-hosts-'));
}

/** The environment without any DISTCC_* or _DISTCC_* of the caller's, plus `extra`. */
function distccEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^_?DISTCC/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function runDistcc(arg: string, env: NodeJS.ProcessEnv): { stdout: string; refused: boolean } {
  const r = spawnSync(DISTCC, [arg], { env, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.error, undefined);
  assert.equal(r.status, 0, `distcc ${arg} exited ${r.status}: ${r.stderr}`);
  return { stdout: r.stdout, refused: r.stderr.includes('Failed to get host list') };
}

/** What distcc makes of DISTCC_HOSTS=`hosts` (or, if undefined, of the files), with a fresh
 *  DISTCC_DIR holding `hostsFile` as its hosts file if given. */
function askDistcc(hosts: string | undefined, hostsFile?: string): DistccView {
  const dir = tempDir();
  try {
    if (hostsFile !== undefined) writeFileSync(join(dir, 'hosts'), hostsFile);
    const env = distccEnv({ DISTCC_DIR: dir, ...(hosts !== undefined && { DISTCC_HOSTS: hosts }) });
    const show = runDistcc('--show-hosts', env);
    const jobs = runDistcc('-j', env);
    assert.equal(jobs.refused, show.refused, '--show-hosts and -j disagree');
    if (show.refused) return { refused: true, specs: [] };
    return {
      refused: false,
      specs: show.stdout.split('\n').slice(0, -1),
      slots: Number(jobs.stdout.trim()),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ourView(parse: () => HostList): DistccView {
  let list: HostList;
  try {
    list = parse();
  } catch (err) {
    assert.ok(err instanceof BadHostSpecError, `threw ${String(err)}`);
    assert.equal(err.exitCode, 106);
    return { refused: true, specs: [] };
  }
  return {
    refused: false,
    specs: list.hosts.map((h) => h.spec),
    slots: list.hosts.reduce((sum, h) => sum + h.slots, 0),
  };
}

/** --randomize shuffles distcc's output (srand(pid)); compare those lists as sets. */
function comparable(view: DistccView, hosts: string): DistccView {
  return hosts.includes('--randomize') ? { ...view, specs: [...view.specs].sort() } : view;
}

// +zeroconf is left out: what distcc does with it depends on the Avahi daemon.
const differential: string[] = [
  // local
  'localhost',
  'localhost/1',
  'localhost/3',
  'localhost/16',
  'localhost/3x',
  'localhost/3:400',
  'localhost/-1',
  'localhost#comment',
  'localhost:3632',
  'localhost:3632/2',
  'localhost=3',
  'localhost,lzo',
  'localhostx',
  'LOCALHOST',
  'localhost/0',
  'localhost/abc',
  'localhost/',
  // TCP
  'a',
  'a b',
  'host.example.com',
  '10.0.0.1',
  '10.0.0.1:4000',
  'a:300',
  'a:300/2',
  'a:300/2,lzo',
  'a/2:300',
  'a/2:300,lzo,cpp',
  'a/2:300/3',
  'a:300/2:400',
  'a/2=3',
  'a/2/3',
  'a=3',
  'a/+3',
  'a/3x',
  'a/ 3',
  'a/-1 b',
  'a/3 b/-1',
  'a/2147483648',
  'a/4294967296',
  'a/4294967297',
  'a/99999999999',
  'a/99999999999999999999',
  'a/-99999999999999999999',
  'a/0',
  'a/00',
  'a/abc',
  'a/',
  'a=0',
  'a:',
  'a:/3',
  'a:,lzo',
  'a:-5',
  'a:+5',
  'a: 300',
  'a:\n300',
  'a:99999999999',
  'a:1:2',
  'a::',
  'angry::',
  'a:300#x',
  'a:300 #x',
  'a:300x',
  'a:x',
  'a#x',
  'a#x b',
  'a\\b',
  'a\vb',
  '\va',
  'a\vb:3',
  'héllo/2',
  '-- a',
  '--foo',
  '+zeroconfx',
  // IPv6
  '[::1]',
  '[::1]:400',
  '[::1]:400/3',
  '[::1]/2:300',
  '[::1]=3',
  '[::1]:',
  '[::1]x',
  '[::1],lzo,cpp',
  '[fe80::1%eth0]:1',
  '[2001:db8::1]:3632/8,lzo',
  '[::1',
  '[]',
  '[]:4',
  '[a/2]',
  'h[::1]',
  '::1',
  'fe80::1',
  '2001:db8::1',
  'fe80:1',
  // ssh
  '@h',
  '@h/3',
  'u@h',
  'u@h/3:/bin/distccd,lzo,cpp',
  'u@h:/x/y:z/2',
  '@h:',
  '@h:,lzo',
  '@h:cmd/3',
  '@h:cmd:x',
  '@h:cmd#x',
  '@h/3x',
  '@h=3',
  '@h,lzo',
  '@h,down',
  'a:b@h',
  'u@@h',
  'a,auth=f@g',
  'u@h/0',
  '@h,cpp',
  '@h,bogus',
  '@:cmd',
  '@/3',
  '@',
  'mbp@',
  'mbp@/2',
  // options
  'a,lzo',
  'a,cpp,lzo',
  'a,lzo,cpp',
  'a,cpp',
  'a,cpp,cpp',
  'a,cppx',
  'a,down',
  'a,down,down',
  'a/3,down',
  'a,downx,cpp',
  'a,lzox',
  'a,lzo/3',
  'a,lzo:3',
  'a,lzo=3,cpp',
  'a,lzo,',
  'a,,lzo',
  'a,',
  'a,lzo,#',
  'a,zstd',
  'a,bogus',
  'a,LZO',
  'a,auth',
  'a,auth,cpp',
  'a,authx',
  'a,authx,cpp',
  'a,authfoo,cpp',
  'a,auth=',
  'a,auth=,cpp',
  'a,auth=foo',
  'a,auth=foo,lzo',
  'a,auth=foo,cpp',
  'a,auth=foo,lzo,cpp',
  'a,auth=foo/3,cpp',
  'a,auth=f:3,cpp',
  'a,auth=f#x,cpp',
  'a,auth=f=g,cpp',
  'a,auth=foo#x',
  'a,auth=foo,,cpp',
  'a,lzo,auth=x,cpp',
  // keywords
  '--randomize',
  '--randomize a b c',
  '--randomize localhost/2 a/3 @b/5 c:4000',
  '--randomizeX a',
  '--localslots=3 a',
  '--localslots_cpp=3 a',
  '--localslots=0',
  '--localslots=0/3',
  '--localslots=abc',
  '--localslots=-2',
  '--localslots= 3',
  '--localslots',
  '--localslotsX',
  '--localslots/3',
  '--localslots/0',
  '--localslots_cpp=0',
  '--localslots_cpp=0/3',
  '--localslots_cpp/0',
  // layout, comments, empty lists
  '',
  ' ',
  '\t\n\r\f\v',
  ':',
  ':4200',
  '#x',
  '#c\nb #d',
  'a#c\nb',
  'a # c',
  'a\tb',
  'a\nb',
  'a\r\nb',
  '  a  \n\n  b/2  # two hosts\n# nothing\n c:1/3,lzo ',
  'localhost/2 @bigman/16:/opt/bin/distccd oldmachine:4200/1\n  # cartman is down\ndistant/3,lzo',
  '--randomize localhost red,auth green,auth blue,auth',
  'a b c d e f g h i j k l m n o p q r s t u v w x y z',
  'localhost/4 a:1/2,lzo,cpp [::1]:2/3,lzo @b/5:cmd,lzo u@c,down',
  'good bad,bogus',
  'good/3 :',
];

for (const hosts of differential) {
  test(`distcc agrees: DISTCC_HOSTS=${JSON.stringify(hosts)}`, (t) => {
    if (noDistcc) return t.skip(noDistcc);
    const theirs = comparable(askDistcc(hosts), hosts);
    const ours = comparable(
      ourView(() => parseHosts(hosts, 'DISTCC_HOSTS')),
      hosts,
    );
    assert.deepEqual(ours, theirs);
  });
}

test('distcc agrees: a hosts file in DISTCC_DIR, with comments and CRLFs', (t) => {
  if (noDistcc) return t.skip(noDistcc);
  const file =
    '# build farm\r\nlocalhost/2\r\na:300/3,lzo  # fast\r\n@b/2\r\n\r\n--localslots=2\r\n';
  assert.deepEqual(
    ourView(() => parseHosts(file, '/x/hosts')),
    askDistcc(undefined, file),
  );
});

test('distcc agrees: a bad hosts file in DISTCC_DIR', (t) => {
  if (noDistcc) return t.skip(noDistcc);
  const file = 'a\nb,bogus\n';
  assert.deepEqual(
    ourView(() => parseHosts(file, '/x/hosts')),
    askDistcc(undefined, file),
  );
});

test('distcc agrees: no DISTCC_HOSTS and no hosts file reads /etc/distcc/hosts', (t) => {
  if (noDistcc) return t.skip(noDistcc);
  const dir = tempDir();
  try {
    const env = distccEnv({ DISTCC_DIR: dir });
    const ours = ourView(() => {
      const found = readHostList(env, dir);
      if (found === undefined) throw new BadHostSpecError('no hostlist is set');
      return found.list;
    });
    assert.deepEqual(ours, askDistcc(undefined));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
// The parsed fields.

const opts = { lzo: false, cpp: false, down: false };
type Tcp = Extract<HostDef, { kind: 'tcp' }>;
type Ssh = Extract<HostDef, { kind: 'ssh' }>;
const tcp = (host: string, more: Partial<Tcp> = {}): Omit<Tcp, 'spec'> => ({
  kind: 'tcp',
  host,
  port: 3632,
  slots: 4,
  ...opts,
  ...more,
});
const ssh = (host: string, more: Partial<Ssh> = {}): Omit<Ssh, 'spec'> => ({
  kind: 'ssh',
  host,
  slots: 4,
  ...opts,
  ...more,
});

// [DISTCC_HOSTS, the host parsed, its spec if not the whole text]
const fields: [string, Record<string, unknown>, string?][] = [
  ['localhost', { kind: 'local', slots: 2 }],
  ['localhost/7', { kind: 'local', slots: 7 }],
  ['localhost/3:400', { kind: 'local', slots: 3 }],
  ['localhost:3632', tcp('localhost')],
  ['localhost,lzo', tcp('localhost', { lzo: true })],
  ['localhostx', tcp('localhostx')],
  ['a', tcp('a')],
  ['10.0.0.1:4000', tcp('10.0.0.1', { port: 4000 })],
  ['a:300/2,lzo', tcp('a', { port: 300, slots: 2, lzo: true })],
  ['a/2:300', tcp('a', { port: 300, slots: 2 })],
  ['a/2:300/3', tcp('a', { port: 300, slots: 3 })],
  ['a/2=3', tcp('a', { slots: 3 })],
  ['a=3', tcp('a=3')],
  ['a/3x', tcp('a', { slots: 3 })],
  ['a/-1', tcp('a', { slots: -1 })],
  ['a/2147483648', tcp('a', { slots: -2147483648 })],
  ['a/99999999999999999999', tcp('a', { slots: -1 })],
  ['a:', tcp('a', { port: 0 })],
  ['a:-5', tcp('a', { port: -5 })],
  ['a:99999999999', tcp('a', { port: 1215752191 })],
  ['a#x', tcp('a#x'), 'a'],
  ['fe80:1', tcp('fe80', { port: 1 })],
  ['[::1]', tcp('::1')],
  ['[::1]:400/3', tcp('::1', { port: 400, slots: 3 })],
  ['[::1]/2:300', tcp('::1', { port: 300, slots: 2 })],
  ['[fe80::1%eth0]:1', tcp('fe80::1%eth0', { port: 1 })],
  ['[2001:db8::1]:3632/8,lzo', tcp('2001:db8::1', { slots: 8, lzo: true })],
  ['a,lzo,cpp', tcp('a', { lzo: true, cpp: true })],
  ['a,cpp,lzo', tcp('a', { lzo: true, cpp: true })],
  ['a,lzox', tcp('a', { lzo: true })],
  ['a,down', tcp('a', { down: true })],
  ['a,auth', tcp('a', { auth: true })],
  ['a,auth=', tcp('a', { auth: true })],
  ['a,auth=princ.example.com,lzo', tcp('a', { auth: 'princ.example.com', lzo: true })],
  ['a,auth=p/3', tcp('a', { auth: 'p' })],
  ['a,auth=p,auth', tcp('a', { auth: 'p' })],
  ['a,auth=p,auth=', tcp('a', { auth: true })],
  ['@h', ssh('h')],
  ['u@h', ssh('h', { user: 'u' })],
  [
    'u@h/3:/bin/distccd,lzo,cpp',
    ssh('h', { user: 'u', slots: 3, command: '/bin/distccd', lzo: true, cpp: true }),
  ],
  ['u@h:/x/y:z/2', ssh('h', { user: 'u', command: '/x/y:z/2' })],
  ['@h:', ssh('h')],
  ['@h:cmd#x', ssh('h', { command: 'cmd#x' }), '@h:cmd'],
  ['@h=3', ssh('h=3')],
  ['a:b@h', ssh('h', { user: 'a:b' })],
  ['u@@h', ssh('@h', { user: 'u' })],
  ['@h,down', ssh('h', { down: true })],
];

for (const [text, want, spec = text] of fields) {
  test(`parseHosts fields: ${text}`, () => {
    const { hosts } = parseHosts(text, 'DISTCC_HOSTS');
    assert.deepEqual(hosts, [{ ...want, spec }]);
  });
}

test('parseHosts: the word runs to whitespace or #; a comment runs to the line end', () => {
  const { hosts } = parseHosts('a/1#c b\nlocalhost#x\r@h:c#d e', 'f');
  assert.deepEqual(
    hosts.map((h) => h.spec),
    ['a/1', 'localhost', '@h:c'],
  );
});

test('parseHosts: a: 300 is host `a:` on port 300, then host `300`', () => {
  const { hosts } = parseHosts('a: 300', 'f');
  assert.deepEqual(hosts, [
    { ...tcp('a', { port: 300 }), spec: 'a:' },
    { ...tcp('300'), spec: '300' },
  ]);
});

test('parseHosts: a NUL ends the text, as in a C string', () => {
  assert.deepEqual(
    parseHosts('a\0b', 'f').hosts.map((h) => h.spec),
    ['a'],
  );
});

test('parseHosts: keywords', () => {
  const defaults = parseHosts('a', 'f');
  assert.deepEqual(
    { ...defaults, hosts: [] },
    { hosts: [], randomize: false, localSlots: 4, localSlotsCpp: 8, zeroconf: false },
  );
  const list = parseHosts('--randomize --localslots=3 --localslots_cpp/5 b a', 'f');
  assert.equal(list.randomize, true);
  assert.equal(list.localSlots, 3);
  assert.equal(list.localSlotsCpp, 5);
  assert.deepEqual(
    list.hosts.map((h) => h.spec),
    ['b', 'a'],
    'written order; the caller shuffles',
  );
  assert.equal(parseHosts('--randomizeX a', 'f').randomize, true);
  assert.equal(parseHosts('--localslots=2 --localslots=7 a', 'f').localSlots, 7);
  assert.equal(parseHosts('--localslots=-2 a', 'f').localSlots, -2);
  assert.equal(parseHosts('--localslots= 3 a', 'f').localSlots, 3);
  assert.equal(parseHosts('--localslots a', 'f').localSlots, 4);
  // --localslots_cpp=0 is refused, then read as --localslots with nothing after it.
  const zeroCpp = parseHosts('--localslots_cpp=0 a', 'f');
  assert.deepEqual([zeroCpp.localSlots, zeroCpp.localSlotsCpp], [4, 8]);
  // --localslots=0 is refused, then read as a host.
  assert.deepEqual(parseHosts('--localslots=0', 'f').hosts, [
    { ...tcp('--localslots=0'), spec: '--localslots=0' },
  ]);
});

test('parseHosts: +zeroconf, alone or with hosts', () => {
  assert.deepEqual(parseHosts('+zeroconf', 'f'), {
    hosts: [],
    randomize: false,
    localSlots: 4,
    localSlotsCpp: 8,
    zeroconf: true,
    zeroconfAt: 0,
  });
  const list = parseHosts('a +zeroconf b', 'f');
  assert.equal(list.zeroconf, true);
  // Its hosts go where the word stood, between a and b (distcc hosts.c).
  assert.equal(list.zeroconfAt, 1);
  assert.deepEqual(
    list.hosts.map((h) => h.spec),
    ['a', 'b'],
  );
  assert.equal(parseHosts('+zeroconfx', 'f').zeroconf, false);
});

const refused: [string, RegExp][] = [
  ['', /^DISTCC_HOSTS contains no hosts; expected /],
  [' # only a comment', /^DISTCC_HOSTS contains no hosts/],
  ['--randomize --localslots=3', /^DISTCC_HOSTS contains no hosts/],
  ['a/0', /^DISTCC_HOSTS: bad multiplier `\/0` in `a\/0`; expected a non-zero number/],
  ['localhost/abc', /bad multiplier `\/abc` in `localhost\/abc`/],
  ['a/2=0', /bad multiplier `=0` in `a\/2=0`/],
  ['u@h/0', /bad multiplier `\/0` in `u@h\/0`/],
  ['@', /no host name in `@`; expected a host name in a ssh host/],
  ['mbp@', /no host name in `mbp@`/],
  [':', /no host name in `:`; expected a host name in a TCP host/],
  [':4200', /no host name in `:4200`/],
  ['::1', /no host name in `::1`/],
  ['[]', /no host name in `\[\]`/],
  ['[::1', /IPv6 address without its closing `\]` in `\[::1`/],
  ['angry::', /bad port `::` in `angry::`; expected a decimal port number/],
  ['fe80::1', /bad port `::1` in `fe80::1`/],
  ['a:300#x', /bad port `:300#x` in `a:300`; expected whitespace between the port and a `#`/],
  ['a:x', /bad port `:x` in `a:x`/],
  ['a,bogus', /unknown option `,bogus` in `a,bogus`; expected `,lzo`, `,cpp`, `,down` or `,auth/],
  ['a,zstd', /unknown option `,zstd`/],
  ['a,lzo,', /unknown option `,` in `a,lzo,`/],
  [
    'a,cpp',
    /pump mode `,cpp` without compression in `a,cpp`; expected `,cpp` together with `,lzo`/,
  ],
  ['@h,cpp', /pump mode `,cpp` without compression in `@h,cpp`/],
  ['good bad,bogus', /unknown option `,bogus` in `bad,bogus`/],
];

for (const [hosts, message] of refused) {
  test(`parseHosts refuses ${JSON.stringify(hosts)}`, () => {
    assert.throws(
      () => parseHosts(hosts, 'DISTCC_HOSTS'),
      (err) => err instanceof BadHostSpecError && err.exitCode === 106 && message.test(err.message),
    );
  });
}

test('parseHosts names the file a bad list came from', () => {
  assert.throws(
    () => parseHosts('\n\na/0\n', '/home/u/.distcc/hosts'),
    /: \/home\/u\/\.distcc\/hosts: bad multiplier/,
  );
});

test('protocolVersion: 1 plain, 2 ,lzo, 3 ,lzo,cpp', () => {
  const [local, plain, lzo, pump, sshPump] = parseHosts(
    'localhost a b,lzo c,cpp,lzo @d,lzo,cpp',
    'f',
  ).hosts;
  assert.ok(local && plain && lzo && pump && sshPump);
  assert.deepEqual([local, plain, lzo, pump, sshPump].map(protocolVersion), [1, 1, 2, 3, 3]);
});

test('displayName: the host name, localhost for local', () => {
  const { hosts } = parseHosts('localhost/3 [::1]:4 u@box/2:cmd name', 'f');
  assert.deepEqual(hosts.map(displayName), ['localhost', '::1', 'box', 'name']);
});

// ---------------------------------------------------------------------------
// Where the list comes from.

function withDirs(body: (distccDir: string, sysconfDir: string) => void): void {
  const root = tempDir();
  try {
    const distccDir = join(root, 'distcc');
    const sysconfDir = join(root, 'etc');
    mkdirSync(distccDir);
    mkdirSync(sysconfDir);
    body(distccDir, sysconfDir);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const specs = (found: ReturnType<typeof readHostList>) => found?.list.hosts.map((h) => h.spec);

test('readHostList: DISTCC_HOSTS, then DISTCC_DIR/hosts, then the sysconf hosts, then none', () => {
  withDirs((distccDir, sysconfDir) => {
    assert.equal(readHostList({}, distccDir, sysconfDir), undefined);

    writeFileSync(join(sysconfDir, 'hosts'), 'sys/2\n');
    assert.deepEqual(readHostList({}, distccDir, sysconfDir)?.source, join(sysconfDir, 'hosts'));
    assert.deepEqual(specs(readHostList({}, distccDir, sysconfDir)), ['sys/2']);

    writeFileSync(join(distccDir, 'hosts'), '# mine\nmine:1\n');
    assert.deepEqual(readHostList({}, distccDir, sysconfDir)?.source, join(distccDir, 'hosts'));
    assert.deepEqual(specs(readHostList({}, distccDir, sysconfDir)), ['mine:1']);

    const env = { DISTCC_HOSTS: 'env/3 localhost' };
    assert.deepEqual(readHostList(env, distccDir, sysconfDir)?.source, 'DISTCC_HOSTS');
    assert.deepEqual(specs(readHostList(env, distccDir, sysconfDir)), ['env/3', 'localhost']);
  });
});

test('readHostList: an empty DISTCC_HOSTS is an empty list, refused, not a reason to read files', () => {
  withDirs((distccDir, sysconfDir) => {
    writeFileSync(join(distccDir, 'hosts'), 'mine\n');
    assert.throws(
      () => readHostList({ DISTCC_HOSTS: '' }, distccDir, sysconfDir),
      (err) =>
        err instanceof BadHostSpecError && /^DISTCC_HOSTS contains no hosts/.test(err.message),
    );
  });
});

test('readHostList: a bad or empty hosts file is refused, not skipped', () => {
  withDirs((distccDir, sysconfDir) => {
    writeFileSync(join(sysconfDir, 'hosts'), 'sys\n');
    const path = join(distccDir, 'hosts');
    writeFileSync(path, '# nothing here\n');
    assert.throws(
      () => readHostList({}, distccDir, sysconfDir),
      (err) =>
        err instanceof BadHostSpecError && err.message.startsWith(`${path} contains no hosts`),
    );
    writeFileSync(path, 'a,bogus\n');
    assert.throws(() => readHostList({}, distccDir, sysconfDir), BadHostSpecError);
  });
});

test('readHostList: a hosts path that cannot be read is an I/O error (107)', () => {
  withDirs((distccDir, sysconfDir) => {
    mkdirSync(join(distccDir, 'hosts'));
    assert.throws(
      () => readHostList({}, distccDir, sysconfDir),
      (err) =>
        err instanceof Error &&
        (err as Error & { exitCode?: number }).exitCode === 107 &&
        err.message.includes(join(distccDir, 'hosts')),
    );
  });
});

test('readHostList: the default sysconf dir is /etc/distcc', () => {
  withDirs((distccDir) => {
    const found = readHostList({}, distccDir);
    if (existsSync('/etc/distcc/hosts')) assert.equal(found?.source, '/etc/distcc/hosts');
    else assert.equal(found, undefined);
  });
});
