package isoserver

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/iso"
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
	// One packed 0100 per STAN slot, so the loop measures the server.
	const stans = 1 << 16
	msgs := make([][]byte, stans)
	for i := range msgs {
		m := authMessage(fmt.Sprintf("%06d", i), "000000001000")
		p, err := iso.Pack(m)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i], _ = iso.AppendFrame(nil, p)
	}

	per := (b.N + conns - 1) / conns
	latencies := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for ci := range conns {
		wg.Go(func() {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer nc.Close()
			sent := make([]time.Time, stans)
			lat := make([]time.Duration, 0, per)
			sem := make(chan struct{}, window)
			done := make(chan struct{})
			go func() {
				defer close(done)
				br := bufio.NewReader(nc)
				for range per {
					msg, err := iso.ReadFrame(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					// STAN at a fixed offset would be faster; unpacking keeps
					// the client honest about the response format.
					m, err := iso.Unpack(msg)
					if err != nil {
						b.Error(err)
						return
					}
					stan, _ := strconv.Atoi(str(m, iso.FieldSTAN))
					lat = append(lat, time.Since(sent[stan]))
					<-sem
				}
			}()
			for i := range per {
				sem <- struct{}{}
				slot := i % stans
				sent[slot] = time.Now()
				if _, err := nc.Write(msgs[slot]); err != nil {
					b.Error(err)
					break
				}
			}
			<-done
			latencies[ci] = lat
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	all := slices.Concat(latencies...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "auths/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}
