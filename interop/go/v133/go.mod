module grpc-replay/interop/go/v133

go 1.24

tool google.golang.org/grpc/interop/client

require (
	cloud.google.com/go v0.26.0 // indirect
	github.com/golang/protobuf v1.4.1 // indirect
	github.com/google/go-cmp v0.5.0 // indirect
	golang.org/x/net v0.0.0-20190311183353-d8887717615a // indirect
	golang.org/x/oauth2 v0.0.0-20180821212333-d2e6202438be // indirect
	golang.org/x/sys v0.0.0-20190215142949-d0b11bdaac8a // indirect
	golang.org/x/text v0.3.0 // indirect
	google.golang.org/appengine v1.4.0 // indirect
	google.golang.org/genproto v0.0.0-20200526211855-cb27e3aa2013 // indirect
	google.golang.org/grpc v1.33.3 // indirect
	google.golang.org/protobuf v1.25.0 // indirect
)
