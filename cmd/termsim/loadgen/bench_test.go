package loadgen

import (
	"context"
	"fmt"
	"github.com/moov-io/iso8583"
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
			terminaltest.RoundTrips(b, s.Addr().String(), bc.conns, bc.window, func(stan string) *iso8583.Message {
				m := iso.NewMessage("0100")
				for id, v := range map[int]string{
					2: "4761739001010010", 3: "000000", 4: "000000001000", 7: "0621120000",
					11: stan, 12: "120000", 13: "0621", 14: "2512", 18: "5411",
					22: "901", 32: "123456", 35: "4761739001010010=25122011234567800000",
					37: "000000" + stan, 41: "TERM0001", 42: "MERCHANT0000001",
					49: "840", 52: "8B2E61A2D1C4F3E0",
				} {
					_ = m.Field(id, v)
				}
				return m
			})
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
