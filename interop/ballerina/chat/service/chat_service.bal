// The Chat service of Ballerina's bidirectional streaming example (seed 004), written
// against grpc-replay's proto/chat.proto. Every ChatMessage comes back as the string
// "<name>: <message>"; the call completes once the client completes its stream.
//
//   bal run                      # listens on 9090
//   bal run -- -Cport=50051      # another port
import ballerina/grpc;

# The port to listen on (plain HTTP/2, no TLS).
configurable int port = 9090;

@grpc:Descriptor {value: CHAT_DESC}
service "Chat" on new grpc:Listener(port) {
    remote function chat(ChatStringCaller caller, stream<ChatMessage, error?> clientStream) returns error? {
        // Reads and answers each message of the client stream as it arrives.
        check clientStream.forEach(function(ChatMessage chatMsg) {
            checkpanic caller->sendString(string `${chatMsg.name}: ${chatMsg.message}`);
        });
        // The client completed its stream: complete ours (status OK).
        check caller->complete();
    }
}
