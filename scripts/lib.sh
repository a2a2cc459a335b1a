# Shared helpers for hsmtls scripts. Source it; do not run it.

# Finds a JDK 21+ (JAVA_HOME, then the project's reference JDK, then any under /usr/lib/jvm), exports
# JAVA_HOME and puts its bin first on PATH; stops with a message when there is none.
hsmtls_find_jdk() {
  local candidates=() c v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64)
  for c in /usr/lib/jvm/*; do candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    if [ -n "$v" ] && [ "${v%%.*}" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$c"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "hsmtls: no JDK 21 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm/*): install one, e.g. 'apt-get install openjdk-21-jdk', or set JAVA_HOME" >&2
  exit 1
}

# Installs Debian packages that are missing (needs root or sudo).
hsmtls_apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The SoftHSM2 module path on this machine.
hsmtls_softhsm_module() {
  local p
  for p in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    [ -f "$p" ] && { echo "$p"; return 0; }
  done
  echo "hsmtls: libsofthsm2.so not found: apt-get install softhsm2" >&2
  return 1
}
