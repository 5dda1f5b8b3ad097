package isoserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/host"
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

// BenchmarkProcess measures the server's own work on one message, without
// TCP: unpacking the golden chip 0100, decoding it into a host.Request,
// the fingerprint, and building and packing the 0110 (approval code,
// balance and field 55 from a fake engine that answers at once).
func BenchmarkProcess(b *testing.B) {
	arpc := []byte{0x91, 0x0A, 0x5A, 0x0B, 0xD3, 0x6C, 0xB6, 0xC6, 0xE3, 0xB9, 0x30, 0x30}
	engine := &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		return &host.Response{
			Decision: host.Approve, Amount: req.Amount, ApprovalCode: "A1B2C3", ICC: arpc,
			Balances: []host.Balance{{AccountType: "00", AmountType: "02", Currency: "840", Amount: 150000}},
		}, nil
	}}
	received := time.Date(2025, 6, 21, 14, 30, 5, 0, time.UTC)
	s, err := New(Config{FingerprintKey: make([]byte, 32), Now: func() time.Time { return received }}, engine, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	msg := golden(b, "0100_chip")
	b.ReportAllocs()
	for b.Loop() {
		if out, _, code := s.process(msg, received, "bench"); out == nil || code != "00" {
			b.Fatalf("answered %q", code)
		}
	}
}
