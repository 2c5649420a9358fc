#!/usr/bin/env bash
# Builds the Go side of grpc-replay's interop matrix into interop/go/bin/:
#
#   seed-server, seed-client           current grpc-go (go.mod), current Go
#   route-record                       grpc-go's route_guide RecordRoute client (random
#                                      number of points), same build
#   rich-errors, big-note              the same: rich error details, a 5 MB message
#   interop-server, interop-client     grpc-go's official interop programs, same release
#                                      (the server with grpc-go's gzip codec linked in)
#   seed-server-1.33, seed-client-1.33 Debian bookworm's grpc-go 1.33.3, Go 1.19, GOPATH mode
#   interop-client-1.33                grpc-go 1.33.3's official interop client, from the Go
#                                      module proxy (module v133/), current Go
#
# Code is generated here from ../../proto/*.proto (never copied): into gen/
# for the current build, into .gopath/ for the 1.33 build. Both are
# git-ignored, as is bin/. Safe to re-run; needs root for apt-get when a
# Debian package is missing.
#
#   ./build.sh           everything
#   ./build.sh current   current grpc-go only (seed + interop programs)
#   ./build.sh 1.33      grpc-go 1.33.3 only (Debian's seeds, the module proxy's interop client)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROTO_DIR="$(cd "$HERE/../../proto" && pwd)"
MODULE=grpc-replay/interop/go
BIN="$HERE/bin"

# Debian packages: protoc for both builds (and grpc-proto: the interop test protos
# under /usr/share/grpc-proto, which scenarios/interop/ load at run time), the rest
# for the 1.33 build.
APT_CURRENT=(protobuf-compiler libprotobuf-dev grpc-proto)
APT_1_33=(golang-1.19-go golang-google-grpc-dev golang-google-protobuf-dev
  golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc)
GO119=/usr/lib/go-1.19/bin/go

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: ERROR: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing Debian packages ${missing[*]} and no apt-get"
  local sudo=
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing Debian packages ${missing[*]}; run as root"
    sudo=sudo
  fi
  log "apt-get install ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then
    $sudo apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# protoc flags shared by both builds: the project's protos, plus Debian's
# well-known types (google/protobuf/wrappers.proto) from /usr/include.
run_protoc() { # OUT_DIR PROTOC_GEN_GO PROTOC_GEN_GO_GRPC
  local out="$1" go_plugin="$2" grpc_plugin="$3"
  [ -f /usr/include/google/protobuf/wrappers.proto ] || die "/usr/include/google/protobuf/wrappers.proto missing (libprotobuf-dev)"
  protoc -I "$PROTO_DIR" -I /usr/include \
    --plugin=protoc-gen-go="$go_plugin" --plugin=protoc-gen-go-grpc="$grpc_plugin" \
    --go_out="$out" --go_opt=module="$MODULE" \
    --go-grpc_out="$out" --go-grpc_opt=module="$MODULE" \
    "$PROTO_DIR"/*.proto
}

# The current Go toolchain: /usr/local/go, else go on PATH.
current_go() {
  if [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go
  else command -v go || die "no Go toolchain (/usr/local/go/bin/go or go on PATH)"
  fi
}

build_current() {
  apt_ensure "${APT_CURRENT[@]}"
  local GO
  GO="$(current_go)"
  log "current build with $("$GO" version)"
  (
    cd "$HERE"
    unset GOROOT
    export GO111MODULE=on GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
    mkdir -p "$BIN/plugins"
    # The protoc plugins, at the versions go.mod pins (tool directives).
    "$GO" build -o "$BIN/plugins/" google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc
    rm -rf gen
    run_protoc "$HERE" "$BIN/plugins/protoc-gen-go" "$BIN/plugins/protoc-gen-go-grpc"
    "$GO" build -o "$BIN/seed-server" ./cmd/seed-server
    "$GO" build -o "$BIN/seed-client" ./cmd/seed-client
    "$GO" build -o "$BIN/route-record" ./cmd/route-record
    "$GO" build -o "$BIN/rich-errors" ./cmd/rich-errors
    "$GO" build -o "$BIN/big-note" ./cmd/big-note
    "$GO" vet ./...
    # grpc-go's own interop programs, from the grpc-go release go.mod pins.
    build_interop_server_with_gzip "$GO"
    "$GO" build -o "$BIN/interop-client" google.golang.org/grpc/interop/client
    "$GO" list -m -f '{{.Path}} {{.Version}}' google.golang.org/grpc google.golang.org/protobuf google.golang.org/grpc/cmd/protoc-gen-go-grpc >&2
  )
  log "built bin/seed-server bin/seed-client bin/route-record bin/rich-errors bin/big-note bin/interop-server bin/interop-client"
}

# grpc-go's interop server registers no compressor, so it answers any gzip request
# with UNIMPLEMENTED ("Decompressor is not installed"), and the interop compression
# cases cannot run against it. It is built here from a copy of the pinned grpc-go
# module whose interop/server package gets one more file importing
# google.golang.org/grpc/encoding/gzip, which is what a grpc-go server does to accept
# gzip; nothing else changes. The copy is used through a go.work workspace
# (GOWORK), as an overlay cannot add files under the module cache.
# Must run inside build_current's environment (GOFLAGS, GOTOOLCHAIN, cwd).
build_interop_server_with_gzip() { # GO
  local GO="$1" copy="$HERE/.gopath/grpc-gzip" work="$HERE/.gopath/interop-gzip.work" src
  src="$("$GO" list -m -f '{{.Dir}}' google.golang.org/grpc)"
  [ -d "$src/interop/server" ] || die "grpc-go module source not found (go list gave '$src')"
  rm -rf "$copy" "$work" "$work.sum"
  mkdir -p "$copy"
  cp -R "$src/." "$copy/"
  chmod -R u+w "$copy"
  cat >"$copy/interop/server/grpc_replay_gzip.go" <<'EOF'
package main

// Added by grpc-replay's interop/go/build.sh: accept and send gzip-compressed messages.
import _ "google.golang.org/grpc/encoding/gzip"
EOF
  printf 'go %s\n\nuse (\n\t%s\n\t%s\n)\n' \
    "$("$GO" list -m -f '{{.GoVersion}}')" "$HERE" "$copy" >"$work"
  GOWORK="$work" "$GO" build -o "$BIN/interop-server" google.golang.org/grpc/interop/server
}

build_1_33() {
  apt_ensure "${APT_CURRENT[@]}" "${APT_1_33[@]}"
  [ -x "$GO119" ] || die "$GO119 missing after installing golang-1.19-go"
  local p
  for p in /usr/bin/protoc-gen-go /usr/bin/protoc-gen-go-grpc /usr/share/gocode/src/google.golang.org/grpc/version.go; do
    [ -e "$p" ] || die "$p missing after installing ${APT_1_33[*]}"
  done
  local grpc_version
  grpc_version="$(sed -n 's/^const Version = "\(.*\)"/\1/p' /usr/share/gocode/src/google.golang.org/grpc/version.go)"
  log "1.33 build with $("$GO119" version), Debian grpc-go $grpc_version"
  case "$grpc_version" in 1.33.*) ;; *) die "Debian grpc-go is $grpc_version, not 1.33.x" ;; esac

  # A GOPATH tree: our sources copied in at their import path, generated
  # code beside them; Debian's Go libraries come from /usr/share/gocode.
  local gopath="$HERE/.gopath/grpc-1.33"
  local src="$gopath/src/$MODULE"
  rm -rf "$gopath"
  mkdir -p "$src"
  cp -R "$HERE/cmd" "$HERE/internal" "$src/"
  run_protoc "$src" /usr/bin/protoc-gen-go /usr/bin/protoc-gen-go-grpc
  (
    cd "$src"
    unset GOROOT GOTOOLCHAIN
    export GO111MODULE=off GOFLAGS= GOPATH="$gopath:/usr/share/gocode" GOCACHE="$HERE/.gopath/cache-1.19"
    "$GO119" build -o "$BIN/seed-server-1.33" "$MODULE/cmd/seed-server"
    "$GO119" build -o "$BIN/seed-client-1.33" "$MODULE/cmd/seed-client"
    # The other cmd/ programs (route-record, rich-errors, big-note) are built by the
    # current build only.
    "$GO119" vet "$MODULE/cmd/seed-server" "$MODULE/cmd/seed-client" "$MODULE/internal/..."
  )
  log "built bin/seed-server-1.33 bin/seed-client-1.33"
}

# grpc-go 1.33's official interop client. Debian's grpc-go 1.33 package ships the library
# without interop/client, so it comes from the module proxy: v133/ is its own module whose
# go.mod and go.sum pin google.golang.org/grpc v1.33.3 (a tool directive), built with the
# current Go.
build_interop_client_1_33() {
  local GO
  GO="$(current_go)"
  (
    cd "$HERE/v133"
    unset GOROOT
    export GO111MODULE=on GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
    "$GO" build -o "$BIN/interop-client-1.33" google.golang.org/grpc/interop/client
    "$GO" list -m -f '{{.Path}} {{.Version}}' google.golang.org/grpc >&2
  )
  log "built bin/interop-client-1.33"
}

main() {
  local what="${1:-all}" start=$SECONDS
  mkdir -p "$BIN"
  case "$what" in
    all) build_current; build_1_33; build_interop_client_1_33 ;;
    current) build_current ;;
    1.33) build_1_33; build_interop_client_1_33 ;;
    *) die "usage: $0 [all|current|1.33]" ;;
  esac
  log "done in $((SECONDS - start))s:"
  ls -l "$BIN" | grep -v '^total' | grep -v ' plugins$' >&2
}

main "$@"
