#!/usr/bin/env bash
# The hsmtls demo, start to finish, on a fresh SoftHSM2 token:
#   1. create a token, 2. generate an EC P-256 key ON the token, 3. make a CSR and a self-signed
#   certificate signed by the token, 4. list what is on the token, 5. serve TLS with that key in
#   front of a small web server, 6. fetch a page through it with curl, 7. probe the handshake
#   step by step with hsmtls's own client.
# Ends by itself and stops everything it started. Work files go to ${DEMO_DIR:-./demo-work}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
hsmtls_apt_install softhsm2 opensc openssl curl
hsmtls_find_jdk
top=$(cd "$here/.." && pwd)
work=${DEMO_DIR:-$top/demo-work}
rm -rf "$work"; mkdir -p "$work"
hsmtls="$here/hsmtls"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

if [ ! -f "$top/target/hsmtls.jar" ]; then
  step "Building hsmtls"
  command -v mvn >/dev/null || hsmtls_apt_install maven
  (cd "$top" && mvn -B -q -ntp package -DskipTests)
fi

step "1. A SoftHSM2 token in $work/token (PINs in files, never on a command line)"
eval "$("$here/setup-softhsm.sh" "$work/token" --label demo | grep '^export')"
module=$(hsmtls_softhsm_module)
token="pkcs11:token=demo?module-path=$module&pin-source=file:$work/token/user.pin"
key="pkcs11:token=demo;object=server?module-path=$module&pin-source=file:$work/token/user.pin"
"$hsmtls" token list --module "$module"

step "2. An EC P-256 key generated on the token (sensitive, not extractable)"
"$hsmtls" key generate --key "$key" --type ec-p256

step "3. A CSR and a self-signed certificate, both signed by the token"
"$hsmtls" csr --key "$key" --subject "CN=localhost,O=hsmtls demo" --san dns:localhost --san ip:127.0.0.1 \
  --out "$work/server.csr"
openssl req -in "$work/server.csr" -noout -verify -subject
"$hsmtls" cert self-sign --key "$key" --subject "CN=localhost,O=hsmtls demo" --days 90 \
  --san dns:localhost --san ip:127.0.0.1 > "$work/server.pem"
openssl x509 -in "$work/server.pem" -noout -subject -dates

step "4. What is on the token"
"$hsmtls" key list --token "$token" --all
pkcs11-tool --module "$module" -O 2>/dev/null | grep -E 'Object|label|ID|Usage|Access' || true

step "4b. hsmtls doctor: is this key ready for TLS, and for which versions"
"$hsmtls" doctor --key "$key" --speed-seconds 1

step "5. hsmtls serve on 127.0.0.1:8443 in front of a web server on 127.0.0.1:8080"
mkdir -p "$work/www"
echo "<h1>Hello through hsmtls: the TLS key never left the token.</h1>" > "$work/www/index.html"
"$JAVA_HOME/bin/jwebserver" -b 127.0.0.1 -p 8080 -d "$work/www" >"$work/backend.log" 2>&1 &
pids+=($!)
"$hsmtls" serve --listen 127.0.0.1:8443 --backend 127.0.0.1:8080 --key "$key" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q "listening" "$work/serve.log" 2>/dev/null && break
  sleep 0.2
done
grep -q "listening" "$work/serve.log" || { echo "serve did not start:"; cat "$work/serve.log"; exit 1; }
sed -n '1,5p' "$work/serve.log"

step "6. curl through the proxy (TLS 1.3), then TLS 1.2, and what the handshake was"
curl -sS --cacert "$work/server.pem" https://localhost:8443/ -w '\n(curl: HTTP %{http_code})\n'
curl -sS -v --tlsv1.2 --tls-max 1.2 --cacert "$work/server.pem" https://localhost:8443/ -o /dev/null 2>&1 \
  | grep -E '^\* (SSL connection|Server certificate|  subject|ALPN|TLSv)' || true
echo | openssl s_client -connect 127.0.0.1:8443 -servername localhost -CAfile "$work/server.pem" -brief 2>&1 \
  | grep -E 'Protocol|Ciphersuite|Peer certificate|Signature type|Verification' || true
step "7. hsmtls probe: the same handshake explained step by step by hsmtls's own client"
"$hsmtls" probe 127.0.0.1:8443 --server-name localhost --trust "$work/server.pem"
sleep 0.5
step "The server's log (one line per connection; token time is the key's signature on the token)"
cat "$work/serve.log"
step "Done: stopping serve and the web server"
