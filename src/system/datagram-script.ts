// The datagram helper, a small resident Perl program (core modules only).
// Node has no AF_UNIX datagram sockets, yet syslog (/dev/log) and systemd's
// sd_notify ($NOTIFY_SOCKET) both want one datagram per message.
//
// Records arrive on stdin as `DESTLEN PAYLOADLEN\nDESTPAYLOAD` (decimal byte
// counts, then the raw bytes), so a payload may hold any bytes, NUL and
// newlines included. DEST is a socket path; a leading `@` means Linux's
// abstract namespace (`@foo` is "\0foo"). Each payload is sent as one
// SOCK_DGRAM datagram from one unbound socket, never blocking.
//
// Failures are reported on stdout, one line each: `E DEST: text`. The helper
// keeps running: a destination that doesn't exist yet (ENOENT), has no reader
// (ECONNREFUSED) or refuses us is reported and the record dropped; the next
// record to it is tried afresh. Repeats of the same failure for the same
// destination are reported at most once per 10 s, with a count of those held
// back (and a last count at exit).
//
// A full receive queue (EAGAIN/ENOBUFS) is retried every 5 ms for 0.5 s; then
// the record is dropped and the destination marked stalled: while stalled,
// its records get one try each (so a receiver that stopped reading costs
// 0.5 s, not 0.5 s per record), until one goes through. Records queue in
// order (a stalled head delays the others); more than 4 MiB queued means new
// records are dropped. EOF on stdin: send (or drop) what is queued, exit 0.

export const DATAGRAM_SCRIPT = String.raw`
use strict; use warnings;
use Socket qw(AF_UNIX SOCK_DGRAM MSG_DONTWAIT pack_sockaddr_un);
use POSIX ();
use Time::HiRes qw(time);
$| = 1;
$SIG{PIPE} = 'IGNORE';
my $RETRY_FOR = 0.5; my $RETRY_STEP = 0.005; my $QUIET = 10; my $MAX_QUEUED = 4 << 20;
my %AGAIN = map { $_ => 1 } (POSIX::EAGAIN(), POSIX::EWOULDBLOCK(), POSIX::ENOBUFS(), POSIX::EINTR());
socket(my $sock, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
my @queue; my $queued = 0; my $buf = ''; my $eof = 0;
my %addr; my %stalled; my %reported; my $blocked_since;

sub report {
  my ($dest, $what) = @_;
  my $r = $reported{"$dest\0$what"} //= [-1e9, 0, $dest, $what];
  my $now = time;
  if ($now - $r->[0] < $QUIET) { $r->[1]++; return; }
  my $more = $r->[1] ? " ($r->[1] more)" : '';
  (my $d = $dest) =~ s/[\x00-\x1f]/?/g;
  print "E $d: $what$more\n";
  @$r[0, 1] = ($now, 0);
}

# The packed sockaddr_un for DEST, or undef if it can't be one.
sub address {
  my ($dest) = @_;
  return $addr{$dest} if exists $addr{$dest};
  %addr = () if keys %addr > 64;
  my $path = $dest;
  my $max = ($path =~ s/^@/\0/) ? 108 : 107;
  return $addr{$dest} = (length($path) == 0 || length($path) > $max) ? undef : pack_sockaddr_un($path);
}

# Tries the head of the queue: 1 if it is done with (sent or dropped), 0 to retry.
sub try_send {
  my ($dest, $payload) = @{$queue[0]};
  my $a = address($dest);
  if (!defined $a) { report($dest, 'not a usable socket name; dropped'); return 1; }
  if (defined send($sock, $payload, MSG_DONTWAIT, $a)) { delete $stalled{$dest}; return 1; }
  my $text = "$!";
  if (!$AGAIN{$! + 0}) { report($dest, $text); return 1; }
  if (!$stalled{$dest}) {
    $blocked_since //= time;
    return 0 if time - $blocked_since < $RETRY_FOR;
    $stalled{$dest} = 1;
  }
  report($dest, "$text; dropped");
  return 1;
}

sub parse {
  while (1) {
    if ($buf =~ /^(\d{1,10}) (\d{1,10})\n/) {
      my ($dl, $pl, $hl) = ($1, $2, $+[0]);
      last if length($buf) < $hl + $dl + $pl;
      my $dest = substr($buf, $hl, $dl);
      my $payload = substr($buf, $hl + $dl, $pl);
      substr($buf, 0, $hl + $dl + $pl) = '';
      if ($queued + $pl > $MAX_QUEUED) { report($dest, 'too many datagrams queued; dropped'); next; }
      push @queue, [$dest, $payload]; $queued += $pl;
    } else {
      die "bad record header\n" unless $buf =~ /^\d{0,10}(?: \d{0,10})?\z/;
      last;
    }
  }
}

while (1) {
  while (@queue && try_send()) { my $r = shift @queue; $queued -= length $r->[1]; undef $blocked_since; }
  last if $eof && !@queue;
  my $rin = '';
  vec($rin, 0, 1) = 1 unless $eof;
  my $n = select(my $rout = $rin, undef, undef, @queue ? $RETRY_STEP : undef);
  next unless $n > 0 && vec($rout, 0, 1);
  my $got = sysread(STDIN, $buf, 1 << 16, length $buf);
  if (!defined $got) { next if $!{EINTR} || $!{EAGAIN}; $eof = 1; next; }
  if ($got == 0) { $eof = 1; next; }
  parse();
}
for my $r (values %reported) {
  my (undef, $n, $dest, $what) = @$r;
  (my $d = $dest) =~ s/[\x00-\x1f]/?/g;
  print "E $d: $what ($n more)\n" if $n;
}
`;
