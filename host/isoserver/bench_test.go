package isoserver

import (
	"fmt"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/moov-io/iso8583"
	"testing"
)

// BenchmarkRoundTrip measures authorizations through TCP: 0100 in, fake
// engine approval, 0110 out, with several connections each keeping a
// window of requests in flight. It reports auths/s and the p50/p99 round
// trip.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bc := range []struct{ conns, window int }{{1, 1}, {4, 32}} {
		b.Run(fmt.Sprintf("conns=%d/window=%d", bc.conns, bc.window), func(b *testing.B) {
			benchRoundTrip(b, bc.conns, bc.window)
		})
	}
}

func benchRoundTrip(b *testing.B, conns, window int) {
	ts := startServer(b, Config{}, approveAll())
	terminaltest.RoundTrips(b, ts.addr, conns, window, func(stan string) *iso8583.Message { return authMessage(stan, "000000001000") })
}
