"""The grpcio (PyPI) peer of the benchmark (bench/run.sh): one GreetEveryone call that
sends MESSAGES greetings {first_name: "Flo"} without waiting, half-closes, and checks that
each of the MESSAGES replies is {result: "Hello Flo!"} -- the stream of
bench/scenarios/greet_pipelined.yaml. Stubs are generated at run time with grpcio-tools
from proto/greet.proto into a temporary directory.

    python3 bench/grpcio_client.py --target HOST:PORT --messages N

Prints `elapsed_seconds=S` (the call, once the channel is connected); exit code 0 when
every reply matched, 1 otherwise.
"""

import argparse
import importlib
import itertools
import sys
import tempfile
import time
from pathlib import Path

import grpc
from grpc_tools import protoc

PROTO_DIR = Path(__file__).resolve().parent.parent / "proto"
CONNECT_TIMEOUT_SECONDS = 10
CALL_TIMEOUT_SECONDS = 1800


def generate_stubs(out_dir):
    """Compiles proto/greet.proto into out_dir and imports the two generated modules."""
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(PROTO_DIR / "greet.proto"),
        ]
    )
    if status != 0:
        sys.exit(f"grpcio_client: protoc failed with status {status}")
    sys.path.insert(0, out_dir)
    return importlib.import_module("greet_pb2"), importlib.import_module("greet_pb2_grpc")


def pipelined_call(target, messages, greet_pb2, greet_pb2_grpc):
    """Plays the stream; returns the call's duration in seconds, or exits on a mismatch."""
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=CONNECT_TIMEOUT_SECONDS)
    stub = greet_pb2_grpc.GreetServiceStub(channel)
    request = greet_pb2.GreetEveryoneRequest(greeting=greet_pb2.Greeting(first_name="Flo"))
    expected = greet_pb2.GreetEveryoneResponse(result="Hello Flo!")
    started = time.perf_counter()
    received = 0
    for reply in stub.GreetEveryone(
        itertools.repeat(request, messages), timeout=CALL_TIMEOUT_SECONDS
    ):
        received += 1
        if reply != expected:
            sys.exit(f"grpcio_client: reply {received} is {reply!r}, want {expected!r}")
    elapsed = time.perf_counter() - started
    channel.close()
    if received != messages:
        sys.exit(f"grpcio_client: {received} replies, want {messages}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--messages", type=int, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="grpcio-stubs-") as out_dir:
        greet_pb2, greet_pb2_grpc = generate_stubs(out_dir)
        elapsed = pipelined_call(args.target, args.messages, greet_pb2, greet_pb2_grpc)
    print(f"elapsed_seconds={elapsed:.6f}")


if __name__ == "__main__":
    main()
