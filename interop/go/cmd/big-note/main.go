// Command big-note is the Go side of grpc-replay's message-size tests: a grpc-go
// client that sends one large message, as grpc-go allows by default (its send limit
// is 2 GiB; its receive limit, 4 MiB, is the usual gRPC one).
//
//	big-note --addr HOST:PORT --size N [--gzip]
//
// opens routeguide.RouteGuide/RouteChat, sends one RouteNote whose message is N
// bytes of "x" (gzip-compressed with --gzip: a few kilobytes on the wire), half-closes,
// and reads the replies to the end of the call. It prints
// "big note ok: N replies" and exits 0 when the call ends with OK, and prints the
// status and exits 1 otherwise.
// Keep it free of generics and of anything newer than Go 1.19.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"

	"grpc-replay/interop/go/gen/routeguidepb"
)

// chat sends the note (compressed when gzipped) and returns how many replies came, or the
// error that ended the call.
func chat(addr string, size int, gzipped bool) (int, error) {
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var options []grpc.CallOption
	if gzipped {
		options = append(options, grpc.UseCompressor(gzip.Name))
	}
	stream, err := routeguidepb.NewRouteGuideClient(conn).RouteChat(ctx, options...)
	if err != nil {
		return 0, err
	}
	note := &routeguidepb.RouteNote{Message: strings.Repeat("x", size)}
	// A send error (the server ended the call) shows again, with its status, on Recv.
	if err := stream.Send(note); err == nil {
		stream.CloseSend() //nolint:errcheck // the status comes from Recv
	}
	replies := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			return replies, nil
		}
		if err != nil {
			return replies, err
		}
		replies++
	}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("big-note: ")
	addr := flag.String("addr", "", "the server, `HOST:PORT`")
	size := flag.Int("size", 5000000, "the note's message length in `BYTES`")
	gzipped := flag.Bool("gzip", false, "send the note gzip-compressed")
	flag.Parse()
	if *addr == "" || flag.NArg() != 0 {
		log.Fatal("usage: big-note --addr HOST:PORT [--size BYTES] [--gzip]")
	}
	replies, err := chat(*addr, *size, *gzipped)
	if err != nil {
		st, _ := status.FromError(err)
		fmt.Printf("big note failed: %v: %s\n", st.Code(), st.Message())
		os.Exit(1)
	}
	fmt.Printf("big note ok: %d replies\n", replies)
}
