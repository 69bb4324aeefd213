#!/bin/bash
# Whole-build daemon benchmark on real code: Linux 6.1 (Debian's linux-source-6.1),
# `make -jJ CC='distcc gcc' lib/ mm/ kernel/` (441 translation units) with Debian's distcc
# client, against Debian's distccd and against tsdistccd, in the same run and interleaved
# (distccd first in odd rounds, tsdistccd first in even ones). Measures wall time, compares
# the objects, and samples each daemon's own RSS and CPU every 100 ms — the daemon's
# processes only, not its compilers (bench/lib/daemon-usage.js). bench/linux-build.sh is the
# client comparison on the same tree (one distccd, distcc vs tsdistcc).
#
# Usage:   bench/linux-daemons.sh [--short] [--no-write] [WORKDIR]
#          WORKDIR defaults to /tmp/tsdistcc-linux-bench, the tree linux-build.sh prepares.
#          --short     BENCH_DIRS=lib/math/ (7 units), RUNS=1, writes nothing: checks the script
#          --no-write  print the report only; otherwise it is also added to bench/RESULTS.md
# Env:     RUNS=2        timed builds per daemon
#          J=4           make -jJ, and the client's limit for the host (127.0.0.1:PORT/J)
#          LZO=0         1: DISTCC_HOSTS with ,lzo
#          BENCH_DIRS="lib/ mm/ kernel/"  the directories built
#          PREPARE_ONLY=1  download and prepare the tree, then stop
#          TSDISTCCD_BIN=path/to/tsdistccd.js  run that instead of a snapshot of this build/
# Needs:   what linux-build.sh needs: Debian 12 with apt (root, or flex bison libelf-dev bc
#          libssl-dev installed), distcc + distccd, gcc, Node 20, this repository built;
#          ~2.5 GB in WORKDIR; network once for `apt-get download linux-source-6.1` (139 MB).
# Time:    preparing the tree once: ~3 min on a quiet machine (see linux-build.sh). Then an
#          untimed warm-up of lib/math/ and 2 x RUNS builds of 1.5-3 min each on 2 idle cores:
#          ~8-12 min at the default RUNS=2. Far slower under other load; check the load column.
#          --short on a prepared tree: under a minute.
# Output:  a Markdown report on stdout and (without --short/--no-write) in bench/RESULTS.md;
#          make logs, samples, objects and the raw results under WORKDIR/runs/daemons-<time>/.
#
# Both daemons run as the benchmark's README says: loopback only, --allow 127.0.0.1, log to
# /dev/null, default --jobs; tsdistccd with --stats (its /metrics gives the jobs it completed
# and its per-phase split) and from a snapshot of build/ taken at the start. Each build deletes
# the objects of BENCH_DIRS first, gets a fresh DISTCC_DIR and DISTCC_FALLBACK=0
# DISTCC_SKIP_LOCAL_RETRY=1 DISTCC_BACKOFF_PERIOD=0, so a failed remote job fails the build.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=lib/linux-tree.sh
source "$REPO/bench/lib/linux-tree.sh"
CLI=(node "$REPO/bench/lib/cli.js")

WRITE=1
SHORT=0
WORKARG=/tmp/tsdistcc-linux-bench
for arg in "$@"; do
  case $arg in
  --short) SHORT=1 WRITE=0 ;;
  --no-write) WRITE=0 ;;
  -*) die "unknown option $arg (--short, --no-write)" ;;
  *) WORKARG=$arg ;;
  esac
done
if ((SHORT)); then
  BENCH_DIRS=${BENCH_DIRS:-lib/math/}
  RUNS=${RUNS:-1}
fi
RUNS=${RUNS:-2}
J=${J:-4}
LZO=${LZO:-0}
WARMUP_DIR=lib/math/
tree_init "$WORKARG"

for c in distcc distccd gcc node make; do
  command -v "$c" >/dev/null || die "no $c (apt-get install distcc gcc make; Node 20)"
done

prepare_tree
[[ ${PREPARE_ONLY:-0} == 1 ]] && exit 0
[[ -e $STAMP ]] || die "no prepared tree in $SRC"

RUNDIR=$WORK/runs/daemons-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUNDIR"
if [[ -n ${TSDISTCCD_BIN:-} ]]; then
  TSD_JS=$TSDISTCCD_BIN
else
  snapshot_tsdistcc "$RUNDIR/tsdistcc"
  TSD_JS=$RUNDIR/tsdistcc/build/src/bin/tsdistccd.js
fi

# ---------------------------------------------------------------- daemons
DPORT=$("${CLI[@]}" free-port)
TPORT=$("${CLI[@]}" free-port)
SPORT=$("${CLI[@]}" free-port)
COMMON=(--no-detach --listen 127.0.0.1 --allow 127.0.0.1 --log-file /dev/null)
DISTCCD_CMD=(distccd --daemon --port "$DPORT" "${COMMON[@]}")
# The file itself, as /usr/bin/tsdistccd runs: its #! line has the daemon's Node options.
TSDISTCCD_CMD=("$TSD_JS" --port "$TPORT" "${COMMON[@]}" --stats --stats-port "$SPORT")
"${DISTCCD_CMD[@]}" &
DISTCCD_PID=$!
"${TSDISTCCD_CMD[@]}" &
TSDISTCCD_PID=$!
SAMPLER_PID=
cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null
  kill "$DISTCCD_PID" "$TSDISTCCD_PID" 2>/dev/null
  wait "$DISTCCD_PID" "$TSDISTCCD_PID" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
wait_port() { # $1 port $2 pid $3 name
  local i
  for ((i = 0; i < 200; i++)); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
    kill -0 "$2" 2>/dev/null || die "$3 exited before listening on $1"
    sleep 0.05
  done
  die "$3 never listened on 127.0.0.1:$1"
}
wait_port "$DPORT" "$DISTCCD_PID" distccd
wait_port "$TPORT" "$TSDISTCCD_PID" tsdistccd
wait_port "$SPORT" "$TSDISTCCD_PID" "tsdistccd's stats port"
log "distccd pid $DISTCCD_PID on $DPORT, tsdistccd pid $TSDISTCCD_PID on $TPORT (stats $SPORT); runs in $RUNDIR"

# ---------------------------------------------------------------- one build
RESULTS=$RUNDIR/results.txt
: >"$RESULTS"
build() { # $1 daemon, $2 log file, $3... dirs
  local who=$1 logf=$2 port dir
  shift 2
  port=$DPORT
  [[ $who == tsdistccd ]] && port=$TPORT
  dir=$(mktemp -d "$RUNDIR/distcc-dir.XXXXXX")
  (cd "$SRC" && env DISTCC_HOSTS="127.0.0.1:$port/$J$( ((LZO)) && echo ,lzo)" DISTCC_DIR="$dir" \
    DISTCC_FALLBACK=0 DISTCC_SKIP_LOCAL_RETRY=1 DISTCC_BACKOFF_PERIOD=0 \
    /usr/bin/time -f '%U %S' -o "$logf.time" make -j"$J" CC='distcc gcc' "$@") >"$logf" 2>&1
}
run_one() { # $1 daemon (distccd|tsdistccd), $2 run number
  local who=$1 n=$2 name=$1-$2 pid=$DISTCCD_PID usage m0=(0 0 0 0 0 0) m1=(0 0 0 0 0 0)
  local load1 t0 t1 secs objs jobs peak cpu lower maxp statcpu makecpu i
  [[ $who == tsdistccd ]] && pid=$TSDISTCCD_PID
  clean_objs
  read -r load1 _ </proc/loadavg
  [[ $who == tsdistccd ]] && read -r -a m0 < <("${CLI[@]}" metrics "$SPORT")
  usage=$RUNDIR/usage-$name.txt
  "${CLI[@]}" usage "$who" "$pid" >"$usage" &
  SAMPLER_PID=$!
  for ((i = 0; i < 100; i++)); do [[ -s $usage ]] && break || sleep 0.05; done
  log "run $name: make -j$J CC='distcc gcc' ${DIRS[*]} (load $load1)"
  t0=$(date +%s%N)
  build "$who" "$RUNDIR/make-$name.log" "${DIRS[@]}" || die "build $name failed, see $RUNDIR/make-$name.log"
  t1=$(date +%s%N)
  kill -TERM "$SAMPLER_PID"
  wait "$SAMPLER_PID" || true
  SAMPLER_PID=
  read -r peak cpu lower maxp statcpu < <(tail -1 "$usage")
  [[ $who == tsdistccd ]] && read -r -a m1 < <("${CLI[@]}" metrics "$SPORT")
  jobs=$((${m1[0]%.*} - ${m0[0]%.*}))
  local phases
  phases=$(awk -v a="${m0[*]}" -v b="${m1[*]}" 'BEGIN {
    split(a, x); split(b, y); for (i = 2; i <= 6; i++) printf "%.3f ", y[i] - x[i] }')
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
  makecpu=$(awk '{printf "%.1f", $1 + $2}' "$RUNDIR/make-$name.log.time")
  objs=$(count_objs)
  echo "$who $n $secs $objs $jobs $load1 $peak $cpu $lower $maxp $makecpu $phases" >>"$RESULTS"
  log "run $name: $secs s, $objs objects, tsdistccd jobs $jobs, daemon peak $peak kB, CPU $cpu s (stat $statcpu), $maxp processes at most"
  save_objs "$RUNDIR/objs-$who"
}

UPTIME_BEFORE=$(uptime)
# Kbuild rebuilds what depends on CC (scripts/mod, asm-offsets) when CC changes: do that once
# here, untimed, so the first timed build does no more than the others.
log "warm-up: make -j$J CC='distcc gcc' $WARMUP_DIR through distccd (untimed)"
build distccd "$RUNDIR/make-warmup.log" "$WARMUP_DIR" || die "warm-up failed, see $RUNDIR/make-warmup.log"
for ((r = 1; r <= RUNS; r++)); do
  if ((r % 2)); then order=(distccd tsdistccd); else order=(tsdistccd distccd); fi
  for who in "${order[@]}"; do run_one "$who" "$r"; done
done
UPTIME_AFTER=$(uptime)
read -r SAME TOTAL DIFFLIST <<<"$(compare_objs "$RUNDIR/objs-distccd" "$RUNDIR/objs-tsdistccd")"

# ---------------------------------------------------------------- report
col() { awk -v w="$1" -v c="$2" '$1 == w {print $c}' "$RESULTS"; }
med() { col "$1" "$2" | median; }
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {if (b > 0) printf "%.*f", d, a / b; else print "n/a"}'; }
peak_mib() { col "$1" 7 | sort -n | tail -1 | awk '{printf "%.1f", $1 / 1024}'; }
med3() { col "$1" "$2" | sort -n | awk '{v[NR] = $1} END {if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
lower() { col "$1" 9 | grep -q 1 && echo ' (≥)' || true; }
per_job_ms() { # $1 column: the median over runs of seconds / jobs, in ms
  awk -v c="$1" '$1 == "tsdistccd" && $5 > 0 {print $c * 1000 / $5}' "$RESULTS" | sort -n |
    awk '{v[NR] = $1} END {if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
D_SECS=$(med distccd 3)
T_SECS=$(med tsdistccd 3)
REPORT=$RUNDIR/report.md
{
  echo "## Daemons: Linux 6.1 ${DIRS[*]}, make -j$J, distccd vs tsdistccd, $RUNS run(s) each, interleaved — $(date -u +%FT%TZ)"
  echo
  "${CLI[@]}" machine
  echo "Client: Debian's \`distcc\`, DISTCC_HOSTS=127.0.0.1:PORT/$J$( ((LZO)) && echo ,lzo), a fresh DISTCC_DIR"
  echo "per build. Daemons: \`${DISTCCD_CMD[*]}\` and \`${TSDISTCCD_BIN:-build/src/bin/tsdistccd.js} ${TSDISTCCD_CMD[*]:1}\`"
  echo "(${TSDISTCCD_BIN:+TSDISTCCD_BIN, not }a snapshot of build/), both with their default --jobs. Command: \`bench/linux-daemons.sh $*\`"
  echo "(RUNS=$RUNS J=$J LZO=$LZO); each build is \`make -j$J CC='distcc gcc' ${DIRS[*]}\` after deleting"
  echo "the objects of those dirs, after one untimed warm-up of $WARMUP_DIR. Load: before"
  echo "\`${UPTIME_BEFORE#*load average: }\`, after \`${UPTIME_AFTER#*load average: }\` (1/5/15 min)."
  echo
  echo "| daemon | runs (s) | median (s) | vs distccd | objects | tsdistccd jobs | load1 at start | daemon CPU s (median) | daemon RSS peak | make tree CPU s (median) |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for who in distccd tsdistccd; do
    jobs="—"
    [[ $who == tsdistccd ]] && jobs=$(col "$who" 5 | paste -sd' ' | sed 's/ /, /g')
    echo "| $who | $(col "$who" 3 | paste -sd' ' | sed 's/ /, /g') | $(med "$who" 3) | $(ratio "$(med "$who" 3)" "$D_SECS" 3) |" \
      "$(col "$who" 4 | sort -u | paste -sd/) | $jobs | $(col "$who" 6 | paste -sd' ' | sed 's/ /, /g') |" \
      "$(med3 "$who" 8)$(lower "$who") | $(peak_mib "$who") MiB | $(med "$who" 11) |"
  done
  echo
  echo "Daemon CPU and RSS: the daemon's own processes, not its compilers (distccd: the master and"
  echo "its preforked children, at most $(col distccd 10 | sort -n | tail -1) at once; tsdistccd: node and its perl launcher),"
  echo "sampled every 100 ms (≥: processes exited during the build, a lower bound). Make tree CPU:"
  echo "user+sys of make and everything it waited for (cpp, the distcc client; not the daemons' compilers)."
  echo "tsdistccd's split per job from /metrics, ms (median over runs): receive $(per_job_ms 12),"
  echo "queued $(per_job_ms 13), compile $(per_job_ms 14), send $(per_job_ms 15); node CPU $(per_job_ms 16)."
  echo
  echo "Objects: $SAME of $TOTAL \`.o\` files in ${DIRS[*]} byte-identical between the last distccd and the"
  echo "last tsdistccd build${DIFFLIST:+; **differing: $DIFFLIST**}."
  echo
  echo "Ratio tsdistccd / distccd, make -j$J wall time: **$(ratio "$T_SECS" "$D_SECS" 3)**"
  echo "Ratio tsdistccd / distccd, daemon CPU: **$(ratio "$(med3 tsdistccd 8)" "$(med3 distccd 8)")**"
  echo "Ratio tsdistccd / distccd, daemon RSS peak: **$(ratio "$(peak_mib tsdistccd)" "$(peak_mib distccd)")**"
  echo
  echo "Raw results: $RESULTS (daemon run seconds objects tsjobs load1 peak_kB cpu_s lower maxprocs"
  echo "makecpu_s receive_s queued_s compile_s send_s nodecpu_s)."
} >"$REPORT"
cat "$REPORT"
if ((WRITE)); then
  "${CLI[@]}" append-results <"$REPORT"
  log "added to $REPO/bench/RESULTS.md"
fi
[[ $SAME == "$TOTAL" ]]
