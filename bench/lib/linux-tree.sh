# Shared by the Linux 6.1 benchmarks (bench/linux-build.sh, bench/linux-daemons.sh); source it.
# The tree: Debian's linux-source-6.1 in $WORK/linux-source-6.1, defconfig with WERROR off,
# `make prepare` and one untimed local build of the benchmark dirs, done once (stamp file
# .bench-prepared) and reused by every later run of either script.
#
#   tree_init WORK        sets WORK (absolute), SRC, STAMP, DIRS (from BENCH_DIRS, default
#                         "lib/ mm/ kernel/") and FIND_DIRS (the same without the slashes)
#   prepare_tree          downloads, extracts, configures and warms up the tree if not done yet
#   clean_objs            deletes the objects of DIRS, so the next build compiles them all
#   count_objs            how many .o files DIRS hold
#   save_objs DEST        copies the .o files of DIRS to DEST (emptied first)
#   compare_objs A B      "identical total differing..." for the .o files under A and B
#   snapshot_tsdistcc DEST  copies bin/, build/ and package.json of this checkout to DEST
#                         (node_modules linked), so a rebuild meanwhile does not change what runs
#   median                the median of the numbers on stdin, one decimal
#   log, die              messages on stderr with the time

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

tree_init() {
  mkdir -p "$1"
  WORK=$(cd "$1" && pwd)
  SRC=$WORK/linux-source-6.1
  STAMP=$SRC/.bench-prepared
  read -r -a DIRS <<<"${BENCH_DIRS:-lib/ mm/ kernel/}"
  FIND_DIRS=("${DIRS[@]%/}")
}

clean_objs() {
  (cd "$SRC" && find "${FIND_DIRS[@]}" \( -name '*.o' -o -name '*.a' -o -name '*.ko' -o -name '*.mod' \) -delete)
}

count_objs() {
  (cd "$SRC" && find "${FIND_DIRS[@]}" -name '*.o' | wc -l)
}

save_objs() {
  rm -rf "$1"
  mkdir -p "$1"
  (cd "$SRC" && find "${FIND_DIRS[@]}" -name '*.o' -print0 | xargs -0 -r cp --parents -t "$1")
}

prepare_tree() {
  if [[ -e $STAMP ]]; then
    log "reusing prepared tree $SRC (prepared $(cat "$STAMP"))"
    return
  fi
  local missing=() p deb
  for p in flex bison libelf-dev bc libssl-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >"$WORK/apt-install.log" 2>&1 ||
      die "apt-get install ${missing[*]} failed, see $WORK/apt-install.log"
  fi
  if [[ ! -d $SRC ]]; then
    deb=$(ls "$WORK"/linux-source-6.1_*_all.deb 2>/dev/null | tail -1 || true)
    if [[ -z $deb ]]; then
      log "downloading linux-source-6.1"
      (cd "$WORK" && apt-get download linux-source-6.1) >&2 || die "apt-get download linux-source-6.1 failed"
      deb=$(ls "$WORK"/linux-source-6.1_*_all.deb | tail -1)
    fi
    log "extracting $(basename "$deb")"
    rm -rf "$WORK/deb"
    dpkg-deb -x "$deb" "$WORK/deb"
    tar -C "$WORK" -xf "$WORK"/deb/usr/src/linux-source-6.1.tar.xz
    rm -rf "$WORK/deb"
    [[ -d $SRC ]] || die "the tarball did not give $SRC"
  fi
  log "configuring (defconfig, WERROR off, prepare)"
  (
    cd "$SRC"
    make defconfig
    scripts/config --disable WERROR
    make olddefconfig
    make -j"$(nproc)" prepare
  ) >"$WORK/prepare.log" 2>&1 || die "kernel configure/prepare failed, see $WORK/prepare.log"
  # The first build of the dirs also generates files; do it once here, untimed.
  log "warm-up local build of ${DIRS[*]} (untimed)"
  (cd "$SRC" && make -j"$(nproc)" CC=gcc "${DIRS[@]}") >"$WORK/warmup.log" 2>&1 ||
    die "warm-up build failed, see $WORK/warmup.log"
  date -u +%FT%TZ >"$STAMP"
  log "prepared tree: $SRC"
}

snapshot_tsdistcc() {
  if [[ ! -e $BENCH_REPO/build/src/bin/tsdistccd.js || ! -e $BENCH_REPO/build/src/bin/tsdistcc-agent.js ]]; then
    log "building tsdistcc (npm run build)"
    (cd "$BENCH_REPO" && npm run build) >&2
  fi
  mkdir -p "$1"
  cp -a "$BENCH_REPO/bin" "$BENCH_REPO/build" "$BENCH_REPO/package.json" "$1/"
  ln -s "$BENCH_REPO/node_modules" "$1/node_modules"
}

compare_objs() {
  local a=$1 b=$2 f same=0 total=0 diff=()
  while IFS= read -r -d '' f; do
    total=$((total + 1))
    if cmp -s "$a/$f" "$b/$f"; then same=$((same + 1)); else diff+=("$f"); fi
  done < <(cd "$a" && find . -name '*.o' -printf '%P\0' | sort -z)
  echo "$same $total ${diff[*]:-}"
}

median() { sort -n | awk '{v[NR] = $1} END {if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
