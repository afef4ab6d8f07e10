#!/usr/bin/env bash
# Regenerates the simulator's TLS material: a CA and a 127.0.0.1/localhost server certificate signed by it.
# Test-only keys for a server bound to 127.0.0.1; never trust this CA for anything else.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=aks-spot-test simulator CA" -out ca.pem
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/server.key"
openssl req -new -key "$tmp/server.key" -subj "/CN=aks-spot-test-sim" -out "$tmp/server.csr"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$tmp/ext.cnf"
openssl x509 -req -in "$tmp/server.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial -days 3650 -sha256 -extfile "$tmp/ext.cnf" -out server.pem
openssl x509 -in ca.pem -outform DER -out ca.der
openssl x509 -in server.pem -outform DER -out server.der
openssl pkcs8 -topk8 -nocrypt -in "$tmp/server.key" -outform DER -out server.key.der
rm -rf "$tmp" ca.srl
