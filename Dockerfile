# grpc-replay in a container: a build stage with the Rust toolchain, then a small runtime
# image with the binary alone.
#
#   docker build -t grpc-replay .
#   docker run --rm --network host -v "$PWD:/work" -w /work grpc-replay \
#       run scenarios/ --target 127.0.0.1:50051 --report junit=reports/junit.xml

# Build stage: the toolchain Cargo.toml's rust-version asks for, or later.
FROM rust:1.89-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin grpc-replay

# Runtime stage: Debian slim with CA certificates (for --tls against public roots).
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/grpc-replay /usr/local/bin/grpc-replay
RUN useradd --create-home --uid 10001 replay
USER replay
WORKDIR /work
ENTRYPOINT ["grpc-replay"]
CMD ["--help"]
