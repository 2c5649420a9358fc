#!/usr/bin/env bash
# Fetches grpc-java's official interop client (io.grpc:grpc-interop-testing, main class
# io.grpc.testing.integration.TestServiceClient) and its dependencies from Maven Central
# into target/java/lib/, for tests/interop_suite.rs. Nothing is compiled: pom.xml only
# names the artifact and its version. Installs Java 17 and Maven (Debian packages) when
# they are missing. Safe to re-run (Maven's local repository keeps the downloads).
#
#   bash interop/java/fetch.sh
#   java -cp 'target/java/lib/*' io.grpc.testing.integration.TestServiceClient \
#       --server_host=127.0.0.1 --server_port=PORT --use_tls=false --test_case=empty_unary
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$(cd "$HERE/../.." && pwd)/target/java/lib"

die() { printf 'interop/java/fetch.sh: ERROR: %s\n' "$*" >&2; exit 1; }

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    command -v apt-get >/dev/null || die "java and mvn are needed (Java 17+, Maven 3)"
    sudo=; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        openjdk-17-jre-headless maven >/dev/null || die "apt-get install openjdk-17-jre-headless maven failed"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
mvn -B -q -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$OUT" \
    || die "mvn could not fetch grpc-interop-testing (pom.xml)"
ls "$OUT"/grpc-interop-testing-*.jar >/dev/null 2>&1 || die "no grpc-interop-testing jar in $OUT"
printf '==> grpc-java interop client: %s (%s jars in target/java/lib)\n' \
    "$(basename "$OUT"/grpc-interop-testing-*.jar .jar)" "$(ls "$OUT" | wc -l)" >&2
