// Command rich-errors is the Go side of grpc-replay's rich error tests: gRPC's
// error model (google.rpc.Status with details, in grpc-status-details-bin), as
// grpc-go's google.golang.org/grpc/status writes and reads it.
//
//	rich-errors --serve HOST:PORT   serve routeguide.RouteGuide/GetFeature: every
//	                                call ends with INVALID_ARGUMENT "bad point" and
//	                                the details below (status.WithDetails)
//	rich-errors --call HOST:PORT    call GetFeature once and check that the status
//	                                and its details are exactly the ones below;
//	                                exit 1 (saying what differs) when they are not
//
// The details are those of tests/fixtures/rich_errors/bad_point.yaml.
// Keep it free of generics and of anything newer than Go 1.19.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"grpc-replay/interop/go/gen/routeguidepb"
)

// The status every GetFeature call ends with.
const (
	code    = codes.InvalidArgument
	message = "bad point"
)

// details are the error details sent by the server and expected by the client, in
// order (three values, not a slice: WithDetails takes grpc-go's own message interface).
func details() (*errdetails.BadRequest, *errdetails.ErrorInfo, *errdetails.RetryInfo) {
	return &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "latitude", Description: "out of range"},
		}},
		&errdetails.ErrorInfo{
			Reason:   "OUT_OF_RANGE",
			Domain:   "routeguide.example",
			Metadata: map[string]string{"limit": "90"},
		},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)}
}

type routeGuide struct {
	routeguidepb.UnimplementedRouteGuideServer
}

// GetFeature refuses every point with the rich error.
func (routeGuide) GetFeature(context.Context, *routeguidepb.Point) (*routeguidepb.Feature, error) {
	withDetails, err := status.New(code, message).WithDetails(details())
	if err != nil {
		return nil, status.Errorf(codes.Internal, "WithDetails: %v", err)
	}
	return nil, withDetails.Err()
}

func serve(addr string) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("listen on %s: %v", addr, err)
	}
	s := grpc.NewServer()
	routeguidepb.RegisterRouteGuideServer(s, routeGuide{})
	// The one line a test harness waits for; os.Stdout is unbuffered.
	fmt.Printf("listening on %s\n", lis.Addr().String())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}

// call makes one GetFeature call and returns what differs from the expected status.
func call(addr string) []string {
	conn, err := grpc.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = routeguidepb.NewRouteGuideClient(conn).GetFeature(ctx, &routeguidepb.Point{Latitude: 999, Longitude: 1})
	st, _ := status.FromError(err)
	var diffs []string
	if st.Code() != code || st.Message() != message {
		diffs = append(diffs, fmt.Sprintf("status: expected %v %q, received %v %q", code, message, st.Code(), st.Message()))
	}
	received := st.Proto().GetDetails()
	badRequest, errorInfo, retryInfo := details()
	expected := []proto.Message{badRequest, errorInfo, retryInfo}
	if len(received) != len(expected) {
		return append(diffs, fmt.Sprintf("details: expected %d, received %d", len(expected), len(received)))
	}
	for i, any := range received {
		got, err := any.UnmarshalNew()
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("details[%d]: %s does not decode: %v", i, any.GetTypeUrl(), err))
		} else if !proto.Equal(got, expected[i]) {
			diffs = append(diffs, fmt.Sprintf("details[%d]: expected %s, received %s",
				i, oneLine.Format(expected[i]), oneLine.Format(got)))
		}
	}
	return diffs
}

// oneLine renders a message as JSON on one line.
var oneLine = protojson.MarshalOptions{}

func main() {
	log.SetFlags(0)
	log.SetPrefix("rich-errors: ")
	serveAddr := flag.String("serve", "", "serve GetFeature on `HOST:PORT` (port 0: any free port)")
	callAddr := flag.String("call", "", "call GetFeature on `HOST:PORT` and check the rich error")
	flag.Parse()
	switch {
	case *serveAddr != "" && *callAddr == "":
		serve(*serveAddr)
	case *callAddr != "" && *serveAddr == "":
		if diffs := call(*callAddr); len(diffs) > 0 {
			for _, d := range diffs {
				fmt.Println(d)
			}
			os.Exit(1)
		}
		fmt.Println("rich error ok: INVALID_ARGUMENT with 3 details")
	default:
		log.Fatal("give one of --serve HOST:PORT or --call HOST:PORT")
	}
}
