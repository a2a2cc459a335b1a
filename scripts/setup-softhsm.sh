#!/usr/bin/env bash
# Creates a SoftHSM2 token in a directory of its own, with PINs read from files (never argv).
#
#   scripts/setup-softhsm.sh DIR [--label LABEL] [--pin-file FILE] [--so-pin-file FILE]
#
# DIR gets softhsm2.conf and tokens/. Missing PIN files are created with random PINs (mode 600).
# Prints the SOFTHSM2_CONF line to export and the token's PKCS#11 URI. Installs softhsm2 and
# opensc (pkcs11-tool) with apt when they are missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 2; }
[ $# -ge 1 ] || usage
dir=$1; shift
label=hsmtls
pin_file=""
so_pin_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --label) label=$2; shift 2 ;;
    --pin-file) pin_file=$2; shift 2 ;;
    --so-pin-file) so_pin_file=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "setup-softhsm: unknown argument '$1'" >&2; usage ;;
  esac
done

hsmtls_apt_install softhsm2 opensc
module=$(hsmtls_softhsm_module)

mkdir -p "$dir/tokens"
dir=$(cd "$dir" && pwd)
umask 077
[ -n "$pin_file" ] || pin_file="$dir/user.pin"
[ -n "$so_pin_file" ] || so_pin_file="$dir/so.pin"
[ -s "$pin_file" ] || head -c 12 /dev/urandom | od -An -tu1 | tr -d ' \n' | cut -c1-8 > "$pin_file"
[ -s "$so_pin_file" ] || head -c 16 /dev/urandom | od -An -tu1 | tr -d ' \n' | cut -c1-12 > "$so_pin_file"

sed -e "s|@TOKENDIR@|$dir/tokens|" "$here/../hsm-config/softhsm2.conf.template" > "$dir/softhsm2.conf"
export SOFTHSM2_CONF="$dir/softhsm2.conf"

if softhsm2-util --show-slots 2>/dev/null | grep -q "Label: *$label *$"; then
  echo "setup-softhsm: a token labelled '$label' already exists in $dir; keeping it" >&2
else
  # softhsm2-util reads PINs only from argv or a terminal. Give it a pseudo-terminal (script(1))
  # fed from the PIN files, so the PINs never appear in a process list. Its echo goes to /dev/null.
  pin=$(head -n1 "$pin_file"); so=$(head -n1 "$so_pin_file")
  if ! printf '%s\n%s\n%s\n%s\n' "$so" "$so" "$pin" "$pin" \
      | script -q -e -c "softhsm2-util --init-token --free --label '$label'" /dev/null >/dev/null 2>&1; then
    unset pin so
    echo "setup-softhsm: softhsm2-util could not initialise token '$label' in $dir" >&2
    exit 1
  fi
  unset pin so
  softhsm2-util --show-slots | grep -q "Label: *$label *$" || {
    echo "setup-softhsm: token '$label' not visible after initialisation (SOFTHSM2_CONF=$SOFTHSM2_CONF)" >&2; exit 1; }
fi

echo "export SOFTHSM2_CONF=$SOFTHSM2_CONF"
echo "pkcs11:token=$label?module-path=$module&pin-source=file:$(cd "$(dirname "$pin_file")" && pwd)/$(basename "$pin_file")"
