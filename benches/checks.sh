#!/usr/bin/env bash
# benches/checks.sh: the cost of HTTP_GET health checks, tandem against
# keepalived, on the same keepalived.conf in the same run.
#
#   benches/checks.sh [--sizes "1000 10000"] [--seconds 15] [--rounds 5]
#                     [--host-only | --vm-only] [--no-build]
#                     [--tools "tandem keepalived"]
#
# The tools: `tandem` is the daemon as operators run it (`tandem run -f
# CONF`: its multi-thread runtime, the control socket, and in the VM the
# IPVS table programmed, since a configuration without vrrp_instance makes
# it a lone balancer); `keepalived` is `keepalived -C` (its checker daemon,
# which programs IPVS too); `tandem-once` (not run unless asked for with
# --tools) is `tandem check-once --for`, the checkers alone (as the daemon runs them);
# `tandem-alt` (only if asked for) is the daemon from $TANDEM_ALT_BIN, to
# compare two builds in the same run (in the VM: a path inside the
# repository, which the VM mounts at the same path).
#
# N real servers (N in --sizes) are HTTP_GET-checked with delay_loop 1
# (so N checks a second). They are one HTTP responder (`tandem http-sink`,
# which counts the requests it answers) listening on 40 ports of up to 500
# addresses from 198.51.100.0/24 and 203.0.113.0/24, all on the loopback
# interface of a network namespace the benchmark creates (and removes on
# exit). The checker under test runs in the same namespace.
#
# For each tool and size, once the responder sees checks arrive (start-up,
# which for keepalived includes programming IPVS, is not measured) and 4 s
# more (warmup spreads the first checks over delay_loop), it samples the checker's CPU time
# (utime+stime of all its processes, /proc/PID/stat) and the responder's
# request count, waits --seconds, samples again, and reads the peak resident
# set (VmHWM). Each round runs every tool once, back to back (so the tools
# alternate: ABAB...). It prints each round's CPU milliseconds per 1000
# checks (so the noise is visible), the median over --rounds of: checks
# served per second, CPU milliseconds per 1000 checks, peak RSS, and the
# ratio keepalived / tandem (of the medians, and the median of the
# per-round ratios).
#
# Where it runs:
#   1. on this machine, in a namespace: tandem only, at native speed.
#      keepalived's checker cannot run here: without IPVS in the kernel it
#      exits at start-up ("IPVS: Can't initialize ipvs", FATAL).
#   2. in the test VM (netns-lab/vm-run: Debian's kernel with IPVS, qemu
#      TCG): tandem and keepalived (2.2.7) on the same configuration,
#      alternating. Emulation slows everything, so read the VM's figures as
#      ratios between the two tools, not as absolute numbers.
set -euo pipefail

sizes="1000 10000"
seconds=15
rounds=5
where=both
build=1
inside=0
tools="tandem keepalived"
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --host-only) where=host; shift ;;
    --vm-only) where=vm; shift ;;
    --no-build) build=0; shift ;;
    --inside) inside=1; shift ;;
    --tools) tools=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "checks.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# ----------------------------------------------------------------- inside
# Runs where the checkers run (this machine or the VM): one namespace, the
# responder, then each tool in turn.
# Globals, so that the EXIT trap still sees them after measure() returns.
ns="tdm-bench-$$"
work=
pids=()
cleanup_inside() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  [ -z "$work" ] || rm -rf "$work"
}
measure() {
  local tandem=${TANDEM_BIN:-tandem}
  work=$(mktemp -d /tmp/tdm-bench.XXXXXX)
  trap cleanup_inside EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  {
    for i in $(seq 1 250); do echo "addr add 198.51.100.$i/32 dev lo"; done
    for i in $(seq 1 250); do echo "addr add 203.0.113.$i/32 dev lo"; done
  } >"$work/addrs"
  ip -n "$ns" -batch "$work/addrs"
  # Both builds of the daemon run from the same kind of filesystem, or
  # their resident sets are not comparable: in the test VM, `tandem` lies
  # in the initramfs (its mapped pages count as shared memory, all of
  # them resident) and TANDEM_ALT_BIN on the 9p share (file pages, fewer
  # resident), which once showed as a 2.7 MB "gap" with equal heaps.
  local alt=${TANDEM_ALT_BIN:-}
  if [ -n "$alt" ] && [ "$(stat -f -c %T "$tandem" 2>/dev/null)" != "$(stat -f -c %T "$alt" 2>/dev/null)" ]; then
    cp "$alt" "$(dirname "$(command -v "$tandem")")/tandem-alt"
    alt=$(dirname "$(command -v "$tandem")")/tandem-alt
  fi

  ip netns exec "$ns" "$tandem" http-sink --ports 8000-8039 --report 0.5 >"$work/sink.log" 2>&1 &
  local sink=$!
  pids+=("$sink")
  sleep 1

  requests() { tail -n 1 "$work/sink.log" | awk '$1 == "requests" { print $2 }'; }
  uptime_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
  # utime + stime (clock ticks) of the given pids
  cpu_ticks() {
    local t=0 p f
    for p in "$@"; do
      if [ -r "/proc/$p/stat" ]; then
        f=$(sed 's/^.*) //' "/proc/$p/stat")
        t=$((t + $(echo "$f" | awk '{ print $12 + $13 }')))
      fi
    done
    echo "$t"
  }
  # sum of a /proc/PID/status field (kB) over pids: VmHWM (peak), VmRSS (now)
  mem_kb() {
    local field=$1 t=0 p v
    shift
    for p in "$@"; do
      v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
      t=$((t + ${v:-0}))
    done
    echo "$t"
  }
  # utime only (user space), to split the CPU time into user and system
  user_ticks() {
    local t=0 p f
    for p in "$@"; do
      if [ -r "/proc/$p/stat" ]; then
        f=$(sed 's/^.*) //' "/proc/$p/stat")
        t=$((t + $(echo "$f" | awk '{ print $12 }')))
      fi
    done
    echo "$t"
  }
  local hz
  hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

  for n in $sizes; do
    local conf="$work/checks-$n.conf"
    {
      echo "global_defs {"
      echo "    router_id bench"
      echo "}"
      echo "virtual_server 192.0.2.10 80 {"
      echo "    delay_loop 1"
      echo "    lvs_sched rr"
      echo "    lvs_method NAT"
      echo "    protocol TCP"
      local k=0 net a port
      for net in 198.51.100 203.0.113; do
        for a in $(seq 1 250); do
          for port in $(seq 8000 8039); do
            [ "$k" -lt "$n" ] || break 3
            echo "    real_server $net.$a $port {"
            echo "        HTTP_GET {"
            echo "            url {"
            echo "                path /"
            echo "                status_code 200"
            echo "            }"
            echo "            connect_timeout 5"
            echo "        }"
            echo "    }"
            k=$((k + 1))
          done
        done
      done
      echo "}"
    } >"$conf"

    for round in $(seq 1 "$rounds"); do
      for tool in $tools; do
        local main procs=()
        case "$tool" in
          tandem)
            # The daemon as operators run it (multi-thread runtime; with no
            # vrrp_instance it is a lone balancer and programs IPVS).
            ip netns exec "$ns" "$tandem" run -f "$conf" \
              --control-socket "$work/tandem.sock" --dump-file "$work/tandem.dump" \
              >"$work/tandem.out" 2>&1 &
            main=$!
            pids+=("$main")
            ;;
          tandem-alt)
            # Another build of the daemon (TANDEM_ALT_BIN, e.g. under
            # target/, which the VM sees at the same path), for comparing
            # two versions in the same run.
            ip netns exec "$ns" "${alt:?tandem-alt needs TANDEM_ALT_BIN}" run -f "$conf" \
              --control-socket "$work/tandem-alt.sock" --dump-file "$work/tandem-alt.dump" \
              >"$work/tandem-alt.out" 2>&1 &
            main=$!
            pids+=("$main")
            ;;
          tandem-once)
            # The checkers alone (`check-once --for`: as in the daemon, no IPVS).
            ip netns exec "$ns" "$tandem" check-once -f "$conf" --for $((seconds + 600)) \
              >"$work/tandem-once.out" 2>&1 &
            main=$!
            pids+=("$main")
            ;;
          keepalived)
            ip netns exec "$ns" keepalived -n -l -C -f "$conf" \
              -p "$work/ka.pid" -c "$work/ka-check.pid" -r "$work/ka-vrrp.pid" \
              >"$work/keepalived.out" 2>&1 &
            main=$!
            pids+=("$main")
            ;;
        esac
        # Start-up (reading 10,000 real servers; keepalived also programs
        # IPVS) is not what is measured: wait until checks are being
        # served, then 4 s more so that the warmup spread is over.
        # "Being served" means the count grew in 3 consecutive seconds: a
        # stray late request of the previous tool must not end the wait
        # (that measured keepalived's start-up at 10,000 servers as 0
        # checks/s).
        local last now grew=0 waited=0
        last=$(requests)
        while [ "$grew" -lt 3 ] && [ "$waited" -lt 900 ]; do
          sleep 1
          waited=$((waited + 1))
          now=$(requests)
          if [ "$now" != "$last" ]; then grew=$((grew + 1)); else grew=0; fi
          last=$now
          if [ "$waited" = 120 ]; then
            # Say why a round stalls (start-up of 10,000 servers may take
            # this long under emulation; nothing else should).
            echo "checks.sh: $tool, $n servers, round $round: no steady checks after 120 s" >&2
            tail -n 5 "$work/$tool.out" >&2 2>/dev/null || true
            tail -n 2 "$work/sink.log" >&2
            kill -0 "$main" 2>/dev/null || echo "checks.sh: $tool is not running" >&2
            kill -0 "$sink" 2>/dev/null || echo "checks.sh: the responder is not running" >&2
          fi
        done
        sleep 4
        procs=("$main")
        if [ "$tool" = keepalived ]; then
          # keepalived's checks run in its "Healthcheck child" process.
          if [ -s "$work/ka-check.pid" ]; then procs+=("$(cat "$work/ka-check.pid")"); fi
          if [ ${#procs[@]} -lt 2 ] || ! kill -0 "${procs[1]}" 2>/dev/null; then
            echo "checks.sh: keepalived's checker is not running:" >&2
            tail -n 5 "$work/keepalived.out" >&2
          fi
        fi
        local c0 u0 r0 t0 c1 u1 r1 t1 hwm rss s0 s1 load
        load=$(cut -d' ' -f1 /proc/loadavg)
        s0=$(cpu_ticks "$sink")
        c0=$(cpu_ticks "${procs[@]}")
        u0=$(user_ticks "${procs[@]}")
        r0=$(requests)
        t0=$(uptime_cs)
        sleep "$seconds"
        c1=$(cpu_ticks "${procs[@]}")
        u1=$(user_ticks "${procs[@]}")
        r1=$(requests)
        t1=$(uptime_cs)
        s1=$(cpu_ticks "$sink")
        hwm=$(mem_kb VmHWM "${procs[@]}")
        rss=$(mem_kb VmRSS "${procs[@]}")
        # what the resident set is made of: the process's own memory (heap,
        # stacks) and pages of mapped files (the binary, shared libraries)
        anon=$(mem_kb RssAnon "${procs[@]}")
        file=$(mem_kb RssFile "${procs[@]}")
        # Stop, and wait until every process of the tool is gone (keepalived's
        # checker removes its IPVS services on exit), so that it does not
        # eat into the next measurement.
        kill -TERM "$main" 2>/dev/null || true
        local p gone
        for _ in $(seq 1 300); do
          gone=1
          for p in "${procs[@]}"; do kill -0 "$p" 2>/dev/null && gone=0; done
          [ "$gone" = 1 ] && break
          sleep 1
        done
        for p in "${procs[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        wait "$main" 2>/dev/null || true
        rm -f "$work"/ka*.pid
        awk -v tool="$tool" -v n="$n" -v round="$round" -v c="$((c1 - c0))" -v u="$((u1 - u0))" -v hz="$hz" \
          -v r="$((r1 - r0))" -v dt="$((t1 - t0))" -v hwm="$hwm" -v rss="$rss" \
          -v anon="$anon" -v file="$file" -v sc="$((s1 - s0))" -v load="$load" 'BEGIN {
            cpu_ms = c * 1000 / hz; secs = dt / 100
            per1000 = (r > 0) ? cpu_ms * 1000 / r : 0
            user1000 = (r > 0) ? u * 1000 / hz * 1000 / r : 0
            printf "RESULT %s %d %d checks_per_s=%.0f cpu_ms_per_1000=%.1f user_ms_per_1000=%.1f cpu_pct=%.1f rss_mb=%.1f rss_end_mb=%.1f anon_mb=%.1f file_mb=%.1f responder_cpu_pct=%.1f loadavg=%s\n",
              tool, n, round, r / secs, per1000, user1000, cpu_ms / 10 / secs, hwm / 1024, rss / 1024,
              anon / 1024, file / 1024,
              sc * 1000 / hz / 10 / secs, load
          }'
        sleep 1
      done
    done
  done
}

if [ "$inside" = 1 ]; then
  measure
  exit 0
fi

# ------------------------------------------------------------------ outside
repo=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$repo"
[ "$(id -u)" = 0 ] || { echo "checks.sh: needs root (network namespaces)" >&2; exit 2; }
if [ "$build" = 1 ]; then
  cargo build -q --release --bin tandem
fi
bin=${CARGO_TARGET_DIR:-$repo/target}/release/tandem
[ -x "$bin" ] || { echo "checks.sh: no $bin (build with cargo build --release)" >&2; exit 2; }

summarise() { # reads RESULT lines, prints per-round figures, medians and ratios
  awk '
    function median(s,   a, k, i, j, t) {
      k = split(s, a, " ")
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
    }
    $1 == "RESULT" {
      key = $2 SUBSEP $3; seen[key] = 1; ns[$3] = 1; tools[$2] = 1
      for (i = 5; i <= NF; i++) { split($i, kv, "="); v[key, kv[1]] = v[key, kv[1]] " " kv[2]; r[$2, $3, $4, kv[1]] = kv[2] }
      rounds[$3, $4] = 1; if ($4 > maxround) maxround = $4
      for (i = 5; i <= NF; i++) if ($i ~ /^loadavg=/) loads = loads " " substr($i, 9)
    }
    END {
      print "per round, CPU ms per 1000 checks (rounds alternate the tools):"
      for (n in ns) for (t in tools) if ((t, n) in seen) {
        line = ""
        for (k = 1; k <= maxround; k++) if ((t, n, k, "cpu_ms_per_1000") in r) line = line sprintf(" %7.1f", r[t, n, k, "cpu_ms_per_1000"])
        printf "  %-11s %6d:%s\n", t, n, line
      }
      printf "%-11s %7s %10s %18s %9s %7s %9s %9s %14s\n", "tool", "servers", "checks/s", "CPU ms/1000 checks", "(user)", "CPU %", "peak MB", "end MB", "responder CPU%"
      for (n in ns) for (t in tools) if ((t, n) in seen) {
        cs[t, n] = median(v[t, n, "checks_per_s"]); cpu[t, n] = median(v[t, n, "cpu_ms_per_1000"])
        pct[t, n] = median(v[t, n, "cpu_pct"]); rss[t, n] = median(v[t, n, "rss_mb"])
        printf "%-11s %7d %10.0f %18.1f %9.1f %7.1f %9.1f %9.1f %14.1f\n", t, n, cs[t, n], cpu[t, n], median(v[t, n, "user_ms_per_1000"]), pct[t, n], rss[t, n],
          median(v[t, n, "rss_end_mb"]), median(v[t, n, "responder_cpu_pct"])
      }
      printf "(medians of the rounds; machine load average during the runs: %s)\n", loads
      for (n in ns) for (t in tools) if (t != "keepalived" && (t, n) in seen && ("keepalived", n) in seen && cpu[t, n] > 0 && rss[t, n] > 0) {
        # The ratio of the two medians, and the median of the ratios of the
        # rounds (each round measures both tools back to back).
        pr = ""
        for (k = 1; k <= maxround; k++)
          if ((t, n, k, "cpu_ms_per_1000") in r && ("keepalived", n, k, "cpu_ms_per_1000") in r && r[t, n, k, "cpu_ms_per_1000"] > 0)
            pr = pr " " r["keepalived", n, k, "cpu_ms_per_1000"] / r[t, n, k, "cpu_ms_per_1000"]
        printf "ratio keepalived/%s at %d real servers: CPU per check %.2fx (median of per-round ratios %.2fx), peak RSS %.2fx\n",
          t, n, cpu["keepalived", n] / cpu[t, n], median(pr), rss["keepalived", n] / rss[t, n]
      }
    }'
}

if [ "$where" != vm ]; then
  echo "== this machine (native), tandem only: keepalived's checker exits here without IPVS"
  host_tools=$(tr ' ' '\n' <<<"$tools" | grep -v '^keepalived$' | tr '\n' ' ' || true)
  TANDEM_BIN=$bin "$0" --inside --tools "${host_tools:-tandem}" --sizes "$sizes" --seconds "$seconds" --rounds "$rounds" \
    | tee -a /dev/stderr | summarise
fi
if [ "$where" != host ]; then
  echo "== test VM (qemu TCG, Debian kernel with IPVS): tandem and keepalived, same configuration"
  budget=$(( (seconds + 120) * rounds * $(wc -w <<<"$tools") * $(wc -w <<<"$sizes") + 600 ))
  netns-lab/vm-run --release --no-build --timeout "$budget" -- \
    env ${TANDEM_ALT_BIN:+TANDEM_ALT_BIN=$TANDEM_ALT_BIN} bash benches/checks.sh --inside --tools "$tools" --sizes "$sizes" --seconds "$seconds" --rounds "$rounds" \
    | tee -a /dev/stderr | summarise
fi
