// The resident launcher, a small Perl program (perl is in Debian's and
// Arch's base systems). Forking the daemon — a Node process of tens of MB
// with its threads — blocks the event loop for several milliseconds per job
// on the machines we measured (bench/RESULTS.md); a small process forks in a
// fraction of that, as distccd's small preforked children do.
//
// Jobs arrive on stdin as `J\0id\0dir\0sub\0fifo\0argc\0arg0\0...\0`. Each compiler is
// forked into a process group of its own, in `dir` (then `sub` inside it, if
// not empty: pump jobs run in the client's directory rebuilt there), with
// stdin from /dev/null, stdout/stderr to `dir/stdout` and `dir/stderr`, and
// TMPDIR set to `dir`, so the compiler's own temporary files (gcc's ccXXXX.s)
// go with the job directory even when it is killed mid-write. Events go to
// stdout, one line each: `S id pid` (started), `E id status out err` (raw
// wait status, then the sizes of `dir/stdout` and `dir/stderr`: the daemon
// reads only those that are not empty, usually neither). If `fifo` is not empty (early start, server/early-start.ts), the
// launcher makes `dir/fifo` a named pipe and gives the compiler its read end
// as stdin, keeping a write end itself so that the compiler does not see EOF
// before the daemon has opened the pipe: once `S` arrives the daemon opens
// it for writing, sends `C\0id\0` (the launcher then closes its end), writes
// the source and closes; the compiler reads to EOF. The launcher's end also
// goes when the compiler ends. As distccd's dcc_execvp: argv[0] with a slash
// that can't be run is tried by its basename; if nothing runs, the child writes "failed to exec"
// to its stderr file and exits 110. SIGCHLD wakes the loop through a
// self-pipe. Perl runs a signal's handler at its next safe point, not when
// the signal comes: one that comes just before select(2) is entered writes
// to the pipe only once select returns. So while compilers run, select
// also returns every 20 ms, and an exit is never noticed later than that
// (it happened once in a few thousand jobs under perf). EOF on stdin: wait
// for the running compilers, then exit.
//
// Arguments fix what every job gets, so that a launcher left running as root
// (to enter a chroot) cannot be told to do anything else:
//   ROOT  ''  or the chroot directory; job directories are paths inside it
//   UID GID  '' or the account compilers run as (set after chroot)
//   PERSONALITY  '' or a personality(2) value (8 = PER_LINUX32)
//   BWRAP  '' or bubblewrap's path: the compiler runs in a sandbox with no
//          network, ROOT (or /) read-only as /, only its job directory
//          writable (and TMPDIR, for the compiler's own temporary files).
//   SYS_PERSONALITY  '' or personality(2)'s system call number on this
//          architecture (launcher.ts knows them), given with PERSONALITY.
//   SYS_MKNODAT  '' or mknodat(2)'s number: the FIFO is made with it.
//
// POSIX (1.5 MB of the launcher's 7 MB) is loaded only where core Perl has
// no safe stand-in: for the account switch (POSIX::setuid sets the saved
// uid too; Perl's $< and $> leave it), for mkfifo where the mknodat number
// is not known, and in a child that must _exit without exec.

export const LAUNCHER_SCRIPT = String.raw`
use strict; use warnings; use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK O_RDONLY O_WRONLY S_IFIFO);
$| = 1;
my ($root, $uid, $gid, $pers, $bwrap, $SYS_personality, $SYS_mknodat) = map { defined $_ ? $_ : '' } @ARGV[0 .. 6];
die "a personality needs its system call number\n" if $pers ne '' && $SYS_personality !~ /^\d+$/;
my $mknodat = $SYS_mknodat =~ /^\d+$/ ? $SYS_mknodat + 0 : undef;
require POSIX if $uid ne '' || $gid ne '' || !defined $mknodat;
# mknodat(AT_FDCWD, path, S_IFIFO | 0600, 0), or POSIX's mkfifo.
sub mkfifo_at {
  return syscall($mknodat, -100, $_[0], S_IFIFO | 0600, 0) == 0 if defined $mknodat;
  return POSIX::mkfifo($_[0], 0600);
}
sub child_exit { require POSIX; POSIX::_exit($_[0]) }
my %ids; my %writers; my %dirs; my $buf = '';
pipe(my $wake_r, my $wake_w) or die "pipe: $!";
for ($wake_r, $wake_w) { my $fl = fcntl($_, F_GETFL, 0); fcntl($_, F_SETFL, $fl | O_NONBLOCK); }
$SIG{CHLD} = sub { syswrite($wake_w, "x") };
$SIG{PIPE} = 'IGNORE';
sub reap {
  # 1 is WNOHANG on Linux.
  while ((my $pid = waitpid(-1, 1)) > 0) {
    my $id = delete $ids{$pid};
    next unless defined $id;
    my $status = $?;
    close(delete $writers{$id}) if exists $writers{$id};
    my $d = delete $dirs{$id};
    printf "E %s %d %d %d\n", $id, $status, (-s "$d/stdout") || 0, (-s "$d/stderr") || 0;
  }
}
sub start {
  my ($id, $dir, $sub, $fifo, @argv) = @_;
  my $host = $root ne '' ? "$root$dir" : $dir;
  my ($reader, $writer);
  if ($fifo ne '') {
    # Only a fixed name, only in a job directory: checked again in the child.
    my $path = "$host/$fifo";
    if ($fifo !~ m{^input\.[a-z]+$} || $dir =~ m{/\.\.(/|$)} || $dir !~ m{/tsdistccd_[A-Za-z0-9]+$}
        || !mkfifo_at($path)
        || ($uid ne '' && !chown($uid, $gid, $path))
        || !sysopen($reader, $path, O_RDONLY | O_NONBLOCK)
        || !sysopen($writer, $path, O_WRONLY | O_NONBLOCK)) {
      print STDERR "early start in $dir: $!\n"; print "E $id " . (110 << 8) . "\n"; return;
    }
    # The compiler reads it blocking; the writer is close-on-exec. A bigger
    # pipe (F_SETPIPE_SZ, 1031; up to pipe-max-size) takes a big source in a
    # few writes instead of one per 64 KiB; if refused, the default will do.
    fcntl($reader, F_SETFL, 0);
    fcntl($writer, 1031, 1 << 20);
  }
  my $pid = fork();
  if (!defined $pid) { print "E $id " . (110 << 8) . "\n"; return; }
  if ($pid == 0) {
    $SIG{CHLD} = 'DEFAULT'; $SIG{PIPE} = 'DEFAULT';
    setpgrp(0, 0);
    close($wake_r); close($wake_w);
    # Only job directories, only inside ROOT: no '..', fixed prefix.
    if ($dir =~ m{/\.\.(/|$)} || $dir !~ m{/tsdistccd_[A-Za-z0-9]+$}) { print STDERR "bad job directory $dir\n"; child_exit(110); }
    if ($root ne '' && $bwrap eq '') {
      chroot($root) or do { print STDERR "chroot $root: $!\n"; child_exit(110) };
      chdir($dir) or child_exit(110);
    } else {
      chdir($host) or child_exit(110);
    }
    if (defined $reader) { open(STDIN, '<&', $reader); close($reader); close($writer); }
    else { open(STDIN, '<', '/dev/null'); }
    open(STDOUT, '>', 'stdout'); open(STDERR, '>', 'stderr');
    $ENV{TMPDIR} = $dir;
    my $fail = sub { print STDERR "failed to exec $argv[0]: $_[0]\n"; child_exit(110) };
    if ($uid ne '') { chown($uid, $gid, 'stdout', 'stderr'); }
    if ($sub ne '') {
      if ($sub =~ m{^/|(^|/)\.\.(/|$)}) { print STDERR "bad job subdirectory $sub\n"; child_exit(110); }
      chdir($sub) or do { print STDERR "chdir $sub: $!\n"; child_exit(110) };
    }
    if ($pers ne '' && syscall($SYS_personality + 0, $pers + 0) == -1) { $fail->("personality($pers): $!"); }
    if ($gid ne '') {
      $) = "$gid $gid";
      POSIX::setgid($gid) or $fail->("setgid($gid): $!");
    }
    if ($uid ne '') {
      POSIX::setuid($uid) or $fail->("setuid($uid): $!");
      ($< == $uid && $> == $uid) or $fail->("still uid $>");
    }
    if ($bwrap ne '') {
      @argv = ($bwrap, '--unshare-net', '--unshare-ipc', '--unshare-uts', '--die-with-parent',
        '--ro-bind', ($root ne '' ? $root : '/'), '/', '--dev', '/dev', '--proc', '/proc',
        '--bind', $host, $dir, '--chdir', $dir, '--setenv', 'TMPDIR', $dir, '--', @argv);
    }
    { no warnings 'exec'; exec { $argv[0] } @argv; }
    my $err = "$!";
    if ($argv[0] =~ m{/([^/]+)$}) { my $base = $1; no warnings 'exec'; exec { $base } ($base, @argv[1 .. $#argv]); }
    print STDERR "failed to exec $argv[0]: $err\n";
    child_exit(110);
  }
  close($reader) if defined $reader;
  $writers{$id} = $writer if defined $writer;
  $dirs{$id} = $host;
  $ids{$pid} = $id;
  print "S $id $pid\n";
}
my $eof = 0;
while (!$eof || %ids) {
  my $rin = '';
  vec($rin, fileno($wake_r), 1) = 1;
  vec($rin, 0, 1) = 1 unless $eof;
  my $n = select(my $rout = $rin, undef, undef, %ids ? 0.02 : undef);
  if ($n > 0 && vec($rout, fileno($wake_r), 1)) { my $junk; 1 while sysread($wake_r, $junk, 512); }
  reap();
  next unless !$eof && $n > 0 && vec($rout, 0, 1);
  my $got = sysread(STDIN, $buf, 1 << 20, length $buf);
  if (!$got) { $eof = 1; next; }
  while (1) {
    my @f = split /\0/, $buf, -1;
    if (@f - 1 >= 2 && $f[0] eq 'C') {
      my (undef, $cid) = splice(@f, 0, 2);
      $buf = join("\0", @f);
      close(delete $writers{$cid}) if exists $writers{$cid};
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
