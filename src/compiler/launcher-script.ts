// The resident launcher, a small Perl program (perl is in Debian's and
// Arch's base systems). Forking the daemon — a Node process of tens of MB
// with its threads — blocks the event loop for several milliseconds per job
// on the machines we measured (bench/RESULTS.md); a small process forks in a
// fraction of that, as distccd's small preforked children do.
//
// Jobs arrive on fd 3 as `J\0id\0dir\0sub\0fifo\0argc\0arg0\0...\0`. Each compiler is
// forked into a process group of its own, in `dir` (then `sub` inside it, if
// not empty: pump jobs run in the client's directory rebuilt there), with
// stdin from /dev/null, stdout/stderr to `dir/stdout` and `dir/stderr`, and
// TMPDIR set to `dir`, so the compiler's own temporary files (gcc's ccXXXX.s)
// go with the job directory even when it is killed mid-write. Events go to
// stdout, one line each: `L pid` (a sandboxed launcher's own pid, first),
// `S id pid` (started), `E id status out err` (raw wait status, then the
// sizes of `dir/stdout` and `dir/stderr`: the daemon reads only those that
// are not empty, usually neither). `K\0id\0SIG\0` (TERM or KILL) signals a
// job's process group. If `fifo` is not empty (early start), the launcher
// makes `dir/fifo` a named pipe and gives the compiler its read end as
// stdin, keeping a write end itself so that the compiler does not see EOF
// before the daemon has opened the pipe: once `S` arrives the daemon opens
// it for writing, sends `C\0id\0` (the launcher then closes its end), writes
// the source and closes; the compiler reads to EOF. The launcher's end also
// goes when the compiler ends. As distccd's dcc_execvp: argv[0] with a slash
// that can't be run is tried by its basename; if nothing runs, the child
// writes "failed to exec" to its stderr file and exits 110. SIGCHLD wakes
// the loop through a self-pipe. Perl runs a signal's handler at its next
// safe point, not when the signal comes: one that comes just before
// select(2) is entered writes to the pipe only once select returns. So
// while compilers run, select also returns every 20 ms, and an exit is never
// noticed later than that (it happened once in a few thousand jobs under
// perf). EOF on fd 3: wait for the running compilers, then exit.
//
// The sandbox (SYS_SANDBOX given): the launcher enters a user namespace of
// its own, where its account is mapped to itself, with a network namespace
// that has no network and a process namespace whose first process it is
// (its parent prints `L` and leaves). Each job's child is the first process
// of a process namespace of its own: when it ends, the kernel kills
// whatever it left (setsid or not), and it sees, signals and traces nothing
// outside. In a mount namespace of its own it finds the root (or ROOT)
// read-only, the HIDE directories (other users' and other jobs' places:
// /tmp, /run, /home, TMPDIR...) empty, its job directory the one writable
// place, and a /proc of its own; IPC objects are its own where such
// namespaces may be made. It runs with no capabilities (it is not uid 0 in
// the namespace) and no_new_privs. Without the sandbox a launcher started
// as root for a chroot enters ROOT and switches to UID and GID per child.
//
// Arguments fix what every job gets, so that a launcher left running as root
// (to enter a chroot) cannot be told to do anything else:
//   ROOT  ''  or the chroot directory; job directories are paths inside it
//   UID GID  '' or the account compilers run as (set after chroot)
//   PERSONALITY  '' or a personality(2) value (8 = PER_LINUX32)
//   SYS_PERSONALITY  '' or personality(2)'s system call number on this
//          architecture (launcher.ts knows them), given with PERSONALITY.
//   SYS_MKNODAT  '' or mknodat(2)'s number: the FIFO is made with it.
//   SYS_SANDBOX  '' or the numbers of unshare, setns, mount, mount_setattr,
//          prctl and exit_group, comma-separated: confine every compiler (above).
//   HIDE  the directories (inside ROOT) covered by an empty tmpfs, one a line.
//
// A job directory belongs to the compilers' account, and a compiler (or
// what it left running) may replace anything in it with a link — even the
// directory's own name, in the root's sticky /tmp. So a launcher kept as
// root follows no path in it as root: with the account's effective uid it
// opens the job directory once (O_DIRECTORY | O_NOFOLLOW, the account's),
// makes the FIFO and measures the output files through that handle
// (/proc/self/fd/N/NAME, never following a link at NAME), and each child
// enters the root, switches to the account and only then changes to the job
// directory and creates its stdout and stderr (afresh, O_EXCL, never through
// a link). It changes no owner or mode of anything.
//
// POSIX (1.5 MB of the launcher's 7 MB) is loaded only where core Perl has
// no safe stand-in: for the account switch (POSIX::setuid sets the saved
// uid too; Perl's $< and $> leave it), for mkfifo where the mknodat number
// is not known, and in a child that must _exit without exec.

export const LAUNCHER_SCRIPT = String.raw`
use strict; use warnings;
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK O_RDONLY O_WRONLY O_CREAT O_EXCL O_NOFOLLOW O_DIRECTORY S_IFIFO);
$| = 1;
my ($root, $uid, $gid, $pers, $SYS_personality, $SYS_mknodat, $SYS_sandbox, $hide) =
  map { defined $_ ? $_ : '' } @ARGV[0 .. 7];
die "a personality needs its system call number\n" if $pers ne '' && $SYS_personality !~ /^\d+$/;
my $mknodat = $SYS_mknodat =~ /^\d+$/ ? $SYS_mknodat + 0 : undef;
require POSIX if $uid ne '' || $gid ne '' || !defined $mknodat;
# mknodat(AT_FDCWD, path, S_IFIFO | 0600, 0), or POSIX's mkfifo.
sub mkfifo_at {
  return syscall($mknodat, -100, $_[0], S_IFIFO | 0600, 0) == 0 if defined $mknodat;
  return POSIX::mkfifo($_[0], 0600);
}
# Runs code with the account's effective uid and gid when the launcher is root.
sub as_user {
  my ($code) = @_;
  return $code->() if $uid eq '';
  $) = "$gid $gid"; $> = $uid;
  die "cannot take uid $uid\n" if $> != $uid;
  my @r = $code->();
  $> = 0; $) = "0 0";
  return wantarray ? @r : $r[0];
}
# The size of a regular file, 0 for anything else (a link is not followed).
sub size_of { my @st = lstat($_[0]); return @st && -f _ ? $st[7] : 0 }
# _exit(2): by the raw system call where its number is known (SYS_SANDBOX),
# since loading POSIX for it costs every sandboxed job's first process about
# 15 ms when it leaves; else POSIX's.
my $exit_group;
sub child_exit { syscall($exit_group, $_[0] + 0) if defined $exit_group; require POSIX; POSIX::_exit($_[0]) }
sub bad_dir { return $_[0] =~ m{/\.\.(/|$)} || $_[0] !~ m{/tsdistccd_[A-Za-z0-9]+$} }

# The sandbox (SYS_SANDBOX: unshare,setns,mount,mount_setattr,prctl,exit_group numbers).
my ($NEWNS, $NEWIPC, $NEWUSER, $NEWPID, $NEWNET) = (0x20000, 0x8000000, 0x10000000, 0x20000000, 0x40000000);
my ($MS_NOSUID, $MS_NODEV, $MS_NOEXEC, $MS_BIND, $MS_REC, $MS_PRIVATE) = (2, 4, 8, 4096, 16384, 1 << 18);
my %SYS; my @hide; my $ipc = 0; my $pidns;
sub sys { my ($name, @args) = @_; return syscall($SYS{$name}, @args) == 0 }
sub write_file { my ($path, $text) = @_; open(my $f, '>', $path) or return 0; print $f $text; return close($f) }
if ($SYS_sandbox ne '') {
  @SYS{qw(unshare setns mount mount_setattr prctl exit_group)} = split /,/, $SYS_sandbox;
  $exit_group = $SYS{exit_group} + 0 if defined $SYS{exit_group};
  @hide = grep { $_ ne '' } split /\n/, $hide;
  my ($u, $g) = ($<, $( + 0);
  # A user namespace of its own (this account mapped to itself), with no
  # network and a process namespace whose first process is the launcher.
  sys('unshare', $NEWUSER | $NEWNS | $NEWNET | $NEWPID) or die "sandbox: unshare: $!\n";
  write_file('/proc/self/setgroups', 'deny') && write_file('/proc/self/uid_map', "$u $u 1")
    && write_file('/proc/self/gid_map', "$g $g 1") or die "sandbox: id maps: $!\n";
  my ($none, $slash, $zero) = ('none', '/', 0);
  sys('mount', $none, $slash, $zero, $MS_REC | $MS_PRIVATE, $zero) or die "sandbox: private mounts: $!\n";
  my $launcher = fork();
  die "sandbox: fork: $!\n" if !defined $launcher;
  # The first process leaves at once; the daemon knows the launcher by this line.
  if ($launcher) { print "L $launcher\n"; child_exit(0) }
  open($pidns, '<', '/proc/self/ns/pid') or die "sandbox: $!\n";
  # IPC objects (SysV, POSIX queues) of their own, where namespaces of that kind may be made.
  $ipc = sys('unshare', $NEWIPC) ? 1 : 0;
}

# The first process of a job's namespace, once it has forked the compiler
# (which is then not pid 1, so its own signals and abort() work as
# anywhere): it reaps what is left to it until the compiler ends, then
# leaves with its status, a signal N as 128 + N, and the kernel ends the
# rest. Returns in the compiler's process.
sub init_of {
  my ($compiler, @fifo) = @_;
  child_exit(110) if !defined $compiler;
  return if $compiler == 0;
  close($_) for grep { defined } @fifo;
  $SIG{TERM} = sub { kill('TERM', $compiler) };
  while ((my $pid = waitpid(-1, 0)) != -1 || $!{EINTR}) {
    next if $pid != $compiler;
    child_exit($? & 127 ? 128 + ($? & 127) : $? >> 8);
  }
  child_exit(110);
}

# In a job's child, the first process of a process namespace of its own:
# the root read-only, the hidden places empty, the job directory its one
# writable place, a /proc of its namespace. Returns why not, or undef.
sub enter_sandbox {
  my ($host, $dir) = @_;
  sys('unshare', $NEWNS | ($ipc ? $NEWIPC : 0)) or return "unshare: $!";
  sysopen(my $jd, $host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) or return "open $host: $!";
  my ($tmpfs, $small, $zero) = ('tmpfs', 'size=16k,nr_inodes=64,mode=755', 0);
  my $quiet = $MS_NOSUID | $MS_NODEV | $MS_NOEXEC;
  for my $d (@hide) {
    my $at = "$root$d";
    sys('mount', $tmpfs, $at, $tmpfs, $quiet, $small) or return "tmpfs on $at: $!";
  }
  my $p = $root;
  for my $c (grep { $_ ne '' } split m{/}, $dir) { $p .= "/$c"; mkdir($p, 0700) || $!{EEXIST} or return "mkdir $p: $!" }
  my ($from, $to) = ('/proc/self/fd/' . fileno($jd), "$root$dir");
  sys('mount', $from, $to, $zero, $MS_BIND, $zero) or return "bind $dir: $!";
  close($jd);
  my ($proc, $procdir) = ('proc', "$root/proc");
  if (-d $procdir && !sys('mount', $proc, $procdir, $proc, $quiet, $zero)) {
    sys('mount', $tmpfs, $procdir, $tmpfs, $quiet, $small) or return "no /proc: $!";
  }
  # struct mount_attr { attr_set, attr_clr, propagation, userns_fd }; 1 is MOUNT_ATTR_RDONLY.
  my ($top, $ro, $rw) = ($root eq '' ? '/' : $root, pack('QQQQ', 1, 0, 0, 0), pack('QQQQ', 0, 1, 0, 0));
  sys('mount_setattr', -100, $top, 0x8000, $ro, 32) or return "read-only root: $!";
  sys('mount_setattr', -100, $to, 0, $rw, 32) or return "writable job directory: $!";
  if ($root ne '') { chroot($root) && chdir('/') or return "chroot $root: $!" }
  # PR_SET_NO_NEW_PRIVS: nothing it runs gains privileges.
  sys('prctl', 38, 1, 0, 0, 0) or return "no_new_privs: $!";
  return undef;
}

# Jobs come on fd 3 (stdin is /dev/null): Node destroys a child's stdin when
# that process exits, and the sandboxed launcher's first process does.
open(my $jobs, '<&=', 3) or die "no job channel on fd 3: $!\n";
my %ids; my %pids; my %writers; my %dirs; my $buf = '';
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
for ($wake_r, $wake_w) { my $fl = fcntl($_, F_GETFL, 0); fcntl($_, F_SETFL, $fl | O_NONBLOCK); }
$SIG{CHLD} = sub { syswrite($wake_w, "x") };
$SIG{PIPE} = 'IGNORE';
sub reap {
  # 1 is WNOHANG on Linux.
  while ((my $pid = waitpid(-1, 1)) > 0) {
    my $id = delete $ids{$pid};
    next unless defined $id;
    delete $pids{$id};
    my $status = $?;
    # A sandboxed job's first process says a signal N as 128 + N.
    my $code = ($status >> 8) & 255;
    $status = $code - 128 if defined $pidns && ($status & 127) == 0 && $code > 128 && $code <= 192;
    close(delete $writers{$id}) if exists $writers{$id};
    my $d = delete $dirs{$id};
    my $at = ref $d ? '/proc/self/fd/' . fileno($d) : $d;
    my ($out, $err) = as_user(sub { (size_of("$at/stdout"), size_of("$at/stderr")) });
    close($d) if ref $d;
    printf "E %s %d %d %d\n", $id, $status, $out, $err;
  }
}
sub start {
  my ($id, $dir, $sub, $fifo, @argv) = @_;
  my $host = $root ne '' ? "$root$dir" : $dir;
  my ($reader, $writer, $jd);
  # Kept as root: the job directory through a handle (its name may be a link by now).
  if ($uid ne '') {
    my $ok = !bad_dir($dir) && as_user(sub {
      sysopen($jd, $host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) && (stat($jd))[4] == $uid
    });
    if (!$ok) { print STDERR "job directory $dir: " . ($! || 'not the account\'s') . "\n"; print "E $id " . (110 << 8) . "\n"; return; }
  }
  my $at = defined $jd ? '/proc/self/fd/' . fileno($jd) : $host;
  if ($fifo ne '') {
    # Only a fixed name, only in a job directory: checked again in the child.
    my $path = "$at/$fifo";
    my $ok = $fifo =~ m{^input\.[a-z]+$} && !bad_dir($dir) && as_user(sub {
      mkfifo_at($path)
        && sysopen($reader, $path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW)
        && sysopen($writer, $path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW)
        && -p $reader
    });
    if (!$ok) { print STDERR "early start in $dir: $!\n"; print "E $id " . (110 << 8) . "\n"; return; }
    # The compiler reads it blocking; the writer is close-on-exec. A bigger
    # pipe (F_SETPIPE_SZ, 1031; up to pipe-max-size) takes a big source in a
    # few writes instead of one per 64 KiB; if refused, the default will do.
    fcntl($reader, F_SETFL, 0);
    fcntl($writer, 1031, 1 << 20);
  }
  # Sandboxed: the child is the first process of a process namespace of its
  # own; the launcher's own one is set back for the next job.
  if (defined $pidns && !sys('unshare', $NEWPID)) { print STDERR "unshare: $!\n"; print "E $id " . (110 << 8) . "\n"; return; }
  my $pid = fork();
  if (defined $pidns && (!defined $pid || $pid > 0)) { sys('setns', fileno($pidns), $NEWPID) or die "setns: $!\n" }
  if (!defined $pid) { print "E $id " . (110 << 8) . "\n"; return; }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT'; $SIG{PIPE} = 'DEFAULT';
    setpgrp(0, 0);
    close($wake_r); close($wake_w);
    # A handle on a directory outside the root goes nowhere near the compiler.
    close($jd) if defined $jd;
    my $fail = sub { print STDERR "failed to exec $argv[0]: $_[0]\n"; child_exit(110) };
    # Only job directories, only inside ROOT: no '..', fixed prefix.
    if (bad_dir($dir)) { print STDERR "bad job directory $dir\n"; child_exit(110); }
    if (defined $pidns) {
      my $why = enter_sandbox($host, $dir);
      if (defined $why) { print STDERR "sandbox: $why\n"; child_exit(110) }
      # gcc's driver handles the signals it is sent (TERM, INT, HUP, PIPE)
      # and never raises one on itself: it may be the namespace's first
      # process itself, as it is in a container, which saves a process a
      # job (fork and exit: about 4 ms here). Any other compiler gets a first
      # process that only waits for it, so that its signals work as anywhere.
      init_of(fork(), $reader, $writer) unless $argv[0] =~ m{(?:^|/)(?:[\w.+-]+-)?(?:gcc|g\+\+)(?:-[\d.]+)?$};
    } elsif ($root ne '') {
      chroot($root) && chdir('/') or do { print STDERR "chroot $root: $!\n"; child_exit(110) };
    }
    if ($gid ne '') {
      $) = "$gid $gid";
      POSIX::setgid($gid) or $fail->("setgid($gid): $!");
    }
    if ($uid ne '') {
      POSIX::setuid($uid) or $fail->("setuid($uid): $!");
      ($< == $uid && $> == $uid) or $fail->("still uid $>");
    }
    chdir($root ne '' ? $dir : $host) or child_exit(110);
    if (defined $reader) { open(STDIN, '<&', $reader); close($reader); close($writer); }
    else { open(STDIN, '<', '/dev/null'); }
    # Made afresh: whatever stands at the name (a link to elsewhere) goes first.
    for (['stdout', \*STDOUT], ['stderr', \*STDERR]) {
      my ($name, $fh) = @$_;
      unlink($name);
      sysopen(my $new, $name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) or child_exit(110);
      open($fh, '>&', $new) or child_exit(110);
      close($new);
    }
    $ENV{TMPDIR} = $dir;
    if ($pers ne '' && syscall($SYS_personality + 0, $pers + 0) == -1) { $fail->("personality($pers): $!"); }
    if ($sub ne '') {
      if ($sub =~ m{^/|(^|/)\.\.(/|$)}) { print STDERR "bad job subdirectory $sub\n"; child_exit(110); }
      chdir($sub) or do { print STDERR "chdir $sub: $!\n"; child_exit(110) };
    }
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    my $err = "$!";
    if ($argv[0] =~ m{/([^/]+)$}) { my $base = $1; no warnings 'exec'; exec { $base } ($base, @argv[1 .. $#argv]); }
    print STDERR "failed to exec $argv[0]: $err\n";
    child_exit(110);
  }
  close($reader) if defined $reader;
  $writers{$id} = $writer if defined $writer;
  $dirs{$id} = defined $jd ? $jd : $host;
  $ids{$pid} = $id;
  $pids{$id} = $pid;
  print "S $id $pid\n";
}
my $eof = 0;
while (!$eof || %ids) {
  my $rin = '';
  vec($rin, fileno($wake_r), 1) = 1;
  vec($rin, fileno($jobs), 1) = 1 unless $eof;
  my $n = select(my $rout = $rin, undef, undef, %ids ? 0.02 : undef);
  if ($n > 0 && vec($rout, fileno($wake_r), 1)) { my $junk; 1 while sysread($wake_r, $junk, 512); }
  reap();
  next unless !$eof && $n > 0 && vec($rout, fileno($jobs), 1);
  my $got = sysread($jobs, $buf, 1 << 20, length $buf);
  if (!$got) { $eof = 1; next; }
  while (1) {
    my @f = split /\0/, $buf, -1;
    # C id: the daemon has the input pipe open; K id SIG: signal the job's process group.
    if (@f - 1 >= 2 && $f[0] eq 'C') {
      my (undef, $cid) = splice(@f, 0, 2);
      $buf = join("\0", @f);
      close(delete $writers{$cid}) if exists $writers{$cid};
      next;
    }
    if (@f - 1 >= 3 && $f[0] eq 'K') {
      my (undef, $kid, $sig) = splice(@f, 0, 3);
      $buf = join("\0", @f);
      kill($sig, -$pids{$kid}) if exists $pids{$kid} && $sig =~ /^(TERM|KILL)$/;
      next;
    }
    last if @f - 1 < 6;
    my $argc = $f[5];
    last if @f - 1 < 6 + $argc;
    my @job = splice(@f, 0, 6 + $argc);
    $buf = join("\0", @f);
    start(@job[1 .. 4], @job[6 .. $#job]);
  }
}

`;
