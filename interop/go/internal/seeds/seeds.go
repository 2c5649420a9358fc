// Package seeds holds what the seed server and the seed client share: the
// RouteGuide feature database and grpc-go's route_guide arithmetic.
//
// This package must build with Go 1.19 and the generated code of grpc-go
// 1.33.3 (Debian bookworm) as well as with the current Go and grpc-go: no
// generics, nothing from the standard library newer than Go 1.19.
package seeds

import (
	"fmt"
	"math"

	pb "grpc-replay/interop/go/gen/routeguidepb"
)

// Feature is one entry of the fixed RouteGuide database.
type Feature struct {
	Name      string
	Latitude  int32
	Longitude int32
}

// DB is the fixed RouteGuide database, in the order ListFeatures streams it.
var DB = []Feature{
	{"Patriots Path, Mendham, NJ 07945, USA", 407838351, -746143763},
	{"101 New Jersey 10, Whippany, NJ 07981, USA", 408122808, -743999179},
	{"U.S. 6, Shohola, PA 18458, USA", 413628156, -749015468},
}

// Proto returns the feature as a message (a fresh one on every call).
func (f Feature) Proto() *pb.Feature {
	return &pb.Feature{Name: f.Name, Location: &pb.Point{Latitude: f.Latitude, Longitude: f.Longitude}}
}

// At reports the feature at exactly this point, if the database has one.
func At(p *pb.Point) (Feature, bool) {
	for _, f := range DB {
		if f.Latitude == p.GetLatitude() && f.Longitude == p.GetLongitude() {
			return f, true
		}
	}
	return Feature{}, false
}

// InRange is grpc-go's route_guide inRange: the rectangle's corners may be
// given in any order, and its edges are inside.
func InRange(p *pb.Point, rect *pb.Rectangle) bool {
	left := math.Min(float64(rect.GetLo().GetLongitude()), float64(rect.GetHi().GetLongitude()))
	right := math.Max(float64(rect.GetLo().GetLongitude()), float64(rect.GetHi().GetLongitude()))
	top := math.Max(float64(rect.GetLo().GetLatitude()), float64(rect.GetHi().GetLatitude()))
	bottom := math.Min(float64(rect.GetLo().GetLatitude()), float64(rect.GetHi().GetLatitude()))
	lng := float64(p.GetLongitude())
	lat := float64(p.GetLatitude())
	return lng >= left && lng <= right && lat >= bottom && lat <= top
}

func toRadians(num float64) float64 {
	return num * math.Pi / float64(180)
}

// CalcDistance is grpc-go's route_guide calcDistance: the haversine distance
// in metres between two E7 points, truncated to an int32. RecordRoute sums
// these per-segment values.
func CalcDistance(p1, p2 *pb.Point) int32 {
	const cordFactor float64 = 1e7
	const r = float64(6371000) // earth radius in metres
	lat1 := toRadians(float64(p1.GetLatitude()) / cordFactor)
	lat2 := toRadians(float64(p2.GetLatitude()) / cordFactor)
	lng1 := toRadians(float64(p1.GetLongitude()) / cordFactor)
	lng2 := toRadians(float64(p2.GetLongitude()) / cordFactor)
	dlat := lat2 - lat1
	dlng := lng2 - lng1

	a := math.Sin(dlat/2)*math.Sin(dlat/2) +
		math.Cos(lat1)*math.Cos(lat2)*
			math.Sin(dlng/2)*math.Sin(dlng/2)
	c := 2 * math.Atan2(math.Sqrt(a), math.Sqrt(1-a))

	distance := r * c
	return int32(distance)
}

// Key is grpc-go's route_guide serialize: the map key of a location.
func Key(p *pb.Point) string {
	return fmt.Sprintf("%d %d", p.GetLatitude(), p.GetLongitude())
}
