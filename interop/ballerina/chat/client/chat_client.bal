// The client of Ballerina's bidirectional streaming example (seed 004), written against
// grpc-replay's proto/chat.proto. It sends three messages, completes its stream, reads
// the answers in another strand and checks them: "<name>: <message>" for each message.
// It prints `PASS Chat/chat` and exits 0, or returns an error (exit code 1).
//
//   bal run                                       # calls http://localhost:9090
//   bal run -- -Curl=http://127.0.0.1:50051       # another server
import ballerina/io;

# The server to call (plain HTTP/2 with prior knowledge).
configurable string url = "http://localhost:9090";

public function main() returns error? {
    ChatClient ep = check new (url);
    // Executes the RPC call and receives the customized streaming client.
    ChatStreamingClient streamingClient = check ep->chat();

    // Reads server responses in another strand.
    future<string[]|error> replies = start readResponses(streamingClient);

    ChatMessage[] messages = [
        {name: "Sam", message: "Hi"},
        {name: "Ann", message: "Hey"},
        {name: "John", message: "Hello"}
    ];
    foreach ChatMessage msg in messages {
        check streamingClient->sendChatMessage(msg);
    }
    // Once all the messages are sent, the client notifies the server of the completion.
    check streamingClient->complete();

    string[] received = check wait replies;
    string[] expected = from ChatMessage msg in messages
        select string `${msg.name}: ${msg.message}`;
    if received != expected {
        return error(string `Chat/chat: expected ${expected.toString()}, received ${received.toString()}`);
    }
    io:println("PASS Chat/chat");
}

// Receives the server stream until it ends.
function readResponses(ChatStreamingClient streamingClient) returns string[]|error {
    string[] received = [];
    while true {
        string? result = check streamingClient->receiveString();
        if result is string {
            io:println(result);
            received.push(result);
        } else {
            break;
        }
    }
    return received;
}
