#!/usr/bin/env bash
# Runs docker/Dockerfile's steps without Docker (Docker is not available on the build machine):
# each stage gets a directory standing for its file system root; WORKDIR, COPY (also --from a
# stage), ENV and the build stage's RUN steps are carried out for real; RUN steps of the runtime
# stage (apt-get, useradd) need the image's root and are listed, not run; finally the image's
# ENTRYPOINT runs `--version` and `serve --print-profile` against the copied jar.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
hsmtls_find_jdk
command -v mvn >/dev/null || hsmtls_apt_install maven
top=$(cd "$here/.." && pwd)
dockerfile=${1:-$top/docker/Dockerfile}
work=$(mktemp -d "${TMPDIR:-/tmp}/hsmtls-docker-steps.XXXXXX")
trap 'rm -rf "$work"' EXIT

stage="" root="" wd="/" entry=""
declare -A stages=()
# Join continuation lines, drop comments and blank lines.
mapfile -t lines < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -vE '^\s*(#|$)')
for line in "${lines[@]}"; do
  instr=${line%% *}; args=${line#* }
  case "$instr" in
    FROM)
      stage=$(echo "$args" | sed -n 's/.* [Aa][Ss] \([A-Za-z0-9_-]*\)$/\1/p'); stage=${stage:-final}
      root="$work/$stage"; mkdir -p "$root"; stages[$stage]=$root; wd=/
      echo "== stage $stage (FROM ${args%% *})" ;;
    WORKDIR) wd=$args; mkdir -p "$root$wd"; echo "WORKDIR $wd" ;;
    ENV) echo "ENV $args"; export "${args%%=*}=$(eval echo "${args#*=}" | sed "s|^/|$root/|")" ;;
    COPY)
      from="$top"; prefix=""
      if [[ $args == --from=* ]]; then from=${stages[$(echo "${args%% *}" | cut -d= -f2)]}; args=${args#* }; fi
      src=${args% *}; dst=${args##* }
      [[ $dst == /* ]] || dst="$wd/$dst"
      echo "COPY $src -> $dst"
      s="$from/${src#/}"
      if [ -d "$s" ]; then mkdir -p "$root$dst"; cp -r "$s/." "$root$dst/"
      elif [[ $dst == */ || $dst == */. ]]; then mkdir -p "$root$dst"; cp "$s" "$root$dst/"
      else mkdir -p "$(dirname "$root$dst")"; cp "$s" "$root$dst"; fi ;;
    RUN)
      if [ "$stage" = final ]; then echo "RUN (not run: needs the image's root) $args"; continue; fi
      echo "RUN $args"
      (cd "$root$wd" && bash -euo pipefail -c "$args") ;;
    USER|EXPOSE|LABEL) echo "$instr $args (image metadata)" ;;
    ENTRYPOINT) entry=$args ;;
    CMD) ;;
    *) echo "docker-steps: unhandled instruction '$instr'" >&2; exit 1 ;;
  esac
done

jar="${stages[final]}/opt/hsmtls/hsmtls.jar"
[ -f "$jar" ] || { echo "docker-steps: the image would have no $jar" >&2; exit 1; }
opts="${stages[final]}/opt/hsmtls/scripts/jvm-options"
[ -f "$opts" ] || { echo "docker-steps: the image would have no /opt/hsmtls/scripts/jvm-options (its ENTRYPOINT reads it)" >&2; exit 1; }
echo "== ENTRYPOINT $entry"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "@$opts" -jar "$jar" --version
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED "@$opts" -jar "$jar" serve --print-profile modern
"$JAVA_HOME/bin/jar" tf "$jar" | grep "io/hsmtls/cli/Main.class" >/dev/null || { echo "docker-steps: the jar lacks the hsmtls classes" >&2; exit 1; }
echo "docker-steps: ok"
