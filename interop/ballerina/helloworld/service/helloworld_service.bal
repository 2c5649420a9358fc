// Ballerina's HelloWorld service in its four RPC kinds, written against grpc-replay's
// proto/helloworld.proto (google.protobuf.StringValue is a Ballerina `string`). It answers
// as interop/go's seed-server does:
//   hello            "Hello <name>"
//   lotsOfReplies    "Hi <name>", "Hey <name>", "Hello <name>"
//   lotsOfGreetings  "Hello <n1>, <n2>, ..." once the client completes its stream
//   bidiHello        "Hello <name>" for each name, as it arrives
//
//   bal run                      # listens on 9090
//   bal run -- -Cport=50051      # another port
import ballerina/grpc;

# The port to listen on (plain HTTP/2, no TLS).
configurable int port = 9090;

@grpc:Descriptor {value: HELLOWORLD_DESC}
service "HelloWorld" on new grpc:Listener(port) {

    remote function hello(string name) returns string {
        return "Hello " + name;
    }

    remote function lotsOfReplies(string name) returns stream<string, error?> {
        string[] greetings = ["Hi " + name, "Hey " + name, "Hello " + name];
        return greetings.toStream();
    }

    remote function lotsOfGreetings(stream<string, grpc:Error?> clientStream) returns string|error {
        string[] names = [];
        check clientStream.forEach(function(string name) {
            names.push(name);
        });
        return "Hello " + string:'join(", ", ...names);
    }

    remote function bidiHello(HelloWorldStringCaller caller, stream<string, grpc:Error?> clientStream) returns error? {
        check clientStream.forEach(function(string name) {
            checkpanic caller->sendString("Hello " + name);
        });
        check caller->complete();
    }
}
