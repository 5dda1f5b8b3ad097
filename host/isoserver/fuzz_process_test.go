package isoserver

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/issuance"
)

// memLedger is an in-memory host.Ledger holding one card (PAN testPAN)
// and the records committed: the host's real decision pipeline runs over
// it without I/O. Safe for concurrent use.
type memLedger struct {
	mu      sync.Mutex
	card    host.Card
	records map[string]*host.Authorization // by match key
}

func newMemLedger() *memLedger {
	limit, daily := int64(1_000_000), int64(500_000)
	return &memLedger{records: map[string]*host.Authorization{}, card: host.Card{
		Card: issuance.Card{
			ID: "crd_fuzz", TenantID: "ten_fuzz", Status: issuance.StatusActive, Currency: "USD", Expiry: "2512",
			Network: issuance.NetworkVisa, CVN: 10, IMKACRef: "imk", CVKRef: "cvk", PVKRef: "pvk",
			PINMethod: "PVV", PVKI: "1", PINVerify: "1234", PINTryMax: 3, UsageType: issuance.UsageNormal,
			CardLimit: &limit, PANLength: 16, ServiceCode: "201",
			SpendingControls: []issuance.SpendingControl{{Amount: &daily, Interval: issuance.Daily}},
		},
		State: host.State{Spend: map[string]host.Counter{}, LastATC: -1},
	}}
}

func (l *memLedger) snapshot() *host.Card {
	c := l.card
	c.State = l.card.State.Clone()
	return &c
}

func (l *memLedger) CardByPANIndex(_ context.Context, indexes [][]byte) (*host.Card, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(indexes) == 0 || string(indexes[0]) != testPAN {
		return nil, host.ErrNotFound
	}
	return l.snapshot(), nil
}

func (l *memLedger) Reindex(context.Context, string, []byte, []byte) error { return nil }

func (l *memLedger) CardByID(_ context.Context, id string) (*host.Card, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id != l.card.ID {
		return nil, host.ErrNotFound
	}
	return l.snapshot(), nil
}

func (l *memLedger) AuthorizationByKey(_ context.Context, key string) (*host.Authorization, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.records[key]; ok {
		c := *a
		return &c, nil
	}
	return nil, host.ErrNotFound
}

func (l *memLedger) FindOriginal(_ context.Context, q host.OriginalQuery) (*host.Authorization, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best *host.Authorization
	for _, a := range l.records {
		if a.CardID != q.CardID || a.OriginalID != "" {
			continue
		}
		if a.Kind != host.KindAuthorization && a.Kind != host.KindFinancial && a.Kind != host.KindAdvice {
			continue
		}
		if q.STAN != "" && (a.STAN != q.STAN || a.TransmissionTime != q.TransmissionTime) {
			continue
		}
		if q.STAN == "" && a.RRN != q.RRN {
			continue
		}
		if best == nil || a.DecidedAt.After(best.DecidedAt) {
			best = a
		}
	}
	if best == nil {
		return nil, host.ErrNotFound
	}
	c := *best
	return &c, nil
}

func (l *memLedger) Acquirers(context.Context) ([]host.Acquirer, error) {
	return []host.Acquirer{{ID: "00000000001", ZPKRef: "zpk"}}, nil
}

func (l *memLedger) Commit(_ context.Context, c *host.Commit) (host.CommitOutcome, *host.Authorization, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.records[c.Record.MatchKey]; ok {
		cp := *a
		return host.CommitDuplicate, &cp, nil
	}
	if c.CardID != "" && c.CardVersion != l.card.Version {
		return host.CommitStale, nil, nil
	}
	if o := c.Original; o != nil {
		var stored *host.Authorization
		for _, a := range l.records {
			if a.ID == o.ID {
				stored = a
			}
		}
		if stored == nil || stored.Version != o.Version {
			return host.CommitStale, nil, nil
		}
		next := *o
		next.Version++
		*stored = next
	}
	if c.State != nil || c.Status != "" {
		if c.State != nil {
			l.card.State = c.State.Clone()
		}
		if c.Status != "" {
			l.card.Status, l.card.StatusReason = c.Status, c.StatusReason
		}
		l.card.Version++
	}
	rec := *c.Record
	rec.Version = 1
	l.records[rec.MatchKey] = &rec
	return host.CommitDone, nil, nil
}

// okVerifier verifies everything: the fuzzer reaches the later steps.
type okVerifier struct{}

func (okVerifier) IndexPANAll(_ context.Context, _ string, pan emv.PAN) ([][]byte, error) {
	return [][]byte{[]byte(pan.Reveal())}, nil
}
func (okVerifier) VerifyARQC(context.Context, emv.ARQCCheck) (emv.ARQCResult, error) {
	return emv.ARQCResult{Valid: true, KeyVersion: 1}, nil
}
func (okVerifier) GenerateARPC(_ context.Context, _ emv.ARQCCheck, _ int, rc string) ([]byte, error) {
	return append([]byte{1, 2, 3, 4, 5, 6, 7, 8}, rc...), nil
}
func (okVerifier) VerifyCVV(context.Context, string, emv.PAN, string, string, emv.CVV) (bool, error) {
	return true, nil
}
func (okVerifier) VerifyICVV(context.Context, string, emv.PAN, string, emv.CVV) (bool, error) {
	return true, nil
}
func (okVerifier) VerifyCVV2(context.Context, string, emv.PAN, string, emv.CVV) (bool, error) {
	return true, nil
}
func (okVerifier) VerifyPIN(context.Context, emv.EncryptedPIN, emv.PAN, emv.PINCheck) (bool, error) {
	return true, nil
}

// FuzzProcess feeds arbitrary messages through everything the host does
// with a message after framing: unpack, decoding into a host.Request (the
// layouts of fields 7, 48, 90 and 95), the real decision pipeline from
// its format step on (over an in-memory ledger and a verifier that
// verifies everything), and packing the answer. Seeds are the golden
// requests of testdata/iso plus the corpus under testdata/fuzz/FuzzProcess.
// It checks that nothing panics; that every request with a readable
// request MTI is answered with its response MTI, a known response code
// that is neither 91 nor 96 (with an in-memory ledger nothing may fail),
// and its STAN; that the answer is a message the spec reads back; and
// that sending the same bytes again (a retransmission) gets the same
// answer byte for byte.
func FuzzProcess(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "iso", "0[1-4]?0*.hex"))
	if err != nil {
		f.Fatal(err)
	}
	if len(files) == 0 {
		f.Fatal("no golden requests to seed from")
	}
	for _, p := range files {
		name := filepath.Base(p)
		f.Add(golden(f, name[:len(name)-len(".hex")]))
	}
	received := time.Date(2025, 6, 21, 14, 30, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, msg []byte) {
		engine, err := host.New(host.Config{PANIndexRef: "idx", Now: func() time.Time { return received }}, newMemLedger(), okVerifier{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{FingerprintKey: make([]byte, 32), Now: func() time.Time { return received }}, engine, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, mti, code := s.process(msg, received, "fuzz")
		if len(msg) < 4 || !iso.ValidMTI(string(msg[:4])) {
			if out != nil {
				t.Fatalf("answered a message whose MTI is unreadable")
			}
			return // the reader closes such connections before process
		}
		reqMTI := string(msg[:4])
		respMTI, answerable := iso.ResponseMTI(reqMTI)
		if iso.IsResponse(reqMTI) || !answerable {
			if out != nil {
				t.Fatalf("answered %s, which nothing answers", reqMTI)
			}
			return
		}
		if out == nil {
			t.Fatalf("request %s (read as %q) got no answer", reqMTI, mti)
		}
		if code == iso.SystemMalfunction || code == iso.IssuerOrSwitchInoperative || !code.Known() {
			t.Fatalf("request %s answered %q: the pipeline failed over an in-memory ledger", reqMTI, code)
		}
		resp, err := iso.Unpack(out)
		if err != nil {
			t.Fatalf("the answer does not unpack: %v", err)
		}
		if got, _ := resp.GetMTI(); got != respMTI {
			t.Fatalf("answer MTI %s to %s, want %s", got, reqMTI, respMTI)
		}
		if rc := str(resp, iso.FieldResponseCode); rc != string(code) {
			t.Fatalf("field 39 %q, reported code %q", rc, code)
		}
		if req, err := iso.Unpack(msg); err == nil {
			if stan := str(req, iso.FieldSTAN); str(resp, iso.FieldSTAN) != stan {
				t.Fatalf("answer STAN %q, request STAN %q", str(resp, iso.FieldSTAN), stan)
			}
		}
		again, _, _ := s.process(msg, received.Add(time.Second), "fuzz")
		if !bytes.Equal(again, out) {
			t.Fatalf("a retransmission got a different answer:\n first %q\nsecond %q", out, again)
		}
	})
}

func (l *memLedger) CommitLocked(ctx context.Context, id string, decide func(*host.Card) (*host.Commit, error)) (host.CommitOutcome, *host.Authorization, error) {
	card, err := l.CardByID(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	c, err := decide(card)
	if err != nil {
		return 0, nil, err
	}
	return l.Commit(ctx, c)
}
