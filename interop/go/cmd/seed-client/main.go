// Command seed-client makes the seeds' calls to a server of grpc-replay's
// bundled services and checks every reply exactly.
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
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"grpc-replay/interop/go/gen/calculatorpb"
	"grpc-replay/interop/go/gen/chatpb"
	"grpc-replay/interop/go/gen/greetpb"
	"grpc-replay/interop/go/gen/helloworldpb"
	"grpc-replay/interop/go/gen/routeguidepb"
	"grpc-replay/interop/go/gen/tutorialpb"
	"grpc-replay/interop/go/internal/seeds"
)

const (
	callTimeout  = 10 * time.Second
	floodTimeout = 120 * time.Second
)

// ---- reporting ----

type checker struct {
	passed, failed int
}

func (c *checker) pass(name, format string, args ...interface{}) {
	c.passed++
	fmt.Printf("PASS %s: %s\n", name, fmt.Sprintf(format, args...))
}

func (c *checker) fail(name, format string, args ...interface{}) {
	c.failed++
	fmt.Printf("FAIL %s: %s\n", name, fmt.Sprintf(format, args...))
}

// show renders a message on one line, braces included: every populated
// field in declaration order, strings quoted, unknown fields in hex. (Not
// prototext, whose spacing is deliberately unstable.)
func show(m proto.Message) string {
	if m == nil || !m.ProtoReflect().IsValid() {
		return "<nil>"
	}
	var b strings.Builder
	writeMessage(&b, m.ProtoReflect())
	return b.String()
}

func writeMessage(b *strings.Builder, m protoreflect.Message) {
	b.WriteString("{")
	sep := ""
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		b.WriteString(sep + string(fd.Name()) + ":")
		sep = " "
		v := m.Get(fd)
		switch {
		case fd.IsList() || fd.IsMap():
			fmt.Fprintf(b, "%v", v.Interface())
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			writeMessage(b, v.Message())
		case fd.Kind() == protoreflect.StringKind:
			b.WriteString(strconv.Quote(v.String()))
		case fd.Kind() == protoreflect.BytesKind:
			fmt.Fprintf(b, "%q", v.Bytes())
		default:
			fmt.Fprint(b, v.Interface())
		}
	}
	if u := m.GetUnknown(); len(u) > 0 {
		fmt.Fprintf(b, "%sunknown-fields:%x", sep, []byte(u))
	}
	b.WriteString("}")
}

func showAll(ms []proto.Message) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = show(m)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// expectOne checks a single reply (unary or client-streaming call).
func (c *checker) expectOne(name string, got proto.Message, err error, want proto.Message) {
	if err != nil {
		c.fail(name, "RPC error: %v", err)
		return
	}
	if !proto.Equal(got, want) {
		c.fail(name, "got %s, want %s", show(got), show(want))
		return
	}
	c.pass(name, "%s", show(got))
}

// expectStream runs one streaming call the seeds' way: a goroutine sends
// every request and half-closes (send; nil for server streaming), while this
// one receives (recv returns io.EOF at the end), then compares all the
// replies with want.
func (c *checker) expectStream(name string, cancel context.CancelFunc, send func() error, recv func() (proto.Message, error), want []proto.Message) {
	defer cancel()
	sendErr := make(chan error, 1)
	if send != nil {
		go func() { sendErr <- send() }()
	} else {
		sendErr <- nil
	}
	var got []proto.Message
	for {
		m, err := recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.fail(name, "RPC error after %d replies %s: %v", len(got), showAll(got), err)
			return
		}
		got = append(got, m)
	}
	if err := <-sendErr; err != nil && err != io.EOF {
		c.fail(name, "send error: %v", err)
		return
	}
	if len(got) != len(want) {
		c.fail(name, "got %d replies %s, want %d %s", len(got), showAll(got), len(want), showAll(want))
		return
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			c.fail(name, "reply %d is %s, want %s; all replies %s", i, show(got[i]), show(want[i]), showAll(got))
			return
		}
	}
	c.pass(name, "%d replies %s", len(got), showAll(got))
}

func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}

// ---- calculator.CalculatorService/Maximum (seeds 000/001) ----

func checkMaximum(c *checker, conn *grpc.ClientConn) {
	const name = "calculator.CalculatorService/Maximum"
	nums := []int64{4, 5, 8, 1, 2, 6, -7, 89, 5, 2, 100, -7, 5}
	var want []proto.Message
	for _, r := range []int64{4, 5, 8, 89, 100} {
		want = append(want, &calculatorpb.MaximumResponse{Result: r})
	}
	ctx, cancel := callCtx()
	stream, err := calculatorpb.NewCalculatorServiceClient(conn).Maximum(ctx)
	if err != nil {
		cancel()
		c.fail(name, "RPC error: %v", err)
		return
	}
	c.expectStream(name, cancel, func() error {
		for _, n := range nums {
			if err := stream.Send(&calculatorpb.MaximumRequest{Number: n}); err != nil {
				return err
			}
		}
		return stream.CloseSend()
	}, func() (proto.Message, error) { return stream.Recv() }, want)
}

// ---- greet.GreetService/GreetEveryone (seed 001) ----

func checkGreet(c *checker, conn *grpc.ClientConn) {
	const name = "greet.GreetService/GreetEveryone"
	people := [][2]string{{"Stephane", "Maarek"}, {"John", "Doe"}, {"Lucy", "Smith"}, {"Mark", "Twain"}, {"Piper", "Jones"}}
	var want []proto.Message
	for _, p := range people {
		want = append(want, &greetpb.GreetEveryoneResponse{Result: "Hello " + p[0] + "!"})
	}
	ctx, cancel := callCtx()
	stream, err := greetpb.NewGreetServiceClient(conn).GreetEveryone(ctx)
	if err != nil {
		cancel()
		c.fail(name, "RPC error: %v", err)
		return
	}
	c.expectStream(name, cancel, func() error {
		for _, p := range people {
			req := &greetpb.GreetEveryoneRequest{Greeting: &greetpb.Greeting{FirstName: p[0], LastName: p[1]}}
			if err := stream.Send(req); err != nil {
				return err
			}
		}
		return stream.CloseSend()
	}, func() (proto.Message, error) { return stream.Recv() }, want)
}

// ---- tutorial.NumberService/AccumulateNumbers (seed 002) ----

func checkAccumulate(c *checker, conn *grpc.ClientConn) {
	const name = "tutorial.NumberService/AccumulateNumbers"
	var want []proto.Message
	sum := int32(0)
	for i := int32(1); i <= 10; i++ {
		sum += i
		want = append(want, &tutorialpb.NumberResponse{Sum: sum})
	}
	ctx, cancel := callCtx()
	stream, err := tutorialpb.NewNumberServiceClient(conn).AccumulateNumbers(ctx)
	if err != nil {
		cancel()
		c.fail(name, "RPC error: %v", err)
		return
	}
	c.expectStream(name, cancel, func() error {
		for i := int32(1); i <= 10; i++ {
			if err := stream.Send(&tutorialpb.NumberRequest{Num: i}); err != nil {
				return err
			}
		}
		return stream.CloseSend()
	}, func() (proto.Message, error) { return stream.Recv() }, want)
}

// ---- routeguide.RouteGuide (seed 003) ----

func pt(lat, lng int32) *routeguidepb.Point {
	return &routeguidepb.Point{Latitude: lat, Longitude: lng}
}

// routePoints is what RecordRoute sends: four of them hit a DB feature.
var routePoints = []*routeguidepb.Point{
	pt(407838351, -746143763), // Patriots Path
	pt(408122808, -743999179), // Whippany
	pt(409146138, -746188906), // not in the DB
	pt(413628156, -749015468), // Shohola
	pt(413628156, -749015468), // Shohola again (counts again, adds 0 m)
	pt(410000000, -740000000), // not in the DB
}

// routeDistance is the sum of grpc-go's per-segment int32(haversine metres)
// over routePoints; seeds.CalcDistance must agree (checked at start-up).
const routeDistance = 18327 + 21646 + 55173 + 0 + 85557 // = 180703

func checkRouteGuide(c *checker, conn *grpc.ClientConn) {
	client := routeguidepb.NewRouteGuideClient(conn)

	// GetFeature on a DB point, then on a point with no feature.
	for _, tc := range []struct {
		point *routeguidepb.Point
		want  *routeguidepb.Feature
	}{
		{pt(408122808, -743999179), seeds.DB[1].Proto()},
		{pt(0, 0), &routeguidepb.Feature{Name: "", Location: pt(0, 0)}},
	} {
		ctx, cancel := callCtx()
		got, err := client.GetFeature(ctx, tc.point)
		cancel()
		c.expectOne(fmt.Sprintf("routeguide.RouteGuide/GetFeature (%d,%d)", tc.point.GetLatitude(), tc.point.GetLongitude()), got, err, tc.want)
	}

	// ListFeatures on a rectangle holding the whole DB.
	{
		const name = "routeguide.RouteGuide/ListFeatures"
		rect := &routeguidepb.Rectangle{Lo: pt(400000000, -750000000), Hi: pt(420000000, -730000000)}
		var want []proto.Message
		for _, f := range seeds.DB {
			want = append(want, f.Proto())
		}
		ctx, cancel := callCtx()
		stream, err := client.ListFeatures(ctx, rect)
		if err != nil {
			cancel()
			c.fail(name, "RPC error: %v", err)
		} else {
			c.expectStream(name, cancel, nil, func() (proto.Message, error) { return stream.Recv() }, want)
		}
	}

	// RecordRoute over routePoints.
	{
		const name = "routeguide.RouteGuide/RecordRoute"
		want := &routeguidepb.RouteSummary{PointCount: 6, FeatureCount: 4, Distance: routeDistance, ElapsedTime: 0}
		ctx, cancel := callCtx()
		got, err := func() (*routeguidepb.RouteSummary, error) {
			stream, err := client.RecordRoute(ctx)
			if err != nil {
				return nil, err
			}
			for _, p := range routePoints {
				if err := stream.Send(p); err != nil && err != io.EOF {
					return nil, err
				} else if err == io.EOF {
					break // the server ended the call: CloseAndRecv has its status
				}
			}
			return stream.CloseAndRecv()
		}()
		cancel()
		c.expectOne(name, got, err, want)
	}

	// RouteChat with seed 003's six notes: after each note, every note at
	// its location so far, the new one included.
	{
		const name = "routeguide.RouteGuide/RouteChat"
		note := func(lng int32, msg string) *routeguidepb.RouteNote {
			return &routeguidepb.RouteNote{Location: pt(0, lng), Message: msg}
		}
		notes := []*routeguidepb.RouteNote{
			note(1, "First message"), note(2, "Second message"), note(3, "Third message"),
			note(1, "Fourth message"), note(2, "Fifth message"), note(3, "Sixth message"),
		}
		want := []proto.Message{
			notes[0], notes[1], notes[2],
			notes[0], notes[3], notes[1], notes[4], notes[2], notes[5],
		}
		ctx, cancel := callCtx()
		stream, err := client.RouteChat(ctx)
		if err != nil {
			cancel()
			c.fail(name, "RPC error: %v", err)
		} else {
			c.expectStream(name, cancel, func() error {
				for _, n := range notes {
					if err := stream.Send(n); err != nil {
						return err
					}
				}
				return stream.CloseSend()
			}, func() (proto.Message, error) { return stream.Recv() }, want)
		}
	}
}

// ---- Chat/chat (seed 004) ----

func checkChat(c *checker, conn *grpc.ClientConn) {
	const name = "Chat/chat"
	msgs := []*chatpb.ChatMessage{
		{Name: "Sam", Message: "Hi"},
		{Name: "Ann", Message: "Hey"},
		{Name: "John", Message: "Hello"},
	}
	want := []proto.Message{wrapperspb.String("Sam: Hi"), wrapperspb.String("Ann: Hey"), wrapperspb.String("John: Hello")}
	ctx, cancel := callCtx()
	stream, err := chatpb.NewChatClient(conn).Chat(ctx)
	if err != nil {
		cancel()
		c.fail(name, "RPC error: %v", err)
		return
	}
	c.expectStream(name, cancel, func() error {
		for _, m := range msgs {
			if err := stream.Send(m); err != nil {
				return err
			}
		}
		return stream.CloseSend()
	}, func() (proto.Message, error) { return stream.Recv() }, want)
}

// ---- HelloWorld (Ballerina's HelloWorld examples) ----

func checkHello(c *checker, conn *grpc.ClientConn) {
	client := helloworldpb.NewHelloWorldClient(conn)
	s := wrapperspb.String

	{
		ctx, cancel := callCtx()
		got, err := client.Hello(ctx, s("Ballerina"))
		cancel()
		c.expectOne("HelloWorld/hello", got, err, s("Hello Ballerina"))
	}
	{
		const name = "HelloWorld/lotsOfReplies"
		ctx, cancel := callCtx()
		stream, err := client.LotsOfReplies(ctx, s("Ballerina"))
		if err != nil {
			cancel()
			c.fail(name, "RPC error: %v", err)
		} else {
			c.expectStream(name, cancel, nil, func() (proto.Message, error) { return stream.Recv() },
				[]proto.Message{s("Hi Ballerina"), s("Hey Ballerina"), s("Hello Ballerina")})
		}
	}
	{
		const name = "HelloWorld/lotsOfGreetings"
		ctx, cancel := callCtx()
		got, err := func() (*wrapperspb.StringValue, error) {
			stream, err := client.LotsOfGreetings(ctx)
			if err != nil {
				return nil, err
			}
			for _, n := range []string{"Bob", "Alice", "Eve"} {
				if err := stream.Send(s(n)); err == io.EOF {
					break // the server ended the call: CloseAndRecv has its status
				} else if err != nil {
					return nil, err
				}
			}
			return stream.CloseAndRecv()
		}()
		cancel()
		c.expectOne(name, got, err, s("Hello Bob, Alice, Eve"))
	}
	{
		const name = "HelloWorld/bidiHello"
		ctx, cancel := callCtx()
		stream, err := client.BidiHello(ctx)
		if err != nil {
			cancel()
			c.fail(name, "RPC error: %v", err)
		} else {
			c.expectStream(name, cancel, func() error {
				for _, n := range []string{"Sam", "Ann", "John"} {
					if err := stream.Send(s(n)); err != nil {
						return err
					}
				}
				return stream.CloseSend()
			}, func() (proto.Message, error) { return stream.Recv() },
				[]proto.Message{s("Hello Sam"), s("Hello Ann"), s("Hello John")})
		}
	}
}

// ---- flood mode ----

// floodGreeting is what the greet flood sends, floodGreetingReply what it
// expects back, every time: equal replies, so that a grpc-replay scenario
// can check each of them with one `repeat:` step.
var (
	floodGreeting      = &greetpb.GreetEveryoneRequest{Greeting: &greetpb.Greeting{FirstName: "Flo"}}
	floodGreetingReply = &greetpb.GreetEveryoneResponse{Result: "Hello Flo!"}
)

// pipelineBidi plays one flood on a bidi stream: a goroutine sends request(i)
// for i = 1..n without waiting for replies, then half-closes, while this one
// receives until io.EOF and checks reply i (1-based) with check. It fails
// unless exactly n replies came and all passed their check.
func pipelineBidi(n int, stream grpc.ClientStream, request func(i int) proto.Message, recv func() (proto.Message, error), check func(i int, reply proto.Message) error) error {
	sendErr := make(chan error, 1)
	go func() {
		for i := 1; i <= n; i++ {
			if err := stream.SendMsg(request(i)); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- stream.CloseSend()
	}()
	got := 0
	for {
		reply, err := recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("RPC error after %d replies: %v", got, err)
		}
		got++
		if err := check(got, reply); err != nil {
			return err
		}
	}
	if err := <-sendErr; err != nil && err != io.EOF {
		return fmt.Errorf("send error: %v", err)
	}
	if got != n {
		return fmt.Errorf("got %d replies, want %d", got, n)
	}
	return nil
}

// floodAccumulate sends NumberRequest{num: 1} n times without waiting for
// replies, half-closes, and checks the n running sums 1..n in order.
func floodAccumulate(conn *grpc.ClientConn, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), floodTimeout)
	defer cancel()
	stream, err := tutorialpb.NewNumberServiceClient(conn).AccumulateNumbers(ctx)
	if err != nil {
		return fmt.Errorf("RPC error: %v", err)
	}
	req := &tutorialpb.NumberRequest{Num: 1}
	return pipelineBidi(n, stream,
		func(int) proto.Message { return req },
		func() (proto.Message, error) { return stream.Recv() },
		func(i int, reply proto.Message) error {
			if sum := reply.(*tutorialpb.NumberResponse).GetSum(); sum != int32(i) {
				return fmt.Errorf("reply %d has sum %d, want %d", i, sum, i)
			}
			return nil
		})
}

// floodMaximum sends 1..n without waiting and checks the replies 1..n.
func floodMaximum(conn *grpc.ClientConn, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), floodTimeout)
	defer cancel()
	stream, err := calculatorpb.NewCalculatorServiceClient(conn).Maximum(ctx)
	if err != nil {
		return fmt.Errorf("RPC error: %v", err)
	}
	return pipelineBidi(n, stream,
		func(i int) proto.Message { return &calculatorpb.MaximumRequest{Number: int64(i)} },
		func() (proto.Message, error) { return stream.Recv() },
		func(i int, reply proto.Message) error {
			if result := reply.(*calculatorpb.MaximumResponse).GetResult(); result != int64(i) {
				return fmt.Errorf("reply %d has result %d, want %d", i, result, i)
			}
			return nil
		})
}

// floodGreet sends floodGreeting n times without waiting, half-closes, and
// checks that each of the n replies is floodGreetingReply.
func floodGreet(conn *grpc.ClientConn, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), floodTimeout)
	defer cancel()
	stream, err := greetpb.NewGreetServiceClient(conn).GreetEveryone(ctx)
	if err != nil {
		return fmt.Errorf("RPC error: %v", err)
	}
	return pipelineBidi(n, stream,
		func(int) proto.Message { return floodGreeting },
		func() (proto.Message, error) { return stream.Recv() },
		func(i int, reply proto.Message) error {
			if !proto.Equal(reply, floodGreetingReply) {
				return fmt.Errorf("reply %d is %s, want %s", i, show(reply), show(floodGreetingReply))
			}
			return nil
		})
}

// floodListFeatures asks ListFeatures of a server started with
// --flood-features n and checks that exactly n flood features arrive.
func floodListFeatures(conn *grpc.ClientConn, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), floodTimeout)
	defer cancel()
	rect := &routeguidepb.Rectangle{Lo: pt(400000000, -750000000), Hi: pt(420000000, -730000000)}
	stream, err := routeguidepb.NewRouteGuideClient(conn).ListFeatures(ctx, rect)
	if err != nil {
		return fmt.Errorf("RPC error: %v", err)
	}
	want := &routeguidepb.Feature{Name: "flood", Location: pt(1, 2)}
	got := 0
	for {
		f, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("RPC error after %d replies: %v", got, err)
		}
		got++
		if !proto.Equal(f, want) {
			return fmt.Errorf("reply %d is %s, want %s (is the server running with --flood-features?)", got, show(f), show(want))
		}
	}
	if got != n {
		return fmt.Errorf("got %d replies, want %d", got, n)
	}
	return nil
}

func runFlood(conn *grpc.ClientConn, service string, n, streams int) bool {
	one := floodAccumulate
	switch service {
	case "maximum":
		one = floodMaximum
	case "greet":
		one = floodGreet
	case "routeguide":
		one = floodListFeatures
	}
	start := time.Now()
	errs := make([]error, streams)
	var wg sync.WaitGroup
	for i := 0; i < streams; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = one(conn, n)
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	ok := true
	for i, err := range errs {
		if err != nil {
			ok = false
			fmt.Printf("FAIL flood %s stream %d of %d: %v\n", service, i+1, streams, err)
		}
	}
	if !ok {
		return false
	}
	fmt.Printf("flood: %d streams x %d messages ok in %v\n", streams, n, elapsed.Round(time.Millisecond))
	return true
}

func main() {
	addr := flag.String("addr", "", "server `HOST:PORT` (required)")
	service := flag.String("service", "all", "`SERVICE` to check: maximum, greet, accumulate, routeguide, chat, hello or all")
	flood := flag.Int("flood", 0, "flood mode, `N` messages per stream: accumulate sends N x {num:1} pipelined and expects sums 1..N; maximum sends 1..N and expects 1..N; greet sends N x {greeting:{first_name:\"Flo\"}} pipelined and expects N x {result:\"Hello Flo!\"}; routeguide calls ListFeatures and expects N flood features (server run with --flood-features N)")
	streams := flag.Int("streams", 1, "flood mode: run `K` flood streams at once on one connection")
	flag.Parse()

	usage := func(format string, args ...interface{}) {
		fmt.Fprintf(os.Stderr, "seed-client: "+format+"\n", args...)
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() != 0 {
		usage("unexpected arguments: %v", flag.Args())
	}
	if *addr == "" {
		usage("--addr is required")
	}
	checks := map[string]func(*checker, *grpc.ClientConn){
		"maximum":    checkMaximum,
		"greet":      checkGreet,
		"accumulate": checkAccumulate,
		"routeguide": checkRouteGuide,
		"chat":       checkChat,
		"hello":      checkHello,
	}
	order := []string{"maximum", "greet", "accumulate", "routeguide", "chat", "hello"}
	if _, ok := checks[*service]; !ok && *service != "all" {
		usage("unknown --service %q", *service)
	}
	if *flood < 0 || *streams < 1 {
		usage("--flood must be >= 0 and --streams >= 1")
	}
	if *flood > 0 && *service != "accumulate" && *service != "maximum" && *service != "greet" && *service != "routeguide" {
		usage("--flood needs --service accumulate, maximum, greet or routeguide")
	}
	if *flood == 0 && *streams != 1 {
		usage("--streams needs --flood")
	}

	// Self-check: the expected RecordRoute distance is grpc-go's arithmetic.
	var d int32
	for i := 1; i < len(routePoints); i++ {
		d += seeds.CalcDistance(routePoints[i-1], routePoints[i])
	}
	if d != routeDistance {
		fmt.Fprintf(os.Stderr, "seed-client: internal error: route distance %d, constant %d\n", d, routeDistance)
		os.Exit(3)
	}

	conn, err := grpc.Dial(*addr, grpc.WithInsecure())
	if err != nil {
		fmt.Printf("FAIL dial %s: %v\n", *addr, err)
		os.Exit(1)
	}
	defer conn.Close()

	if *flood > 0 {
		if !runFlood(conn, *service, *flood, *streams) {
			conn.Close()
			os.Exit(1)
		}
		return
	}

	c := &checker{}
	for _, name := range order {
		if *service == "all" || *service == name {
			checks[name](c, conn)
		}
	}
	if c.failed > 0 {
		fmt.Printf("FAILED: %d of %d checks failed against %s\n", c.failed, c.passed+c.failed, *addr)
		conn.Close()
		os.Exit(1)
	}
	fmt.Printf("OK: all %d checks passed against %s\n", c.passed, *addr)
}
