package host_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance"
)

// latencies collects per-operation durations and reports percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	if len(l.d) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "auths/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// memLedger is an in-memory host.Ledger for the pipeline benchmark: it
// applies commits like ch_commit_group (version check, record insert) without I/O.
type memLedger struct {
	mu    sync.Mutex
	cards map[string]*host.Card
	keys  map[string]*host.Authorization
}

func (m *memLedger) CardByPANIndex(_ context.Context, idxs [][]byte) (*host.Card, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.cards {
		for _, idx := range idxs {
			if string(c.PANIndex) == string(idx) {
				cp := *c
				return &cp, nil
			}
		}
	}
	return nil, host.ErrNotFound
}
func (m *memLedger) Reindex(context.Context, string, []byte, []byte) error { return nil }
func (m *memLedger) CardByID(_ context.Context, id string) (*host.Card, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := *m.cards[id]
	return &cp, nil
}
func (m *memLedger) AuthorizationByKey(_ context.Context, k string) (*host.Authorization, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.keys[k]; ok {
		return a, nil
	}
	return nil, host.ErrNotFound
}
func (m *memLedger) FindOriginal(context.Context, host.OriginalQuery) (*host.Authorization, error) {
	return nil, host.ErrNotFound
}
func (m *memLedger) Acquirers(context.Context) ([]host.Acquirer, error) { return nil, nil }
func (m *memLedger) Commit(_ context.Context, c *host.Commit) (host.CommitOutcome, *host.Authorization, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.keys[c.Record.MatchKey]; ok {
		return host.CommitDuplicate, a, nil
	}
	card := m.cards[c.CardID]
	if card.Version != c.CardVersion {
		return host.CommitStale, nil, nil
	}
	if c.State != nil {
		card.State = *c.State
		card.Version++
	}
	m.keys[c.Record.MatchKey] = c.Record
	return host.CommitDone, nil, nil
}

// BenchmarkPipeline decides e-commerce authorizations with CVV2 in memory:
// format, look-up (cached), status ... spending, with the real software HSM
// (warm key cache) and a ledger without I/O. It measures the host's own CPU
// cost per decision.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	mk := filepath.Join(b.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(mk, nil); err != nil {
		b.Fatal(err)
	}
	h, err := softhsm.New(softhsm.Config{MasterKeyFile: mk}, softhsm.NewMemStore())
	if err != nil {
		b.Fatal(err)
	}
	idxKey, _ := h.GenerateKey(ctx, softhsm.KeyRequest{Type: emv.KeyPANIDX})
	cvk, err := h.ImportComponents(ctx, softhsm.ImportRequest{KeyRequest: softhsm.KeyRequest{Type: emv.KeyCVK, Spec: emv.KeySpecTDES2},
		Components: []emv.SecretBytes{append([]byte(nil), clearCVK...), make([]byte, 16)}, KCV: kcvHex(b, clearCVK)})
	if err != nil {
		b.Fatal(err)
	}
	const cards = 64
	led := &memLedger{cards: map[string]*host.Card{}, keys: map[string]*host.Authorization{}}
	pans := make([]string, cards)
	for i := range pans {
		pans[i] = luhnComplete("40000099" + string(rune('0'+i/10)) + string(rune('0'+i%10)) + "12345")
		idx, _ := h.IndexPAN(ctx, idxKey.Ref, emv.PAN(pans[i]))
		id := issuance.NewID(issuance.CardIDPrefix, time.Now())
		led.cards[id] = &host.Card{Card: issuance.Card{ID: id, TenantID: "ten_x", Status: issuance.StatusActive, Currency: "USD",
			Expiry: "3012", Network: issuance.NetworkVisa, CVKRef: cvk.Ref, PANIndex: idx, UsageType: issuance.UsageNormal,
			SpendingControls: []issuance.SpendingControl{{Amount: p64(1 << 60), Interval: issuance.Daily}}},
			State: host.State{Spend: map[string]host.Counter{}, LastATC: -1}}
	}
	cvv2s := make([]string, cards)
	for i, pan := range pans {
		v, _ := emv.GenerateCVV2(clearCVK, pan, "3012")
		cvv2s[i] = v.Reveal()
	}
	eng, err := host.New(host.Config{PANIndexRef: idxKey.Ref}, led, h, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	var lat latencies
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			k := int(i % cards)
			req := &host.Request{MTI: "0100", Kind: host.KindAuthorization, PAN: emv.PAN(pans[k]), ProcessingCode: "000000",
				Amount: 100, Currency: "840", TransmissionTime: "1122120000", STAN: stan6(i), MCC: "5411", Country: "840",
				EntryMode: "812", Expiry: "3012", AcquirerID: "1", RRN: "BENCH" + stan6(i), Terminal: "T1", CVV2: emv.CVV(cvv2s[k])}
			t0 := time.Now()
			resp, err := eng.Decide(ctx, req)
			lat.add(time.Since(t0))
			if err != nil || resp.Code != "00" {
				b.Fatalf("decide: %v %+v", err, resp)
			}
		}
	})
	lat.report(b, time.Since(start))
}

func stan6(i int64) string {
	const digits = "0123456789"
	var b [6]byte
	for j := 5; j >= 0; j-- {
		b[j] = digits[i%10]
		i /= 10
	}
	return string(b[:])
}

func kcvHex(tb testing.TB, key []byte) string {
	k, err := emv.KCV(emv.AlgorithmTDES, key)
	if err != nil {
		tb.Fatal(err)
	}
	return emv.EncodeHex(k)
}

// BenchmarkAuthorizationTCPPostgres measures complete authorizations: TCP,
// unpack, look-up, CVV2 through the HSM, the PostgreSQL commit (with fsync
// as the server is configured) and the outbox row, 64 in flight over 4
// connections on 64 cards.
func BenchmarkAuthorizationTCPPostgres(b *testing.B) {
	e := newHostEnv(b)
	const cards = 64
	tc := make([]testCard, cards)
	for i := range tc {
		tc[i] = e.newCard(cardOpts{})
	}
	clients := make([]*hostClient, 4)
	for i := range clients {
		clients[i] = &hostClient{c: e.dial()}
	}
	msgs := make(chan int, 64)
	var lat latencies
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range msgs {
				card := tc[i%cards]
				m := e.build(card, msg{amount: 100, cvv2: cvv2(e.t, card), terminal: "BENCH001"})
				t0 := time.Now()
				a := e.send(clients[i%len(clients)].c, m)
				lat.add(time.Since(t0))
				if a.code != "00" {
					b.Errorf("answer %s", a.code)
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		msgs <- i
	}
	close(msgs)
	wg.Wait()
	lat.report(b, time.Since(start))
	reportSteps(b, e.reg)
}

// reportSteps reports the mean time of each step of an authorization —
// unpack, card look-up, the pipeline steps, the ledger commit, pack and
// write — from the server's metrics, so a regression shows in which step.
func reportSteps(b *testing.B, reg *prometheus.Registry) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil || h.GetSampleCount() == 0 {
				continue
			}
			name := ""
			switch mf.GetName() {
			case "cardhost_iso_unpack_duration_seconds":
				name = "unpack"
			case "cardhost_iso_pack_duration_seconds":
				name = "pack"
			case "cardhost_iso_write_duration_seconds":
				name = "write"
			case "cardhost_host_step_duration_seconds":
				for _, l := range m.GetLabel() {
					if l.GetName() == "step" {
						name = l.GetValue()
					}
				}
			}
			if name != "" {
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount())*1e6, name+"-µs")
			}
		}
	}
}

func (m *memLedger) CommitLocked(ctx context.Context, id string, decide func(*host.Card) (*host.Commit, error)) (host.CommitOutcome, *host.Authorization, error) {
	card, err := m.CardByID(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	c, err := decide(card)
	if err != nil {
		return 0, nil, err
	}
	return m.Commit(ctx, c)
}
