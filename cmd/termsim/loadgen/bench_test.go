package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso"
)

// BenchmarkBareServer measures 0100/0110 round trips through a BareServer
// with the same client shape as host/isoserver's BenchmarkRoundTrip, so
// that the two can be compared (the host should reach about half the
// bare server's throughput).
func BenchmarkBareServer(b *testing.B) {
	for _, bc := range []struct{ conns, window int }{{1, 1}, {4, 32}} {
		b.Run(fmt.Sprintf("conns=%d/window=%d", bc.conns, bc.window), func(b *testing.B) {
			s := startBare(b)
			const stans = 1 << 16
			msgs := make([][]byte, stans)
			for i := range msgs {
				m := iso.NewMessage("0100")
				for id, v := range map[int]string{
					2: "4761739001010010", 3: "000000", 4: "000000001000", 7: "0621120000",
					11: fmt.Sprintf("%06d", i), 12: "120000", 13: "0621", 14: "2512", 18: "5411",
					22: "901", 32: "123456", 35: "4761739001010010=25122011234567800000",
					37: "000000" + fmt.Sprintf("%06d", i), 41: "TERM0001", 42: "MERCHANT0000001",
					49: "840", 52: "8B2E61A2D1C4F3E0",
				} {
					_ = m.Field(id, v)
				}
				p, err := iso.Pack(m)
				if err != nil {
					b.Fatal(err)
				}
				msgs[i], _ = iso.AppendFrame(nil, p)
			}
			per := (b.N + bc.conns - 1) / bc.conns
			lats := make([][]time.Duration, bc.conns)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for ci := range bc.conns {
				wg.Go(func() {
					nc, err := net.Dial("tcp", s.Addr().String())
					if err != nil {
						b.Error(err)
						return
					}
					defer nc.Close()
					sent := make([]time.Time, stans)
					lat := make([]time.Duration, 0, per)
					sem := make(chan struct{}, bc.window)
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
							m, err := iso.Unpack(msg)
							if err != nil {
								b.Error(err)
								return
							}
							stan, _ := m.GetString(iso.FieldSTAN)
							n, _ := strconv.Atoi(stan)
							lat = append(lat, time.Since(sent[n]))
							<-sem
						}
					}()
					for i := range per {
						sem <- struct{}{}
						sent[i%stans] = time.Now()
						if _, err := nc.Write(msgs[i%stans]); err != nil {
							b.Error(err)
							break
						}
					}
					<-done
					lats[ci] = lat
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lats...)
			if len(all) == 0 {
				return
			}
			slices.Sort(all)
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "auths/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkClientEcho measures Client.Echo round trips against a
// BareServer (one at a time).
func BenchmarkClientEcho(b *testing.B) {
	s := startBare(b)
	c := terminaltest.Dial(b, s.Addr().String())
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Echo(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientCost measures what the simulator itself spends per
// authorization, without the network: building a chip purchase (the ARQC
// included) and packing it, then reading and checking an answer (the ARPC
// included). It is the client's share of the CPU a load run takes from a
// host on the same machine.
func BenchmarkClientCost(b *testing.B) {
	card := terminaltest.Card(b, "VISA", 18)
	term, err := terminal.NewTerminal(terminal.TerminalConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("build+pack chip purchase", func(b *testing.B) {
		_ = card.SetATC(0)
		for i := 0; b.Loop(); i++ {
			if i%60000 == 0 {
				_ = card.SetATC(0)
			}
			tx, err := term.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryChip})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := iso.Pack(tx.Msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unpack+check answer", func(b *testing.B) {
		_ = card.SetATC(0)
		tx, err := term.Purchase(card, 1000, terminal.TxnOptions{Entry: terminal.EntryChip})
		if err != nil {
			b.Fatal(err)
		}
		mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(b, terminaltest.IMK), card.PAN.Reveal(), "01")
		resp := iso.NewMessage("0110")
		for _, id := range []int{2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49} {
			v, _ := tx.Msg.GetString(id)
			_ = resp.Field(id, v)
		}
		_ = resp.Field(iso.FieldApprovalCode, "A1B2C3")
		_ = resp.Field(iso.FieldResponseCode, "00")
		_ = resp.BinaryField(iso.FieldICC, terminaltest.IssuerAnswer(b, tx.Chip, mk, iso.Approved))
		packed, err := iso.Pack(resp)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			m, err := iso.Unpack(packed)
			if err != nil {
				b.Fatal(err)
			}
			if r := terminal.Evaluate(tx, m); !r.OK() || r.ARPC.Status != terminal.ARPCValid {
				b.Fatalf("answer %v", r.Problems)
			}
		}
	})
}

// BenchmarkDoBare measures full round trips of chip purchases through the
// Client against a BareServer, 32 in flight on one connection, and reports
// auths/s: the ceiling a load run can reach on this machine.
func BenchmarkDoBare(b *testing.B) {
	s := startBare(b)
	c := terminaltest.Dial(b, s.Addr().String())
	cards := loadCards(b, 64)
	pool := make(chan *terminal.Card, len(cards))
	for _, cd := range cards {
		pool <- cd
	}
	term, err := terminal.NewTerminal(terminal.TerminalConfig{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(32)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cd := <-pool
			if cd.ATC() > terminal.MaxATC-10 {
				_ = cd.SetATC(0)
			}
			tx, err := term.Purchase(cd, 1000, terminal.TxnOptions{Entry: terminal.EntryChip})
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := c.Do(context.Background(), tx); err != nil {
				b.Error(err)
				return
			}
			pool <- cd
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "auths/s")
}
