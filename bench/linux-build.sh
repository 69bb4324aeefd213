#!/bin/bash
# Whole-build client benchmark on real code: Linux 6.1 (Debian's linux-source-6.1),
# `make -jN CC='<client> gcc' lib/ mm/ kernel/` (~441 translation units), comparing
# Debian's `distcc` client with tsdistcc (bin/tsdistcc and its resident agent), both sending
# to one Debian `distccd` on 127.0.0.1 only. Runs alternate (distcc, tsdistcc, distcc, ...)
# so machine noise hits both; one local `CC=gcc` build is timed as the floor.
#
# Usage:   bench/linux-build.sh [WORKDIR] [JOBS...]
#          WORKDIR defaults to /tmp/tsdistcc-linux-bench, JOBS to "4" (e.g. `... /work/lb 4 2`).
# Env:     RUNS=2        timed runs per client and -j
#          LOCAL_J=2     -j of the timed local floor build (LOCAL_J=0 skips it)
#          PORT=36320    distccd port on 127.0.0.1 (must be free)
#          PREPARE_ONLY=1  download and prepare the tree, then stop
#          BENCH_DIRS="lib/ mm/ kernel/"  the directories built (a smaller set for a quick try)
# Needs:   Debian 12 with apt (run as root, or have flex bison libelf-dev bc libssl-dev
#          installed already), distcc + distccd (`apt-get install distcc`), gcc, Node 20 and
#          this repository (`npm run build` is run if build/ is missing); ~2.5 GB of disk in
#          WORKDIR; network once for `apt-get download linux-source-6.1` (139 MB).
# Time:    first use prepares the tree once (download 1 s, extract ~10 s, defconfig +
#          prepare ~1 min, one untimed local warm-up build ~1.5 min on a quiet machine);
#          every timed build then takes 1.5-3 min on 2 idle cores, so the default (one -j,
#          RUNS=2) is 5 builds = ~10-15 min, `4 2` about 20-25 min. Later runs reuse the
#          prepared tree. Under other load it is far slower (10-20 min a build at load 8-12),
#          and the wall times are then noise: check the load columns and the CPU figures.
# Output:  a Markdown report on stdout (machine, load, table of wall times with each run,
#          median and tsdistcc/distcc ratio, agent and distccd RSS, object comparison);
#          logs, make output and saved objects under WORKDIR/runs/<time>/.
#
# Each run deletes the objects of lib/ mm/ kernel/ first, so every run compiles the same
# units; the counts (objects on disk, jobs the server completed) are in the table. Each
# client run gets a fresh DISTCC_DIR; each tsdistcc run a private XDG_RUNTIME_DIR, so it
# starts its own agent (stopped after the run). tsdistcc runs from a snapshot of bin/ and
# build/ taken at the start, so a rebuild in the tree meanwhile does not change it.
set -euo pipefail

REPO=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=lib/linux-tree.sh
source "$REPO/bench/lib/linux-tree.sh"

WORKARG=${1:-/tmp/tsdistcc-linux-bench}
shift || true
JOBS=("$@")
((${#JOBS[@]})) || JOBS=(4)
RUNS=${RUNS:-2}
LOCAL_J=${LOCAL_J:-2}
PORT=${PORT:-36320}
tree_init "$WORKARG"

command -v distcc >/dev/null || die "no distcc client (apt-get install distcc)"
command -v distccd >/dev/null || die "no distccd (apt-get install distccd)"
command -v gcc >/dev/null || die "no gcc"
command -v node >/dev/null || die "no node"

# ---------------------------------------------------------------- prepare (once)
prepare_tree
[[ ${PREPARE_ONLY:-0} == 1 ]] && exit 0

# ---------------------------------------------------------------- tsdistcc snapshot
RUNDIR=$WORK/runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RUNDIR"
SNAP=$RUNDIR/tsdistcc
snapshot_tsdistcc "$SNAP"
TSD_REV=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
TSD_DIRTY=$(cd "$REPO" && git status --porcelain -- src 2>/dev/null | wc -l)

# ---------------------------------------------------------------- server
if (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  die "port $PORT on 127.0.0.1 is already in use; set PORT"
fi
SERVER_LOG=$RUNDIR/distccd.log
: >"$SERVER_LOG"
chmod 666 "$SERVER_LOG"
distccd --daemon --no-detach --listen 127.0.0.1 --allow 127.0.0.1 --port "$PORT" \
  --log-stderr --log-level info 2>"$SERVER_LOG" &
SERVER_PID=$!
SAMPLER_PID=
cleanup() {
  [[ -n $SAMPLER_PID ]] && kill "$SAMPLER_PID" 2>/dev/null || true
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}
trap cleanup EXIT
for ((i = 0; i < 100; i++)); do
  (echo >"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || die "distccd did not start, see $SERVER_LOG"
  sleep 0.1
done
log "distccd pid $SERVER_PID on 127.0.0.1:$PORT, runs in $RUNDIR"

# ---------------------------------------------------------------- sampling
# Every 0.5 s: agent RSS (kB) and the distccd processes' summed RSS and count.
rss_of() { awk '/^VmRSS:/ {v = $2} END {print v + 0}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU ticks of a process and of the children it has reaped (utime stime cutime cstime).
ticks_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{t = $12 + $13 + $14 + $15} END {print t + 0}'; }
server_ticks() { # distccd: every live process, plus what the master reaped
  local p t=0
  for p in $(pgrep -f -- "distccd --daemon --no-detach --listen 127.0.0.1 --allow 127.0.0.1 --port $PORT" || true); do
    t=$((t + $(ticks_of "$p")))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
sampler() { # $1 = output file, $2 = agent pgrep pattern ("" = none)
  local out=$1 pat=$2 a p sum n
  while :; do
    a=0
    if [[ -n $pat ]]; then
      for p in $(pgrep -f -- "$pat" || true); do a=$(rss_of "$p"); done
    fi
    sum=0 n=0
    for p in $(pgrep -f -- "distccd --daemon --no-detach --listen 127.0.0.1 --allow 127.0.0.1 --port $PORT" || true); do
      sum=$((sum + $(rss_of "$p"))) n=$((n + 1))
    done
    echo "$a $sum $n" >>"$out"
    sleep 0.5
  done
}

# ---------------------------------------------------------------- one run
# Appends "client j seconds objects serverjobs load1 agentpeak_kB distccdsum_kB distccdmax_n
# makecpu_s agentcpu_s servercpu_s".
RESULTS=$RUNDIR/results.txt
: >"$RESULTS"
run_one() { # $1 client (local|distcc|tsdistcc), $2 -j, $3 run number
  local client=$1 j=$2 n=$3 cc name t0 t1 secs objs before after jobs load1 env=()
  local xdg="" pat="" samples=$RUNDIR/rss-$client-j$j-$n.txt agentpeak=0 agentpid=""
  local st0 st1 makecpu agentcpu=0 servercpu
  name=$client-j$j-$n
  clean_objs
  case $client in
  local) cc=gcc ;;
  distcc)
    cc="distcc gcc"
    mkdir -p "$RUNDIR/distcc-dir-$name"
    env=(DISTCC_DIR="$RUNDIR/distcc-dir-$name" DISTCC_HOSTS="127.0.0.1:$PORT/4")
    ;;
  tsdistcc)
    cc="$SNAP/bin/tsdistcc gcc"
    xdg=$(mktemp -d "$RUNDIR/xdg-$name.XXXXXX")
    chmod 700 "$xdg"
    mkdir -p "$RUNDIR/distcc-dir-$name"
    env=(DISTCC_DIR="$RUNDIR/distcc-dir-$name" DISTCC_HOSTS="127.0.0.1:$PORT/4" XDG_RUNTIME_DIR="$xdg")
    pat="tsdistcc-agent.js $xdg/"
    ;;
  esac
  read -r load1 _ </proc/loadavg
  before=$(grep -c COMPILE_OK "$SERVER_LOG" || true)
  : >"$samples"
  sampler "$samples" "$pat" &
  SAMPLER_PID=$!
  log "run $name: make -j$j CC='$cc' ${DIRS[*]} (load $load1)"
  st0=$(server_ticks)
  t0=$(date +%s%N)
  if ! (cd "$SRC" && env "${env[@]}" /usr/bin/time -f '%U %S' -o "$RUNDIR/time-$name.txt" \
    make -j"$j" CC="$cc" "${DIRS[@]}") >"$RUNDIR/make-$name.log" 2>&1; then
    die "build $name failed, see $RUNDIR/make-$name.log"
  fi
  t1=$(date +%s%N)
  if [[ -n $pat ]]; then
    agentpid=$(pgrep -f -- "$pat" | head -1 || true)
    [[ -n $agentpid ]] && agentpeak=$(awk '/^VmHWM:/ {print $2}' "/proc/$agentpid/status" 2>/dev/null || echo 0)
    [[ -n $agentpid ]] && agentcpu=$(awk -v t="$(ticks_of "$agentpid")" -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz}')
  fi
  st1=$(server_ticks)
  servercpu=$(awk -v a="$st0" -v b="$st1" -v hz="$HZ" 'BEGIN {printf "%.1f", (b - a) / hz}')
  makecpu=$(awk '{printf "%.1f", $1 + $2}' "$RUNDIR/time-$name.txt")
  kill "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=
  [[ -n $agentpid ]] && { kill "$agentpid" 2>/dev/null || true; }
  sleep 0.5
  after=$(grep -c COMPILE_OK "$SERVER_LOG" || true)
  jobs=$((after - before))
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) / 1e9}')
  objs=$(count_objs)
  local dsum dn
  read -r dsum dn < <(awk '{ if ($2 > s) s = $2; if ($3 > n) n = $3 } END {print s + 0, n + 0}' "$samples")
  if [[ $agentpeak == 0 && -s $samples ]]; then
    agentpeak=$(awk '{ if ($1 > m) m = $1 } END {print m + 0}' "$samples")
  fi
  echo "$client $j $secs $objs $jobs $load1 $agentpeak $dsum $dn $makecpu $agentcpu $servercpu" >>"$RESULTS"
  log "run $name: ${secs} s, $objs objects, $jobs server jobs, agent peak ${agentpeak} kB, distccd max sum ${dsum} kB over $dn procs, CPU s make tree $makecpu agent $agentcpu distccd $servercpu"
  # Keep the latest objects of each client for the comparison.
  save_objs "$RUNDIR/objs-$client"
}

UPTIME_BEFORE=$(uptime)
if ((LOCAL_J > 0)); then
  run_one local "$LOCAL_J" 1
fi
for j in "${JOBS[@]}"; do
  for ((r = 1; r <= RUNS; r++)); do
    run_one distcc "$j" "$r"
    run_one tsdistcc "$j" "$r"
  done
done
UPTIME_AFTER=$(uptime)

# ---------------------------------------------------------------- compare objects
CMP_TS=$(compare_objs "$RUNDIR/objs-distcc" "$RUNDIR/objs-tsdistcc")
CMP_LOCAL=""
[[ -d $RUNDIR/objs-local ]] && CMP_LOCAL=$(compare_objs "$RUNDIR/objs-local" "$RUNDIR/objs-distcc")

# ---------------------------------------------------------------- report
cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)

echo "Machine: $(nproc) CPUs ($cpu_model), $mem, Node.js $(node --version), $(gcc --version | head -1),"
echo "$(distcc --version | head -1) (client), distccd on 127.0.0.1:$PORT (Debian's, default --jobs)."
echo "tsdistcc at $TSD_REV ($TSD_DIRTY uncommitted changes under src/), built tree snapshot."
echo "Command: \`bench/linux-build.sh $WORK ${JOBS[*]}\` (RUNS=$RUNS LOCAL_J=$LOCAL_J): each run is"
echo "\`make -jN CC='<client> gcc' ${DIRS[*]}\` after deleting the objects of those dirs;"
echo "clients with DISTCC_HOSTS=127.0.0.1:$PORT/4 and a fresh DISTCC_DIR, tsdistcc with a private XDG_RUNTIME_DIR (own agent)."
echo "Load: before \`${UPTIME_BEFORE#*load average: }\`, after \`${UPTIME_AFTER#*load average: }\` (1/5/15 min)."
echo
echo "| client | -j | runs (s) | median (s) | vs distcc | objects | server jobs | load1 at start | CPU s: make tree + agent + distccd (median) |"
echo "|---|---|---|---|---|---|---|---|---|"
for j in $({ ((LOCAL_J > 0)) && echo "$LOCAL_J"; printf '%s\n' "${JOBS[@]}"; } | sort -un); do
  dmed=$(awk -v j="$j" '$1 == "distcc" && $2 == j {print $3}' "$RESULTS" | median)
  for client in local distcc tsdistcc; do
    rows=$(awk -v c="$client" -v j="$j" '$1 == c && $2 == j' "$RESULTS")
    [[ -n $rows ]] || continue
    each=$(awk '{print $3}' <<<"$rows" | paste -sd' ' | sed 's/ /, /g')
    med=$(awk '{print $3}' <<<"$rows" | median)
    ratio="—"
    [[ -n $dmed && $dmed != 0.0 ]] && ratio=$(awk -v a="$med" -v b="$dmed" 'BEGIN {printf "%.3f", a / b}')
    objs=$(awk '{print $4}' <<<"$rows" | sort -u | paste -sd/)
    jobs=$(awk '{print $5}' <<<"$rows" | paste -sd' ' | sed 's/ /, /g')
    loads=$(awk '{print $6}' <<<"$rows" | paste -sd' ' | sed 's/ /, /g')
    cpu=$(awk '{print $10}' <<<"$rows" | median)+$(awk '{print $11}' <<<"$rows" | median)+$(awk '{print $12}' <<<"$rows" | median)
    echo "| $client | $j | $each | $med | $ratio | $objs | $jobs | $loads | $cpu |"
  done
done
echo
agent=$(awk '$1 == "tsdistcc" {print $7}' "$RESULTS" | sort -n | awk '{v[NR] = $1} END {printf "%.0f–%.0f", v[1] / 1024, v[NR] / 1024}')
dts=$(awk '$1 == "tsdistcc" {print $8}' "$RESULTS" | sort -n | awk '{v[NR] = $1} END {printf "%.0f–%.0f", v[1] / 1024, v[NR] / 1024}')
ddc=$(awk '$1 == "distcc" {print $8}' "$RESULTS" | sort -n | awk '{v[NR] = $1} END {printf "%.0f–%.0f", v[1] / 1024, v[NR] / 1024}')
dn=$(awk '$1 ~ /distcc/ {print $9}' "$RESULTS" | sort -n | tail -1)
echo "RSS: tsdistcc agent peak (VmHWM) $agent MiB per run; distccd, all its processes summed"
echo "(at most $dn at once, shared pages counted each time), peak $dts MiB during tsdistcc runs,"
echo "$ddc MiB during distcc runs (sampled every 0.5 s)."
echo
read -r same total difflist <<<"$CMP_TS"
echo "Objects: $same of $total \`.o\` files in ${DIRS[*]} byte-identical between the last distcc"
echo "and the last tsdistcc build${difflist:+; differing: $difflist}."
if [[ -n $CMP_LOCAL ]]; then
  read -r same total difflist <<<"$CMP_LOCAL"
  echo "Local gcc build vs distcc build: $same of $total identical${difflist:+; differing: $difflist}."
fi
echo
echo "CPU: user+sys of make and everything it waited for (cpp, cc1, the distcc client or the tsdistcc"
echo "launcher); of the tsdistcc agent (started fresh each run); of distccd and its compilers."
echo "Raw results: $RESULTS (client j seconds objects serverjobs load1 agentpeak_kB distccdsum_kB procs"
echo "makecpu_s agentcpu_s distccdcpu_s)."
