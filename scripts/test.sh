#!/usr/bin/env bash
# Runs the whole test suite against real peers: installs what the tests talk to (SoftHSM2, OpenSC,
# p11-kit, openssl, curl, Maven; cc and the PKCS#11 header for the slow-token double) when
# missing, then `mvn verify` with a JDK 21+.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
hsmtls_apt_install softhsm2 opensc p11-kit p11-kit-modules openssl curl maven gcc libc6-dev libp11-kit-dev
hsmtls_find_jdk
cd "$here/.."
exec mvn -B -ntp verify "$@"
