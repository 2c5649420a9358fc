// Command seed-server serves every service bundled with grpc-replay
// (proto/*.proto) the way the seeds' Go code does, on one port.
//
// It builds against the current grpc-go (module mode) and against Debian
// bookworm's grpc-go 1.33.3 with Go 1.19 (GOPATH mode): keep it free of
// generics and of anything newer than Go 1.19.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"grpc-replay/interop/go/gen/calculatorpb"
	"grpc-replay/interop/go/gen/chatpb"
	"grpc-replay/interop/go/gen/greetpb"
	"grpc-replay/interop/go/gen/helloworldpb"
	"grpc-replay/interop/go/gen/routeguidepb"
	"grpc-replay/interop/go/gen/tutorialpb"
	"grpc-replay/interop/go/internal/seeds"
)

// ---- calculator.CalculatorService (seeds 000/001: FindMaximum) ----

type calculatorServer struct {
	calculatorpb.UnimplementedCalculatorServiceServer
}

// Maximum answers only when the maximum of the numbers received so far rises.
func (calculatorServer) Maximum(stream calculatorpb.CalculatorService_MaximumServer) error {
	maxNum := int64(math.MinInt64)
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n := req.GetNumber(); maxNum < n {
			maxNum = n
			if err := stream.Send(&calculatorpb.MaximumResponse{Result: maxNum}); err != nil {
				return err
			}
		}
	}
}

// ---- greet.GreetService (seed 001: GreetEveryone) ----

type greetServer struct {
	greetpb.UnimplementedGreetServiceServer
}

func (greetServer) GreetEveryone(stream greetpb.GreetService_GreetEveryoneServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		result := "Hello " + req.GetGreeting().GetFirstName() + "!"
		if err := stream.Send(&greetpb.GreetEveryoneResponse{Result: result}); err != nil {
			return err
		}
	}
}

// ---- tutorial.NumberService (seed 002: AccumulateNumbers) ----

type numberServer struct {
	tutorialpb.UnimplementedNumberServiceServer
}

func (numberServer) AccumulateNumbers(stream tutorialpb.NumberService_AccumulateNumbersServer) error {
	sum := 0
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		sum += int(req.GetNum())
		if err := stream.Send(&tutorialpb.NumberResponse{Sum: int32(sum)}); err != nil {
			return err
		}
	}
}

// ---- routeguide.RouteGuide (seed 003) ----

type routeGuideServer struct {
	routeguidepb.UnimplementedRouteGuideServer

	floodFeatures int

	// sharedNotes: RouteChat notes are kept for the life of the server, as in
	// seed 003 and grpc-go's example; otherwise each call starts empty.
	sharedNotes bool
	mu          sync.Mutex
	routeNotes  map[string][]*routeguidepb.RouteNote
}

// GetFeature returns the feature at the point, or an unnamed feature there.
func (s *routeGuideServer) GetFeature(_ context.Context, point *routeguidepb.Point) (*routeguidepb.Feature, error) {
	if f, ok := seeds.At(point); ok {
		return f.Proto(), nil
	}
	return &routeguidepb.Feature{Location: point}, nil
}

func (s *routeGuideServer) ListFeatures(rect *routeguidepb.Rectangle, stream routeguidepb.RouteGuide_ListFeaturesServer) error {
	if s.floodFeatures > 0 {
		flood := &routeguidepb.Feature{Name: "flood", Location: &routeguidepb.Point{Latitude: 1, Longitude: 2}}
		for i := 0; i < s.floodFeatures; i++ {
			if err := stream.Send(flood); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range seeds.DB {
		if seeds.InRange(f.Proto().GetLocation(), rect) {
			if err := stream.Send(f.Proto()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *routeGuideServer) RecordRoute(stream routeguidepb.RouteGuide_RecordRouteServer) error {
	var pointCount, featureCount, distance int32
	var lastPoint *routeguidepb.Point
	startTime := time.Now()
	for {
		point, err := stream.Recv()
		if err == io.EOF {
			endTime := time.Now()
			return stream.SendAndClose(&routeguidepb.RouteSummary{
				PointCount:   pointCount,
				FeatureCount: featureCount,
				Distance:     distance,
				ElapsedTime:  int32(endTime.Sub(startTime).Seconds()),
			})
		}
		if err != nil {
			return err
		}
		pointCount++
		if _, ok := seeds.At(point); ok {
			featureCount++
		}
		if lastPoint != nil {
			distance += seeds.CalcDistance(lastPoint, point)
		}
		lastPoint = point
	}
}

// RouteChat appends each note to the notes at its location, then sends back
// every note at that location, the new one included (seed 003).
func (s *routeGuideServer) RouteChat(stream routeguidepb.RouteGuide_RouteChatServer) error {
	notes := s.routeNotes
	var mu *sync.Mutex
	if s.sharedNotes {
		mu = &s.mu
	} else {
		notes = make(map[string][]*routeguidepb.RouteNote)
		mu = new(sync.Mutex)
	}
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		key := seeds.Key(in.GetLocation())
		mu.Lock()
		notes[key] = append(notes[key], in)
		rn := make([]*routeguidepb.RouteNote, len(notes[key]))
		copy(rn, notes[key])
		mu.Unlock()
		for _, note := range rn {
			if err := stream.Send(note); err != nil {
				return err
			}
		}
	}
}

// ---- Chat (seed 004: Ballerina's bidirectional chat) ----

type chatServer struct {
	chatpb.UnimplementedChatServer
}

func (chatServer) Chat(stream chatpb.Chat_ChatServer) error {
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			return nil // the client half-closed: complete
		}
		if err != nil {
			return err
		}
		if err := stream.Send(wrapperspb.String(msg.GetName() + ": " + msg.GetMessage())); err != nil {
			return err
		}
	}
}

// ---- HelloWorld (Ballerina's HelloWorld examples) ----

type helloWorldServer struct {
	helloworldpb.UnimplementedHelloWorldServer
}

func (helloWorldServer) Hello(_ context.Context, name *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return wrapperspb.String("Hello " + name.GetValue()), nil
}

func (helloWorldServer) LotsOfReplies(name *wrapperspb.StringValue, stream helloworldpb.HelloWorld_LotsOfRepliesServer) error {
	for _, greeting := range []string{"Hi", "Hey", "Hello"} {
		if err := stream.Send(wrapperspb.String(greeting + " " + name.GetValue())); err != nil {
			return err
		}
	}
	return nil
}

func (helloWorldServer) LotsOfGreetings(stream helloworldpb.HelloWorld_LotsOfGreetingsServer) error {
	var names []string
	for {
		name, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(wrapperspb.String("Hello " + strings.Join(names, ", ")))
		}
		if err != nil {
			return err
		}
		names = append(names, name.GetValue())
	}
}

func (helloWorldServer) BidiHello(stream helloworldpb.HelloWorld_BidiHelloServer) error {
	for {
		name, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(wrapperspb.String("Hello " + name.GetValue())); err != nil {
			return err
		}
	}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("seed-server: ")
	addr := flag.String("addr", "127.0.0.1:0", "`HOST:PORT` to listen on (port 0: any free port)")
	floodFeatures := flag.Int("flood-features", 0, "if `N` > 0, ListFeatures streams N copies of Feature{name:\"flood\", location:{1, 2}} instead of the database answer")
	routeNotes := flag.String("route-notes", "call", "RouteChat note memory: `call` (each call starts empty) or `server` (notes kept across calls, as in seed 003)")
	flag.Parse()
	if flag.NArg() != 0 {
		log.Fatalf("unexpected arguments: %v", flag.Args())
	}
	if *routeNotes != "call" && *routeNotes != "server" {
		log.Fatalf("--route-notes must be call or server, not %q", *routeNotes)
	}

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen on %s: %v", *addr, err)
	}
	s := grpc.NewServer()
	calculatorpb.RegisterCalculatorServiceServer(s, calculatorServer{})
	greetpb.RegisterGreetServiceServer(s, greetServer{})
	tutorialpb.RegisterNumberServiceServer(s, numberServer{})
	routeguidepb.RegisterRouteGuideServer(s, &routeGuideServer{
		floodFeatures: *floodFeatures,
		sharedNotes:   *routeNotes == "server",
		routeNotes:    make(map[string][]*routeguidepb.RouteNote),
	})
	chatpb.RegisterChatServer(s, chatServer{})
	helloworldpb.RegisterHelloWorldServer(s, helloWorldServer{})
	// Server reflection (v1 and v1alpha on current grpc-go, v1alpha on 1.33), for
	// grpc-replay's --reflect tests.
	reflection.Register(s)

	stopped := make(chan struct{})
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigc
		log.Printf("%v: stopping", sig)
		done := make(chan struct{})
		go func() { s.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			s.Stop() // streams still open: cut them
		}
		close(stopped)
	}()

	// The one line a test harness waits for; os.Stdout is unbuffered.
	fmt.Printf("listening on %s\n", lis.Addr().String())
	os.Stdout.Sync() //nolint:errcheck // fails harmlessly on a pipe

	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
	<-stopped
}
