// Command route-record is grpc-go's route_guide client's RecordRoute, on its own: it
// sends a random number of random points (rand(100)+2, as grpc-go's example does),
// half-closes, and checks that the summary's point_count is the number it sent. It exits
// 0 when it is, 1 when it is not or the call fails, 2 on bad usage.
//
// It builds against the current grpc-go (module mode) and against Debian bookworm's
// grpc-go 1.33.3 with Go 1.19 (GOPATH mode): keep it free of generics and of anything
// newer than Go 1.19.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"time"

	"google.golang.org/grpc"

	"grpc-replay/interop/go/gen/routeguidepb"
)

// randomPoint is grpc-go's examples/route_guide/client randomPoint.
func randomPoint(r *rand.Rand) *routeguidepb.Point {
	lat := (r.Int31n(180) - 90) * 1e7
	long := (r.Int31n(360) - 180) * 1e7
	return &routeguidepb.Point{Latitude: lat, Longitude: long}
}

func main() {
	addr := flag.String("addr", "", "server `HOST:PORT` (required)")
	seed := flag.Int64("seed", 0, "random `SEED` (default: the time)")
	flag.Parse()
	if *addr == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	r := rand.New(rand.NewSource(*seed))
	count := int(r.Int31n(100)) + 2

	conn, err := grpc.Dial(*addr, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintf(os.Stderr, "route-record: dial %s: %v\n", *addr, err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := routeguidepb.NewRouteGuideClient(conn).RecordRoute(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "route-record: RecordRoute: %v\n", err)
		os.Exit(1)
	}
	for i := 0; i < count; i++ {
		if err := stream.Send(randomPoint(r)); err != nil {
			fmt.Fprintf(os.Stderr, "route-record: sending point %d of %d: %v\n", i+1, count, err)
			os.Exit(1)
		}
	}
	summary, err := stream.CloseAndRecv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "route-record: after %d points: %v\n", count, err)
		os.Exit(1)
	}
	if int(summary.GetPointCount()) != count {
		fmt.Printf("FAIL sent %d points, summary point_count %d (seed %d)\n", count, summary.GetPointCount(), *seed)
		os.Exit(1)
	}
	fmt.Printf("PASS sent %d points, summary point_count %d (seed %d)\n", count, summary.GetPointCount(), *seed)
}
