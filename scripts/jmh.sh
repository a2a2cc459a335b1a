#!/usr/bin/env bash
# Runs the JMH micro-benchmarks of the hot parts (src/test/java/io/hsmtls/jmh) and prints JMH's table.
#
#   scripts/jmh.sh [--quick] [JMH args…]
#
#   --quick     smoke run (about 1–2 minutes): one fork, 1 × 1 s warm-up, 2 × 1 s measured per
#               benchmark; figures not to quote (-f/-wi/-w/-i/-r given as JMH args win)
#   (default)   the benchmarks' own settings: 2 forks, 6–8 s warm-up (handshakes: 2,000 first),
#               5 × 2 s measured (9–11 minutes on 2 cores)
#   JMH args    passed on, e.g. a benchmark regex ('RecordBenchmark', 'Handshake.*tls13'),
#               '-p crypto=fast', '-prof gc', '-h' for JMH's own help
#
# Benchmarks: TokenSignBenchmark (ECDSA P-256 and RSA-2048 PSS through the token lane on a real
# SoftHSM token, 1 and 8 callers), RecordBenchmark (TLS 1.3 AES-128-GCM records, 16 KiB and
# 256 B, encrypt and decrypt, records/s and MB/s), HandshakeBenchmark (TLS 1.3 x25519 + ECDSA
# P-256 full and TLS 1.2 resumed, in memory, server crypto fast vs jdk). Builds the jar and test
# classes when sources changed, makes a SoftHSM token with an EC and an RSA key in target/jmh-run,
# and keeps JMH's full log and JSON results there. Every benchmark also gets a ':cpu' row from
# io.hsmtls.jmh.CpuProfiler: the fork's own CPU time per operation, the figure to compare on a
# shared machine (wall-clock rates fall when others run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

usage() { sed -n '2,21s/^# \{0,1\}//p' "$0"; exit 2; }

quick=0
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --help) usage ;;
    *) args+=("$1"); shift ;;
  esac
done

hsmtls_find_jdk
JAVA="$JAVA_HOME/bin/java"
module=$(hsmtls_softhsm_module)
dir="$top/target/jmh-run"

# ---- build: the jar (for `key generate`) and the test classes with JMH's generated benchmark list --
jar="$top/target/hsmtls.jar"
list="$top/target/test-classes/META-INF/BenchmarkList"
if [ ! -f "$jar" ] || [ ! -f "$list" ] \
   || [ -n "$(find "$top/src" "$top/pom.xml" -newer "$jar" -type f -print -quit)" ] \
   || [ -n "$(find "$top/src/test" -newer "$list" -type f -print -quit)" ]; then
  echo "jmh: building $jar and the test classes…" >&2
  (cd "$top" && { mvn -B -q -Dstyle.color=never -o package -DskipTests 2>/dev/null || mvn -B -q -Dstyle.color=never package -DskipTests; }) >&2
fi
cpfile="$top/target/jmh-classpath.txt"
if [ ! -s "$cpfile" ] || [ "$top/pom.xml" -nt "$cpfile" ]; then
  (cd "$top" && { mvn -B -q -Dstyle.color=never -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cpfile" 2>/dev/null \
      || mvn -B -q -Dstyle.color=never dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cpfile"; }) >&2
fi
cp="$top/target/test-classes:$top/target/classes:$(cat "$cpfile")"

# ---- the token: EC P-256 and RSA-2048 keys for TokenSignBenchmark ---------------------------------
rm -rf "$dir"
mkdir -p "$dir"
export PKCS11_TEMP_DIR="$dir/native"
mkdir -p "$PKCS11_TEMP_DIR"
"$here/setup-softhsm.sh" "$dir/hsm" --label jmh >/dev/null
export SOFTHSM2_CONF="$dir/hsm/softhsm2.conf"
q="?module-path=$module&pin-source=file:$dir/hsm/user.pin"
ec_uri="pkcs11:token=jmh;object=ec$q"
rsa_uri="pkcs11:token=jmh;object=rsa$q"
hsmtls() { "$JAVA" --enable-native-access=ALL-UNNAMED -jar "$jar" "$@"; }
hsmtls key generate --key "$ec_uri" --type ec-p256 --id 01 >/dev/null
hsmtls key generate --key "$rsa_uri" --type rsa-2048 --id 02 >/dev/null

# ---- run -------------------------------------------------------------------------------------------
# --quick's settings, each unless the JMH arguments set it themselves (JMH refuses an option twice).
opts=()
given() { local a; for a in "${args[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }
if [ "$quick" = 1 ]; then
  for pair in "-f 1" "-wi 1" "-w 1s" "-i 2" "-r 1s"; do
    given "${pair% *}" || opts+=(${pair})
  done
fi
log="$dir/jmh.log"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s)
# The forks get the host JVM's -D options (JMH's default jvmArgs) plus each benchmark's @Fork
# jvmArgsAppend; SOFTHSM2_CONF and PKCS11_TEMP_DIR reach them through the environment.
set +e
"$JAVA" --enable-native-access=ALL-UNNAMED -Xmx512m \
    -Dhsmtls.jmh.ecKey="$ec_uri" -Dhsmtls.jmh.rsaKey="$rsa_uri" \
    -cp "$cp" org.openjdk.jmh.Main "${opts[@]}" -prof io.hsmtls.jmh.CpuProfiler -rf json -rff "$dir/jmh-result.json" "${args[@]}" 2>&1 \
  | tee "$log" | grep --line-buffered -E '^# (Benchmark|Parameters|Run progress):|^(Result|Secondary result) |^  [0-9]|ERROR|Exception' >&2
status=${PIPESTATUS[0]}
set -e
t_end=$(date +%s)
[ "$status" = 0 ] || { echo "jmh: JMH exited with $status; full log: $log" >&2; exit "$status"; }
grep -q '^Benchmark ' "$log" || { cat "$log"; exit 0; }   # e.g. -l or -h: JMH's own output

echo
echo "hsmtls jmh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(( t_end - t_start )) s$([ "$quick" = 1 ] && echo ', --quick: a smoke run, not figures to quote')"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(uname -r)"
echo "load average: $load_start at start, $(cut -d' ' -f1-3 /proc/loadavg) at end (shared machine: compare rows of one run)"
echo "java: $("$JAVA" -version 2>&1 | head -1); SoftHSM $(softhsm2-util --version 2>/dev/null || echo '?')"
echo "rows ':mb' are MB/s of plaintext (JMH labels every rate ops/s); handshakes are µs per handshake, both sides;"
echo "rows ':cpu' are per CPU-second of the benchmark JVM (ops/cpu-s, ':cpu.mb' MB/cpu-s) or CPU µs per handshake"
echo
# JMH's table, with the MB/s rows' unit named.
sed -n '/^Benchmark /,$p' "$log" | grep -v '^Benchmark result is saved' | sed -E '/:mb /s/ ops\/s$/  MB\/s/'
echo
echo "full log: $log; JSON: $dir/jmh-result.json"
