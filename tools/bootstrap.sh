#!/usr/bin/env bash
# Installs every Debian 12 package that building, the demo and the tests
# need. Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config git binutils
  googletest libgtest-dev              # tests
  libsqlite3-dev                       # state store, table connector, mock province storage
  libavro-dev                          # Avro schema parsing and decoding (Apache Avro C)
  libsnappy-dev libzstd-dev zlib1g-dev # Avro codecs: snappy, zstandard, deflate
  libcurl4-openssl-dev                 # the hub's HTTP client
  libssl-dev                           # HMAC-SHA256 / HMAC-SM3 request signing, digests
  libboost-dev                         # Boost.Asio/Beast for the mock province
  nlohmann-json3-dev                   # JSON: configuration, mapping files, protocol
  libspdlog-dev libfmt-dev             # logging
  libcli11-dev                         # command line parsing
  libxml2-dev                          # XML/SOAP connectors, XML files, xlsx sheets (hardened parsing)
  libsimdjson-dev rapidjson-dev        # HTTP/JSON connector: record extraction (measured against nlohmann)
  unixodbc-dev                         # ODBC table connector (DM, KingbaseES, GaussDB, ... drivers)
  odbc-postgresql libsqliteodbc postgresql  # ODBC connector tests: a real PostgreSQL on loopback, SQLite via ODBC
  libzip-dev                           # xlsx files (zip archives)
  python3-pyftpdlib                    # FTP source tests: a real FTP server on loopback
  libxxhash-dev                        # XXH3 row digests (boundary rows of incremental cursors)
  python3 python3-avro python3-snappy python3-zstandard  # independent Avro reader in tests and the bench reference
  sqlite3                              # inspecting state by hand
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
