#!/usr/bin/env bash
# Benchmarks hsmtls serve against nginx (stream + OpenSSL pkcs11 engine) and a SunJSSE + SunPKCS11
# proxy, all three with their keys on one SoftHSM2 token, driven by one load generator
# (`hsmtls bench load`, a JSSE client), and prints min / median / max per figure per server.
#
#   scripts/bench.sh [--quick] [--repeats N] [--servers hsmtls,sunjsse,nginx] [--scenarios a,b,…]
#                    [--dir DIR] [--idle "1000 10000"]
#
#   --quick     smoke run (about 2 minutes): short runs, one repeat, 500 idle connections
#   (default)   full run: 3 repeats, 10 s per run after a 3,000-handshake warm-up, idle at 1,000
#               and 10,000 connections (fewer if the open-files limit cannot hold them)
#   --dir DIR   scratch directory (token, configs, logs, results.tsv); default target/bench-run
#
# Scenarios: hs13-ec hs13-ec-rt hs12-ecdhe-rsa hs12-rsa-kx resume12 latency13-ec bulk13 hs13-ec-echo slow-token
# echo-floor idle. Runs are interleaved (A B C A B C …).
# hs13-ec-rt is hs13-ec with 64 bytes sent and echoed back through each server's backend after
# every handshake: in hs13-ec the client closes at once, and hsmtls then opens no backend connection.
# hs13-ec-echo and slow-token are one pair under identical load (TLS 1.3 full handshakes from
# 64 workers, SLOW_CONC to change, while 16 established connections echo 64 bytes 50 times a
# second each): hs13-ec-echo on the plain SoftHSM key, slow-token on the same key through the
# slow-pkcs11 test double (src/test/c, built here with cc), which adds SLOW_DELAY_MS (default 5) to
# every sign and decrypt like a network HSM. The table shows slow-token's throughput as a ratio of
# hs13-ec-echo's (ratio_hs_per_s) and both runs' echo latency (echo_p50_ms, echo_p99_ms).
# echo-floor is the machine's share of that echo latency: the same handshake load goes to another
# server of the run while a server's own echo connections are measured (it needs two servers). Per-CPU figures divide by the server's own CPU time read from
# /proc (whole process tree), so they stay meaningful on a shared machine. Everything listens on
# 127.0.0.1 and everything started here is stopped on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

has() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac; }
usage() { sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 2; }

quick=0
repeats=""
servers="hsmtls,sunjsse,nginx"
scenarios="hs13-ec,hs13-ec-rt,hs12-ecdhe-rsa,hs12-rsa-kx,resume12,latency13-ec,bulk13,hs13-ec-echo,slow-token,echo-floor,idle"
dir="$top/target/bench-run"
idle_counts=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --repeats) repeats=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --scenarios) scenarios=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --idle) idle_counts=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "bench: unknown argument '$1'" >&2; usage ;;
  esac
done

if [ "$quick" = 1 ]; then
  : "${repeats:=1}"; dur=1s; warmup=150; warmup_later=150; warmup_dur=10s; conc=8
  bulk_mb=8; bulk_conc=4; bulk_count=32; rate=100; idle_default="500"; hold=1s; token_dur=1s; speed_s=1
  slow_conc=32; echo_conns=8; echo_rate=50
else
  : "${repeats:=3}"; dur=10s; warmup=3000; warmup_later=1000; warmup_dur=60s; conc=16
  bulk_mb=64; bulk_conc=4; bulk_count=400; rate=200; idle_default="1000 10000"; hold=5s; token_dur=5s; speed_s=3
  # Closed loop: a 5 ms sign adds 5 ms to each handshake, so the load needs more handshakes in
  # flight than the token's 16 sessions for the token's latency to overlap with other work.
  slow_conc=${SLOW_CONC:-64}; echo_conns=16; echo_rate=50
fi
: "${idle_counts:=$idle_default}"
case "$repeats" in ''|*[!0-9]*) echo "bench: --repeats '$repeats' is not a number" >&2; exit 2 ;; esac
[ "$repeats" -ge 1 ] && [ "$repeats" -le 20 ] || { echo "bench: --repeats must be 1..20" >&2; exit 2; }

hsmtls_apt_install softhsm2 opensc openssl nginx libnginx-mod-stream libengine-pkcs11-openssl
hsmtls_find_jdk
JAVA="$JAVA_HOME/bin/java"
module=$(hsmtls_softhsm_module)
engine=""
for e in /usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so /usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so \
         /usr/lib/x86_64-linux-gnu/engines-1.1/pkcs11.so; do
  [ -f "$e" ] && { engine=$e; break; }
done

slow_delay=${SLOW_DELAY_MS:-5}
case "$slow_delay" in ''|*[!0-9]*) echo "bench: SLOW_DELAY_MS '$slow_delay' is not a whole number of ms" >&2; exit 2 ;; esac

# Open files: each proxied connection holds two descriptors in the server (client + backend).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
max_idle=$(( (nofile - 300) / 2 ))

jar="$top/target/hsmtls.jar"
if [ ! -f "$jar" ] || [ ! -d "$top/target/test-classes/io/hsmtls/bench" ] \
   || [ -n "$(find "$top/src" -newer "$jar" -name '*.java' -print -quit)" ]; then
  echo "bench: building $jar and the test classes (SunJSSE baseline)…" >&2
  (cd "$top" && mvn -B -q -o package -DskipTests 2>/dev/null || mvn -B -q package -DskipTests) >&2
fi

rm -rf "$dir"
mkdir -p "$dir/logs"
dir=$(cd "$dir" && pwd)
results="$dir/results.tsv"
: > "$results"
export PKCS11_TEMP_DIR="$dir/native"
mkdir -p "$PKCS11_TEMP_DIR"
JOPTS=(--enable-native-access=ALL-UNNAMED)

# The slow-token test double: forwards to SoftHSM, adds $slow_delay ms to each private-key call.
# The real module and the delay are compiled in (nginx clears its workers' environment) and also
# exported, for any process that reads them.
shim=""
if has "$scenarios" slow-token; then
  if ! command -v cc >/dev/null || [ ! -f /usr/include/p11-kit-1/p11-kit/pkcs11.h ]; then
    hsmtls_apt_install gcc libc6-dev libp11-kit-dev
  fi
  shim="$dir/slow/libslow-pkcs11.so"
  mkdir -p "$dir/slow"
  cc -O2 -Wall -shared -fPIC -I/usr/include/p11-kit-1 "-DSLOW_PKCS11_DEFAULT_MODULE=\"$module\"" \
      "-DSLOW_PKCS11_DEFAULT_DELAY_MS=\"$slow_delay\"" -o "$shim" "$top/src/test/c/slow-pkcs11.c" -ldl -lpthread
  export SLOW_PKCS11_MODULE="$module" SLOW_PKCS11_DELAY_MS="$slow_delay"
  echo "bench: slow token double $shim (+$slow_delay ms per sign/decrypt, forwarding to $module)" >&2
fi

# ---- cleanup: stop exactly what this script started ------------------------------------------
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (bounded) for a line matching REGEX in FILE from process PID; prints the line.
wait_line() {
  local file=$1 regex=$2 pid=$3 what=$4 i
  for i in $(seq 1 600); do
    if grep -qE "$regex" "$file" 2>/dev/null; then grep -E "$regex" "$file" | head -1; return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "bench: $what exited; its log ($file):" >&2; tail -20 "$file" >&2; return 1; }
    sleep 0.1
  done
  echo "bench: $what did not say it was listening within 60 s; its log ($file):" >&2; tail -20 "$file" >&2
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  local port=$1 pid=$2 what=$3 i
  for i in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { echo "bench: $what exited" >&2; return 1; }
    sleep 0.1
  done
  echo "bench: $what is not listening on 127.0.0.1:$port after 30 s" >&2; return 1
}
bench() { "$JAVA" "${JOPTS[@]}" -Xmx2g -cp "$jar" io.hsmtls.cli.BenchCommand "$@"; }
hsmtls() { "$JAVA" "${JOPTS[@]}" -jar "$jar" "$@"; }

# ---- the token: EC P-256 and RSA-2048 keys with self-signed certificates on it ---------------
echo "bench: token in $dir/hsm" >&2
token_uri=$("$here/setup-softhsm.sh" "$dir/hsm" --label bench | tail -1)
export SOFTHSM2_CONF="$dir/hsm/softhsm2.conf"
pin_file="$dir/hsm/user.pin"
q="?module-path=$module&pin-source=file:$pin_file"
ec_uri="pkcs11:token=bench;object=ec$q"
rsa_uri="pkcs11:token=bench;object=rsa$q"
# The same EC key through the slow double: 16 sessions, as serve takes from SoftHSM's unlimited count.
ec_slow_uri="pkcs11:token=bench;object=ec?module-path=$shim&pin-source=file:$pin_file"
hsmtls key generate --key "$ec_uri" --type ec-p256 --id 01 >/dev/null
hsmtls key generate --key "$rsa_uri" --type rsa-2048 --id 02 >/dev/null
hsmtls cert self-sign --key "$ec_uri" --subject CN=localhost --san dns:localhost --san ip:127.0.0.1 --days 30 > "$dir/ec.pem"
hsmtls cert self-sign --key "$rsa_uri" --subject CN=localhost --san dns:localhost --san ip:127.0.0.1 --days 30 > "$dir/rsa.pem"
trust="$dir/ec.pem,$dir/rsa.pem"
echo "bench: $token_uri holds ec (P-256) and rsa (2048)" >&2

# ---- backend and servers -----------------------------------------------------------------
# Started without the bench() function: a backgrounded function is a subshell, and $! would be
# the subshell rather than the JVM that must be stopped.
"$JAVA" "${JOPTS[@]}" -cp "$jar" io.hsmtls.cli.BenchCommand backend --listen 127.0.0.1:0 \
    > "$dir/logs/backend.log" 2>&1 &
pids+=($!)
backend=$(wait_line "$dir/logs/backend.log" '^listening ' $! backend | sed 's/^listening //')

declare -A addr pid
start_hsmtls() { # key-name profile
  local log="$dir/logs/hsmtls-$1.log" uri
  case "$1" in ec) uri=$ec_uri ;; ec-slow) uri=$ec_slow_uri ;; *) uri=$rsa_uri ;; esac
  # Through the launcher, as users run it: the JVM options of scripts/jvm-options, then
  # HSMTLS_JAVA_OPTS and HSMTLS_BENCH_JAVA_OPTS (later wins). The launcher execs java, so $! is the JVM.
  HSMTLS_JAVA_OPTS="${HSMTLS_JAVA_OPTS:-} ${HSMTLS_BENCH_JAVA_OPTS:-}" "$here/hsmtls" serve --listen 127.0.0.1:0 --backend "$backend" \
      --key "$uri" --profile "$2" --max-connections 30000 --idle-timeout 900 > "$log" 2>&1 &
  pids+=($!); pid[hsmtls-$1]=$!
  addr[hsmtls-$1]=$(wait_line "$log" 'listening' $! "hsmtls serve ($1)" | sed -n 's/.*listening on \([0-9.]*:[0-9]*\).*/\1/p')
}
start_sunjsse() { # key-name [instance-name library]
  local name=${2:-$1} lib=${3:-$module}
  local log="$dir/logs/sunjsse-$name.log"
  "$JAVA" ${HSMTLS_BENCH_JAVA_OPTS:-} -cp "$top/target/test-classes" io.hsmtls.bench.SunJsseBaselineServer \
      --listen 127.0.0.1:0 --backend "$backend" --library "$lib" --slot-index 0 --pin-file "$pin_file" \
      --alias "$1" > "$log" 2>&1 &
  pids+=($!); pid[sunjsse-$name]=$!
  addr[sunjsse-$name]=$(wait_line "$log" '^listening ' $! "SunJSSE baseline ($name)" | sed 's/^listening //')
}
start_nginx() { # [instance-suffix module]: e.g. "-slow" "$shim" for nginx-ec-slow
  local sfx=${1:-} mod=${2:-$module}
  local n="$dir/nginx$sfx" ec_port rsa_port
  mkdir -p "$n"
  if [ -z "$engine" ]; then echo "bench: no OpenSSL pkcs11 engine found; skipping nginx" >&2; return 1; fi
  # libp11 reads a pin-source file whole, newline included.
  (umask 077; tr -d '\n' < "$pin_file" > "$n/pin")
  sed -e "s|@ENGINE@|$engine|; s|@MODULE@|$mod|" "$top/hsm-config/bench-openssl.cnf.template" > "$n/openssl.cnf"
  ec_port=$(free_port); rsa_port=$(free_port)
  local kq="?pin-source=file:$n/pin"
  sed -e "s|@WORKERS@|auto|; s|@NOFILE@|$nofile|g; s|@DIR@|$n|g; s|@BACKEND@|$backend|" \
      -e "s|@EC_PORT@|$ec_port|; s|@RSA_PORT@|$rsa_port|; s|@EC_CERT@|$dir/ec.pem|; s|@RSA_CERT@|$dir/rsa.pem|" \
      -e "s|@EC_KEY@|pkcs11:token=bench;object=ec;type=private$kq|; s|@RSA_KEY@|pkcs11:token=bench;object=rsa;type=private$kq|" \
      "$top/hsm-config/bench-nginx.conf.template" > "$n/nginx.conf"
  OPENSSL_CONF="$n/openssl.cnf" nginx -c "$n/nginx.conf" -p "$n" -e "$n/nginx-error.log" > "$dir/logs/nginx$sfx.log" 2>&1 &
  pids+=($!); pid[nginx-ec$sfx]=$!; pid[nginx-rsa$sfx]=$!
  wait_port "$ec_port" $! "nginx$sfx" && wait_port "$rsa_port" $! "nginx$sfx"
  addr[nginx-ec$sfx]=127.0.0.1:$ec_port; addr[nginx-rsa$sfx]=127.0.0.1:$rsa_port
}

# Stops one process we started and waits (bounded) until it is gone.
stop_pid() {
  local p=$1
  kill -TERM "$p" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
# A fresh instance of a server's EC listener (nginx: the whole server), for the idle runs.
restart_ec() {
  case "$1" in
    hsmtls) stop_pid "${pid[hsmtls-ec]}"; start_hsmtls ec compat ;;
    sunjsse) stop_pid "${pid[sunjsse-ec]}"; start_sunjsse ec ;;
    nginx) stop_pid "${pid[nginx-ec]}"; start_nginx ;;
  esac
}

active=()
for s in ${servers//,/ }; do
  case "$s" in
    hsmtls) start_hsmtls ec compat && start_hsmtls rsa legacy-rsa && active+=(hsmtls) || echo "bench: hsmtls not started" >&2 ;;
    sunjsse) start_sunjsse ec && start_sunjsse rsa && active+=(sunjsse) || echo "bench: SunJSSE baseline not started" >&2 ;;
    nginx) start_nginx && active+=(nginx) || echo "bench: nginx not started" >&2 ;;
    *) echo "bench: unknown server '$s' (hsmtls, sunjsse, nginx)" >&2; exit 2 ;;
  esac
done
[ ${#active[@]} -gt 0 ] || { echo "bench: no server started" >&2; exit 1; }
# A second instance of each server with its EC key on the slow double, for slow-token.
if [ -n "$shim" ]; then
  for s in "${active[@]}"; do
    case "$s" in
      hsmtls) start_hsmtls ec-slow compat ;;
      sunjsse) start_sunjsse ec ec-slow "$shim" ;;
      nginx) start_nginx -slow "$shim" ;;
    esac || echo "bench: $s on the slow token not started; slow-token skipped for it" >&2
  done
fi
for k in "${!addr[@]}"; do echo "bench: $k on ${addr[$k]} (pid ${pid[$k]})" >&2; done

# ---- one run ---------------------------------------------------------------------------------
run() { # server scenario key warmup args…
  local server=$1 scenario=$2 key=$3 w=$4; shift 4
  local id="$server-$key"
  [ -n "${addr[$id]:-}" ] || { echo "bench: no $id instance; $scenario skipped on $server" >&2; return 0; }
  echo "bench: $scenario on $server" >&2
  # The exact command of every run, to repeat one by hand.
  echo "hsmtls bench load --connect ${addr[$id]} --server-pid ${pid[$id]} --trust $trust --label $server" \
      "--scenario $scenario --warmup $w --warmup-duration $warmup_dur $*" >> "$dir/logs/commands.log"
  bench load --connect "${addr[$id]}" --server-pid "${pid[$id]}" --trust "$trust" --label "$server" \
      --scenario "$scenario" --warmup "$w" --warmup-duration "$warmup_dur" "$@" \
      >> "$results" 2>> "$dir/logs/load.log" || echo "bench: $scenario on $server failed (see $dir/logs/load.log)" >&2
}

# Echo latency on a server while the hs13-ec-echo handshake load goes to another server: what the
# shared CPUs (load generator, echo clients, other processes) cost the echoes by themselves, so
# hs13-ec-echo's figure can be read as floor + the server's own queueing. One handshake worker
# keeps the measured server's connections new, as in hs13-ec-echo, without loading it.
echo_floor() { # server
  local s=$1 other="" o lp
  for o in "${active[@]}"; do
    [ "$o" != "$s" ] && [ -n "${addr[$o-ec]:-}" ] && { other=$o; break; }
  done
  [ -n "$other" ] || { echo "bench: echo-floor needs a second server to load; skipped for $s" >&2; return 0; }
  # java itself in the background (not the bench function, whose subshell would be what $! names),
  # so the kill below stops the load.
  "$JAVA" "${JOPTS[@]}" -Xmx2g -cp "$jar" io.hsmtls.cli.BenchCommand \
      load --connect "${addr[$other-ec]}" --trust "$trust" --label "$other" --scenario echo-floor-load \
      --warmup 0 --mode handshake --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 \
      --concurrency "$slow_conc" --duration 300s > /dev/null 2>> "$dir/logs/load.log" &
  lp=$!
  sleep 2
  echo "bench: (echo-floor: the handshake load goes to $other)" >&2
  run "$s" echo-floor ec 100 --mode handshake --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 \
      --concurrency 1 --duration "$dur" --echo-connections "$echo_conns" --echo-rate "$echo_rate"
  kill "$lp" 2>/dev/null || true
  wait "$lp" 2>/dev/null || true
}

scenario_args() { # scenario → key and load arguments
  case "$1" in
    hs13-ec) echo "ec --mode handshake --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 --concurrency $conc --duration $dur" ;;
    hs13-ec-rt) echo "ec --mode handshake --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 --concurrency $conc --duration $dur --round-trip-bytes 64" ;;
    hs12-ecdhe-rsa) echo "rsa --mode handshake --tls 1.2 --suite TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 --group x25519 --concurrency $conc --duration $dur" ;;
    hs12-rsa-kx) echo "rsa --mode handshake --tls 1.2 --suite TLS_RSA_WITH_AES_128_GCM_SHA256 --concurrency $conc --duration $dur" ;;
    resume12) echo "ec --mode resume --tls 1.2 --suite TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 --concurrency $conc --duration $dur" ;;
    latency13-ec) echo "ec --mode latency --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 --rate $rate --concurrency $conc --duration $dur" ;;
    hs13-ec-echo) echo "ec --mode handshake --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 --concurrency $slow_conc --duration $dur --echo-connections $echo_conns --echo-rate $echo_rate" ;;
    slow-token) echo "ec-slow --mode handshake --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 --concurrency $slow_conc --duration $dur --echo-connections $echo_conns --echo-rate $echo_rate" ;;
    bulk13) echo "ec --mode bulk --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 --bulk-mb $bulk_mb --concurrency $bulk_conc --count $bulk_count --duration $dur" ;;
    *) return 1 ;;
  esac
}

machine() {
  echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: per-CPU-second figures are the ones to compare)"
  echo "java: $("$JAVA" -version 2>&1 | head -1); nginx: $(nginx -v 2>&1 | sed 's/.*\///'); $(openssl version)"
}

t_start=$(date +%s)
for r in $(seq 1 "$repeats"); do
  echo "bench: repeat $r of $repeats" >&2
  w=$warmup; [ "$r" -gt 1 ] && w=$warmup_later
  # The machine's limits: AES-128-GCM on one core (openssl speed divides by user CPU time) and the token.
  kps=$(openssl speed -evp aes-128-gcm -bytes 16384 -seconds "$speed_s" 2>/dev/null | tail -1 | awk '{print $NF}' | tr -d k)
  [ -n "$kps" ] && printf 'BENCH\tserver=machine\tscenario=aes-128-gcm\tmb_per_cpu_s=%s\n' \
      "$(awk -v k="$kps" 'BEGIN{printf "%.1f", k*1000/1e6}')" >> "$results"
  bench token-rate --key "$ec_uri" --op ecdsa_secp256r1_sha256 --duration "$token_dur" --scenario token-ecdsa \
      >> "$results" 2>> "$dir/logs/load.log" || echo "bench: token rate (ecdsa) failed" >&2
  bench token-rate --key "$rsa_uri" --op rsa_pss_rsae_sha256 --duration "$token_dur" --scenario token-rsa-pss \
      >> "$results" 2>> "$dir/logs/load.log" || echo "bench: token rate (rsa-pss) failed" >&2
  bench token-rate --key "$rsa_uri" --op rsa-decrypt --duration "$token_dur" --scenario token-rsa-decrypt \
      >> "$results" 2>> "$dir/logs/load.log" || echo "bench: token rate (rsa-decrypt) failed" >&2
  for sc in ${scenarios//,/ }; do
    [ "$sc" = idle ] && continue
    if [ "$sc" = echo-floor ]; then
      for s in "${active[@]}"; do echo_floor "$s"; done
      continue
    fi
    a=$(scenario_args "$sc") || { echo "bench: unknown scenario '$sc'" >&2; exit 2; }
    for s in "${active[@]}"; do
      # shellcheck disable=SC2086
      run "$s" "$sc" "${a%% *}" "$w" ${a#* }
    done
  done
done
# Idle memory last, on freshly started servers: a server that has just moved gigabytes keeps a
# grown heap, and new connections then reuse pages it already has, so RSS would not move. Last,
# so the restarts do not leave cold servers for the handshake repeats.
if has "$scenarios" idle; then
  for r in $(seq 1 "$repeats"); do
    for n in $idle_counts; do
      [ "$n" -le "$max_idle" ] || { echo "bench: idle $n > $max_idle (open files $nofile, two per proxied connection); using $max_idle" >&2; n=$max_idle; }
      for s in "${active[@]}"; do
        restart_ec "$s"
        run "$s" "idle-$n" ec 100 --mode idle --tls 1.3 --suite TLS_AES_128_GCM_SHA256 --group x25519 \
            --connections "$n" --concurrency 32 --hold "$hold" --duration 120s --count "$n"
      done
    done
  done
fi
t_end=$(date +%s)

{
  echo
  echo "hsmtls bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $repeats repeat(s), $(( t_end - t_start )) s; servers: ${active[*]}"
  machine
  echo "load generator: hsmtls bench load (JSSE client, SSLEngine, virtual threads); same for every server"
  [ "$quick" = 1 ] && echo "--quick: servers warmed with only $warmup handshakes and runs of $dur: a smoke test, not figures to quote"
  echo
  [ -n "$shim" ] && echo "slow-token: the EC key through a test double adding $slow_delay ms per sign (16 sessions); ratio_hs_per_s = slow-token / hs13-ec-echo, same load: $slow_conc workers, $echo_conns echo connections at $echo_rate/s"
  bench table --share hs13-ec=token-ecdsa,hs13-ec-rt=token-ecdsa,hs12-ecdhe-rsa=token-rsa-pss,hs12-rsa-kx=token-rsa-decrypt \
      --ratio slow-token=hs13-ec-echo "$results"
  echo
  echo "BENCH lines: $results; logs and the command of every run: $dir/logs"
}
