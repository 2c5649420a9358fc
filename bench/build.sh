# Sourced by the bench scripts: builds grpc-replay and sets BIN to it. BENCH_PROFILE=debug
# uses the debug build (a quick look); the default is release.
# Release builds the same targets everywhere (the binary and examples/bench_baseline):
# building the example turns on dev-dependency features, and a different target set would
# rebuild every dependency each time the scripts alternate.
bench_build() {
    local profile=${BENCH_PROFILE:-release}
    if [ "$profile" = release ]; then
        cargo build --release --locked --bin grpc-replay --example bench_baseline >&2
    else
        cargo build --locked --bin grpc-replay >&2
    fi
    BIN="target/$profile/grpc-replay"
}
