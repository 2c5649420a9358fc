// A client for Ballerina's HelloWorld service in its four RPC kinds, written against
// grpc-replay's proto/helloworld.proto. It makes the calls of
// scenarios/ballerina/helloworld.yaml, in that order, and checks every answer. `hello`
// carries a deadline, which Ballerina sends as a `deadline` header (an RFC 3339 time),
// not as grpc-timeout. It prints one `PASS <method>` line per call and exits 0, or
// returns an error (exit code 1).
//
//   bal run                                       # calls http://localhost:9090
//   bal run -- -Curl=http://127.0.0.1:50051       # another server
import ballerina/grpc;
import ballerina/io;
import ballerina/protobuf.types.wrappers;
import ballerina/time;

# The server to call (plain HTTP/2 with prior knowledge).
configurable string url = "http://localhost:9090";

public function main() returns error? {
    HelloWorldClient ep = check new (url);

    // Unary, with a deadline 5 seconds ahead.
    time:Utc deadline = time:utcAddSeconds(time:utcNow(), 5);
    wrappers:ContextString reply = check ep->helloContext({content: "Ballerina", headers: grpc:setDeadline(deadline)});
    check expect("HelloWorld/hello", [reply.content], ["Hello Ballerina"]);

    // Server streaming.
    stream<string, grpc:Error?> replies = check ep->lotsOfReplies("Ballerina");
    string[] greetings = check from string greeting in replies select greeting;
    check expect("HelloWorld/lotsOfReplies", greetings, ["Hi Ballerina", "Hey Ballerina", "Hello Ballerina"]);

    // Client streaming: the answer comes once the stream is complete.
    LotsOfGreetingsStreamingClient everyone = check ep->lotsOfGreetings();
    foreach string name in ["Bob", "Alice", "Eve"] {
        check everyone->sendString(name);
    }
    check everyone->complete();
    string? greeting = check everyone->receiveString();
    check expect("HelloWorld/lotsOfGreetings", [greeting ?: "(nothing)"], ["Hello Bob, Alice, Eve"]);

    // Bidirectional streaming: one answer per name, read before the next name goes out.
    BidiHelloStreamingClient bidi = check ep->bidiHello();
    string[] names = ["Sam", "Ann", "John"];
    string[] answers = [];
    foreach string name in names {
        check bidi->sendString(name);
        string? answer = check bidi->receiveString();
        answers.push(answer ?: "(nothing)");
    }
    check bidi->complete();
    string? extra = check bidi->receiveString();
    if extra is string {
        answers.push(extra);
    }
    check expect("HelloWorld/bidiHello", answers, from string name in names select "Hello " + name);
}

// Compares what a call received with what it should have, and reports the call.
function expect(string method, string[] received, string[] expected) returns error? {
    if received != expected {
        return error(string `${method}: expected ${expected.toString()}, received ${received.toString()}`);
    }
    io:println("PASS ", method);
}
