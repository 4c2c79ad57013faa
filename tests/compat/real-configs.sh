#!/usr/bin/env bash
# Compatibility survey: every real keepalived.conf in a folder (by default
# ../shared/fixtures/keepalived-real, files users posted with keepalived
# bug reports; or /work/shared/...) through Debian's `keepalived -t` and `tandem check-config`,
# side by side, and a table of what keeps tandem from running the configs
# keepalived accepts.
#
#   tests/compat/real-configs.sh [DIR] [--out FILE.tsv] [--logs DIR] [--min-percent N]
#
# --logs DIR keeps what each program printed, as DIR/FILE@ID.keepalived and
# DIR/FILE@ID.tandem.
#
# Each file is checked inside a throw-away network namespace holding an
# (empty, down-less) bridge for every interface name the file uses, because
# keepalived refuses a configuration whose interfaces do not exist; this
# machine's kernel has no dummy module, and a bridge is a link of any name.
# keepalived only ever runs with -t (it checks and exits) and only inside
# that namespace. Prints per-file outcomes to FILE.tsv (default: a temp
# file, whose name it prints), then the summary docs/config.md quotes.
# A file with `@ID` lines is checked once per id it names (`-i ID`, as the
# operator runs it on each balancer); a file counts as run when it runs
# under every one of them. With --min-percent N it exits 1 when tandem runs
# fewer than N % of the files keepalived runs, so a suite can hold the line.
# Needs root (namespaces). TANDEM=path/to/tandem skips the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
. netns-lab/as-root.sh
as_root "$@"

dir=
for d in ../shared/fixtures/keepalived-real /work/shared/fixtures/keepalived-real; do
  [ -d "$d" ] && { dir=$d; break; }
done
out=
min_percent=
logs=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=${2:?--out needs a file}; shift 2 ;;
    --logs) logs=${2:?--logs needs a folder}; mkdir -p "$logs"; shift 2 ;;
    --min-percent) min_percent=${2:?--min-percent needs a number}; shift 2 ;;
    -*) echo "real-configs: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done
[ -n "$dir" ] && [ -d "$dir" ] || { echo "real-configs: no folder of configurations (${dir:-none given, none found})" >&2; exit 2; }
dir=$(cd "$dir" && pwd)
command -v keepalived >/dev/null || { echo "real-configs: keepalived is not installed (.ci/setup)" >&2; exit 2; }
if [ -z "${TANDEM:-}" ]; then
  cargo build --quiet --bin tandem
  TANDEM=$PWD/target/debug/tandem
fi
TANDEM=$(readlink -f "$TANDEM")

# The namespaces a file names (low, high, ...) are global: one survey at a
# time.
exec 9>/tmp/tdm-compat.lock
flock 9
work=$(mktemp -d /tmp/tdm-compat.XXXXXX)
ns=tdm-compat-$$
file_nss=()
cleanup() {
  ip netns del "$ns" 2>/dev/null || true
  for n in "${file_nss[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "$out" ] || out=$(mktemp /tmp/tdm-compat-results.XXXXXX.tsv)
printf 'file\tconfig_id\tkeepalived\ttandem\tblocked_by\tkeepalived_skipped\n' > "$out"

# Interface names a file uses: after `interface`, `dev`, `lvs_sync_daemon`
# (and its old name), and inside `track_interface` / `linkbeat_interfaces`
# blocks. A name keepalived creates itself (use_vmac NAME) is not listed.
interfaces() {
  /usr/bin/python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
text = re.sub(r"[#!].*", "", text)
names = set()
for m in re.finditer(r"\b(interface|dev|lvs_sync_daemon_interface|lvs_sync_daemon|vmac_xmit_base_interface)\s+(\S+)", text):
    names.add(m.group(2))
for block in re.finditer(r"\b(track_interface|linkbeat_interfaces)\s*\{([^}]*)\}", text):
    for line in block.group(2).splitlines():
        tok = line.split()
        if tok:
            names.add(tok[0])
ok = [n for n in names if re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", n) and n not in ("lo", "{", "}")]
print("\n".join(sorted(ok)))
PY
}

# What stopped tandem: the keyword of each "not support" or "unknown"
# error, else the first error's message without its position.
blockers() {
  sed -n 's/^[^ ]*: error: //p' "$1" | /usr/bin/python3 -c '
import re, sys
seen = []
for line in sys.stdin:
    line = line.strip()
    m = re.match(r"\"([^\"]+)\" is a keepalived option that tandem does not support yet", line) \
        or re.match(r"unknown keyword \"([^\"]+)\"", line) \
        or re.match(r"\"([^\"]+)\" is not supported yet", line)
    what = m.group(1) if m else re.sub(r"\d+", "N", line)[:70]
    if what not in seen:
        seen.append(what)
print(";".join(seen))
'
}

# What keepalived reported about a line of the file and then ran without:
# each "(FILE: Line N) MESSAGE" it printed, numbers written N. keepalived -t
# prints its config errors but not what it logs later (a notify script it
# drops for a bad user, the words after an unquoted misc_path): where
# tandem's error says what keepalived does with the line, that is added as
# "keepalived (said by tandem): ...".
skipped() {
  /usr/bin/python3 -c '
import re, sys
seen = []
def add(what):
    what = re.sub(r"\d+", "N", what.strip())[:70].replace(";", ",")
    if what not in seen:
        seen.append(what)
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"Line \d+\) (.*)", line)
    if m:
        add(m.group(1))
    # An unbalanced file: keepalived reads on with the blocks misnested.
    elif re.search(r"There are \d+ missing \x27}\x27s or extra \x27[{]\x27s", line):
        add(line)
for line in open(sys.argv[2], errors="replace"):
    m = re.search(r": error: .*\([^()]*?(keepalived (2\.\d+\.\d+ would|ignores|refuses)[^()]*)\)", line)
    if m:
        add("keepalived (said by tandem): " + re.sub(r"/\S+", "PATH", m.group(1)))
print(";".join(seen))
' "$1" "$2"
}

# The config ids a file's `@ID` / `@^ID` lines name. An operator runs such
# a file with `-i ID` on each node (`@low` on one balancer, `@high` on the
# other), so each id is one configuration to check; a file without them is
# checked once, with the default id (the host name, for both programs).
config_ids() {
  /usr/bin/python3 - "$1" <<'PY'
import re, sys
ids = []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"\s*@\^?([A-Za-z0-9_.-]+)", line)
    if m and m.group(1) not in ids:
        ids.append(m.group(1))
print("\n".join(ids))
PY
}

# One configuration (a file, under one config id or none) through both
# programs; appends its row to $out. Needs the namespace $ns.
check_one() {
  local f=$1 id=$2 idarg=() krc k t blocked missing added
  [ -n "$id" ] && idarg=(-i "$id")
  # keepalived -t reads included files relative to its working directory.
  # Interfaces named through config variables ($IF) only keepalived can
  # resolve: the names it reports missing are added, and it runs again.
  for round in 1 2 3 4; do
    krc=0
    (cd "$(dirname "$f")" && timeout 20 ip netns exec "$ns" keepalived -t -f "$f" "${idarg[@]}" \
        -p "$work/k.pid" -r "$work/v.pid" -c "$work/c.pid") >"$work/k.out" 2>&1 || krc=$?
    missing=$(sed -n "s/.*interface \([^ ]*\) .*doesn't exist.*/\1/p" "$work/k.out" | sort -u)
    [ -n "$missing" ] && [ "$round" -lt 4 ] || break
    added=0
    for ifname in $missing; do
      for n in "$ns" "${file_nss[@]}"; do
        ip -n "$n" link add "$ifname" type bridge 2>/dev/null && ip -n "$n" link set "$ifname" up && added=1
      done
    done
    [ "$added" = 1 ] || break
  done
  # keepalived -t exits 0 when it found nothing to say, 5 when it reported
  # problems it runs despite (warnings, ignored lines), 6 when it would run
  # with its scripts disabled (script security); 4 (a missing file or
  # interface, a fatal error) or a crash is a refusal.
  case "$krc" in
    0) k=accepted ;;
    5 | 6) k=accepted-with-warnings ;;
    *) k=refused ;;
  esac
  grep -q "Non-existent interface" "$work/k.out" && k=refused
  # An executable file (a shell script among the configs) keepalived does
  # not read at all: it then runs an empty configuration.
  grep -q "is not a regular non-executable file" "$work/k.out" && k=refused
  # Two instances on one VRID where keepalived cannot tell them apart: its
  # VRRP process fails to start (vrrp_complete_init returns false), though
  # -t only reports it and exits 5.
  grep -q "both use VRID" "$work/k.out" && k=refused
  t=refused; blocked=
  if (cd "$(dirname "$f")" && timeout 20 ip netns exec "$ns" "$TANDEM" check-config -f "$f" "${idarg[@]}") \
      >"$work/t.out" 2>&1; then
    t=accepted
  else
    blocked=$(blockers "$work/t.out")
  fi
  if [ -n "$logs" ]; then
    cp "$work/k.out" "$logs/$(basename "$f")@${id:--}.keepalived"
    cp "$work/t.out" "$logs/$(basename "$f")@${id:--}.tandem"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$f")" "${id:--}" "$k" "$t" "$blocked" \
    "$(skipped "$work/k.out" "$work/t.out")" >> "$out"
}

# The namespaces a file names with `net_namespace NAME` (most of
# keepalived's own test files: `@low net_namespace low`). keepalived -t
# moves into that namespace before it reads the rest, and when it is
# missing it exits 0 having checked nothing, so each is made for the
# file's run (with the same links) and removed after it.
namespaces() {
  /usr/bin/python3 - "$1" <<'PY'
import re, sys
text = re.sub(r"[#!].*", "", open(sys.argv[1], errors="replace").read())
names = sorted(set(re.findall(r"\bnet_namespace\s+([A-Za-z0-9_.-]{1,32})\b", text)))
print("\n".join(names))
PY
}

# A namespace with lo up and an (empty) bridge for each interface name the
# file uses.
make_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  while read -r ifname; do
    [ -n "$ifname" ] || continue
    ip -n "$1" link add "$ifname" type bridge 2>/dev/null && ip -n "$1" link set "$ifname" up 2>/dev/null || true
  done < <(interfaces "$2")
}

for f in "$dir"/*; do
  [ -f "$f" ] || continue
  case "$f" in *.sh|*.txt|*.md|*/README*) continue ;; esac
  make_ns "$ns" "$f"
  file_nss=()
  while read -r n; do
    [ -n "$n" ] || continue
    if [ -e "/run/netns/$n" ]; then
      echo "real-configs: a namespace named $n exists already; $(basename "$f") is checked without its own" >&2
      continue
    fi
    make_ns "$n" "$f" && file_nss+=("$n")
  done < <(namespaces "$f")
  ids=$(config_ids "$f")
  if [ -z "$ids" ]; then
    check_one "$f" ""
  else
    for id in $ids; do check_one "$f" "$id"; done
  fi
  ip netns del "$ns"
  for n in "${file_nss[@]}"; do ip netns del "$n"; done
done

/usr/bin/python3 - "$out" "${min_percent:-}" <<'PY'
import collections, sys
# A row is one configuration: a file under one config id ("-" for none).
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
def runs(r): return r[2].startswith("accepted")
k_ok = [r for r in rows if runs(r)]
k_clean = [r for r in rows if r[2] == "accepted"]
both = [r for r in k_ok if r[3] == "accepted"]
clean_both = [r for r in k_clean if r[3] == "accepted"]
only_t = [r for r in rows if not runs(r) and r[3] == "accepted"]
pct = 100.0 * len(both) / len(k_ok) if k_ok else 0.0
# By file: keepalived runs a file when it runs it under every id the file
# names (both balancers of a pair); tandem runs it when it does the same.
files = collections.defaultdict(list)
for r in rows:
    files[r[0]].append(r)
f_ok = [v for v in files.values() if all(runs(r) for r in v)]
f_clean = [v for v in f_ok if all(r[2] == "accepted" for r in v)]
f_both = [v for v in f_ok if all(r[3] == "accepted" for r in v)]
f_clean_both = [v for v in f_clean if all(r[3] == "accepted" for r in v)]
with_ids = sum(1 for v in files.values() if v[0][1] != "-")
print(f"files: {len(files)} ({with_ids} with @ID lines, checked once per id); "
      f"configurations: {len(rows)}")
print(f"configurations: keepalived 2.2.7 runs {len(k_ok)} "
      f"({len(k_clean)} without a word); tandem runs {len(both)} of those ({pct:.0f} %), "
      f"{len(clean_both)} of the {len(k_clean)} without a word; "
      f"tandem accepts {len(only_t)} that keepalived refuses")
fpct = 100.0 * len(f_both) / len(f_ok) if f_ok else 0.0
print(f"files (every id): keepalived runs {len(f_ok)} ({len(f_clean)} without a word); "
      f"tandem runs {len(f_both)} of those ({fpct:.0f} %), "
      f"{len(f_clean_both)} of the {len(f_clean)} without a word")
# A file keepalived runs only after dropping one of its lines (an unknown
# keyword, a value it reports invalid and skips) is one tandem refuses by
# design, naming the line; the share that matters most is of the files
# keepalived runs with every line in effect.
import re
dropped = re.compile(r"Unknown keyword|Unknown configuration entry|unknown route keyword|"
                     r"Unexpected|ignoring|skipping|invalid|not valid|outside range|"
                     r"Config files missing|said by tandem|missing '}'s")
def whole(r): return not any(dropped.search(x) for x in r[5].split(";") if x) if len(r) > 5 else True
f_whole = [v for v in f_ok if all(whole(r) for r in v)]
f_whole_both = [v for v in f_whole if all(r[3] == "accepted" for r in v)]
wpct = 100.0 * len(f_whole_both) / len(f_whole) if f_whole else 0.0
print(f"files keepalived runs without dropping a line: {len(f_whole)}; "
      f"tandem runs {len(f_whole_both)} of those ({wpct:.0f} %)")
count = collections.Counter()
sole = collections.Counter()
for v in f_ok:
    reasons = []
    for r in v:
        if r[3] == "accepted":
            continue
        reasons += [x for x in r[4].split(";") if x and x not in reasons]
    for x in reasons:
        count[x] += 1
    if len(reasons) == 1:
        sole[reasons[0]] += 1
print("what blocks tandem on the files keepalived runs (files; files where it is the only blocker):")
for what, n in count.most_common(60):
    print(f"  {n:4d} {sole[what]:4d}  {what}")
print(f"per-configuration results: {sys.argv[1]}")
if sys.argv[2] and fpct < float(sys.argv[2]):
    print(f"real-configs: tandem runs {fpct:.0f} % of the files (under every id), below the floor of {sys.argv[2]} %")
    sys.exit(1)
PY
