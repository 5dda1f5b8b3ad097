package isoserver

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

func TestNetworkManagement(t *testing.T) {
	called := atomic.Bool{}
	ts := startServer(t, Config{}, &fakeEngine{decide: func(context.Context, *host.Request) (*host.Response, error) {
		called.Store(true)
		return nil, errors.New("must not be called")
	}})
	c := dial(t, ts.addr)
	tests := []struct {
		name string
		mti  string
		code string // field 70, "" for none
		want iso.ResponseCode
	}{
		{"echo", "0800", iso.NetworkEcho, iso.Approved},
		{"sign-on", "0800", iso.NetworkSignOn, iso.Approved},
		{"sign-off", "0800", iso.NetworkSignOff, iso.Approved},
		{"repeat echo", "0801", iso.NetworkEcho, iso.Approved},
		{"unknown code", "0800", "999", iso.InvalidTransaction},
		{"no field 70", "0800", "", iso.FormatError},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stan := fmt.Sprintf("%06d", 100+i)
			m := networkMessage(stan, tc.code)
			m.MTI(tc.mti)
			_ = m.Field(iso.FieldTerminal, "TERM0001")
			c.send(m)
			r := c.recv()
			if mti, _ := r.GetMTI(); mti != iso.MTINetworkResponse {
				t.Errorf("MTI %s", mti)
			}
			if got := str(r, iso.FieldResponseCode); got != string(tc.want) {
				t.Errorf("39 = %s, want %s", got, tc.want)
			}
			for _, id := range []int{iso.FieldTransmissionTime, iso.FieldSTAN, iso.FieldTerminal, iso.FieldNetworkCode} {
				if str(r, id) != str(m, id) {
					t.Errorf("field %d = %q, want the request's %q", id, str(r, id), str(m, id))
				}
			}
		})
	}
	if called.Load() {
		t.Error("network management reached the engine")
	}
}

// TestGoldenRequests sends every golden request and checks the request the
// engine sees and the response MTI.
func TestGoldenRequests(t *testing.T) {
	var (
		mu   sync.Mutex
		seen *host.Request
	)
	ts := startServer(t, Config{}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		mu.Lock()
		seen = req
		mu.Unlock()
		return &host.Response{Decision: host.Approve, Amount: req.Amount, ApprovalCode: "OK0001"}, nil
	}})
	c := dial(t, ts.addr)
	tests := []struct {
		golden string
		resp   string
		kind   host.Kind
		check  func(t *testing.T, r *host.Request)
	}{
		{"0100_chip", "0110", host.KindAuthorization, func(t *testing.T, r *host.Request) {
			if r.PAN.Reveal() != "4761739001010010" || r.Amount != 2000 || r.EntryMode != "071" || r.PSN != "001" {
				t.Errorf("PAN/amount/22/23 = %v %d %s %s", r.PAN, r.Amount, r.EntryMode, r.PSN)
			}
			if !strings.HasPrefix(r.Track2.Reveal(), "4761739001010010=2512") {
				t.Error("track 2 not decoded")
			}
			if len(r.ICC) != 86 || r.ICC[0] != 0x9F || r.ICC[1] != 0x33 {
				t.Errorf("ICC = % X", r.ICC)
			}
			if r.Acceptor != "CARDHOST TEST MERCHANT   SAN JOSE     US" || r.Country != "840" || r.Currency != "840" {
				t.Errorf("43/19/49 = %q %s %s", r.Acceptor, r.Country, r.Currency)
			}
		}},
		{"0100_magstripe_pin", "0110", host.KindAuthorization, func(t *testing.T, r *host.Request) {
			if r.PINBlock.Reveal() != "8B2E61A2D1C4F3E0" || r.TxnType() != host.TxnCash || r.MCC != "6011" {
				t.Errorf("52/3/18 = %s %s %s", r.PINBlock.Reveal(), r.ProcessingCode, r.MCC)
			}
		}},
		{"0100_ecommerce", "0110", host.KindAuthorization, func(t *testing.T, r *host.Request) {
			if r.CVV2.Reveal() != "123" || r.ECI != "05" || r.CAVV != "00000000000000000000123456789ABCDEF01234" || !r.PartialSupported {
				t.Errorf("48 = %s %s %s %v", r.CVV2.Reveal(), r.ECI, r.CAVV, r.PartialSupported)
			}
			if r.Track2 != "" || r.ICC != nil || r.PINBlock != "" {
				t.Error("absent fields decoded as present")
			}
		}},
		{"0200", "0210", host.KindFinancial, func(t *testing.T, r *host.Request) {
			if r.Currency != "978" || r.Amount != 1234 {
				t.Errorf("49/4 = %s %d", r.Currency, r.Amount)
			}
		}},
		{"0120", "0130", host.KindAdvice, func(t *testing.T, r *host.Request) {
			if r.AdviceResponseCode != "00" {
				t.Errorf("advice 39 = %q, want the stand-in decision 00", r.AdviceResponseCode)
			}
		}},
		{"0100_chip", "0110", host.KindAuthorization, func(t *testing.T, r *host.Request) {
			if r.AdviceResponseCode != "" {
				t.Errorf("advice 39 decoded on an 0100: %q", r.AdviceResponseCode)
			}
		}},
		{"0220", "0230", host.KindCapture, func(t *testing.T, r *host.Request) {
			if r.Original == nil || r.Original.MTI != "0100" || r.Original.STAN != "000101" {
				t.Errorf("90 = %+v", r.Original)
			}
		}},
		{"0400", "0410", host.KindReversal, func(t *testing.T, r *host.Request) {
			want := host.OriginalData{MTI: "0100", STAN: "000101", TransmissionTime: "0621143005", AcquirerID: "00000123456", ForwardingID: "00000000000"}
			if r.Original == nil || *r.Original != want || r.Replacement != nil {
				t.Errorf("90 = %+v, 95 = %v", r.Original, r.Replacement)
			}
		}},
		{"0420_partial", "0430", host.KindReversalAdvice, func(t *testing.T, r *host.Request) {
			if r.Replacement == nil || *r.Replacement != 6000 || r.Amount != 10000 {
				t.Errorf("95 = %v, 4 = %d", r.Replacement, r.Amount)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			msg := golden(t, tc.golden)
			before := time.Now()
			c.sendRaw(msg)
			r := c.recv()
			if mti, _ := r.GetMTI(); mti != tc.resp {
				t.Fatalf("answered %s, want %s", mti, tc.resp)
			}
			if got := str(r, iso.FieldResponseCode); got != "00" {
				t.Fatalf("39 = %s", got)
			}
			mu.Lock()
			req := seen
			mu.Unlock()
			if req.Kind != tc.kind || req.MTI != tc.golden[:4] {
				t.Errorf("kind %v MTI %s, want %v %s", req.Kind, req.MTI, tc.kind, tc.golden[:4])
			}
			if req.Received.Before(before.Add(-time.Second)) || req.Received.Location() != time.UTC {
				t.Errorf("Received = %v", req.Received)
			}
			sent, _ := iso.Unpack(msg)
			if req.STAN != str(sent, 11) || req.RRN != str(sent, 37) || req.Terminal != str(sent, 41) || req.AcquirerID != str(sent, 32) || req.TransmissionTime != str(sent, 7) {
				t.Errorf("11/37/41/32/7 = %s %s %s %s %s", req.STAN, req.RRN, req.Terminal, req.AcquirerID, req.TransmissionTime)
			}
			// The response echoes the request's fields.
			for _, id := range echoed {
				if str(r, id) != str(sent, id) {
					t.Errorf("field %d = %q, request had %q", id, str(r, id), str(sent, id))
				}
			}
			if tc.check != nil {
				tc.check(t, req)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	var got atomic.Value
	ts := startServer(t, Config{}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		got.Store(req.Kind)
		if req.Kind == host.KindUnknown {
			return &host.Response{Decision: host.Decline(host.ReasonInvalidTransaction)}, nil
		}
		return &host.Response{Decision: host.Approve}, nil
	}})
	c := dial(t, ts.addr)
	tests := []struct {
		mti, resp string
		kind      host.Kind
		code      string
	}{
		{"0100", "0110", host.KindAuthorization, "00"},
		{"0101", "0110", host.KindAuthorization, "00"},
		{"0120", "0130", host.KindAdvice, "00"},
		{"0121", "0130", host.KindAdvice, "00"},
		{"0200", "0210", host.KindFinancial, "00"},
		{"0220", "0230", host.KindCapture, "00"},
		{"0221", "0230", host.KindCapture, "00"},
		{"0400", "0410", host.KindReversal, "00"},
		{"0401", "0410", host.KindReversal, "00"},
		{"0420", "0430", host.KindReversalAdvice, "00"},
		{"0421", "0430", host.KindReversalAdvice, "00"},
		{"0300", "0310", host.KindUnknown, "12"},
		{"0600", "0610", host.KindUnknown, "12"},
	}
	for i, tc := range tests {
		t.Run(tc.mti, func(t *testing.T) {
			m := authMessage(fmt.Sprintf("%06d", 200+i), "000000000100")
			m.MTI(tc.mti)
			c.send(m)
			r := c.recv()
			if mti, _ := r.GetMTI(); mti != tc.resp || str(r, 39) != tc.code {
				t.Errorf("answered %s %s, want %s %s", mti, str(r, 39), tc.resp, tc.code)
			}
			if k := got.Load().(host.Kind); k != tc.kind {
				t.Errorf("kind %v, want %v", k, tc.kind)
			}
		})
	}
}

func TestResponseMessagesAreDropped(t *testing.T) {
	ts := startServer(t, Config{}, approveAll())
	c := dial(t, ts.addr)
	for _, mti := range []string{"0110", "0810", "0430"} {
		m := authMessage("000301", "000000000100")
		m.MTI(mti)
		c.send(m)
	}
	c.echo("000302") // the next answer is the echo's: nothing answered the responses
	eventually(t, "3 dropped", func() bool { return ts.metric(t, "cardhost_iso_messages_dropped_total") == 3 })
}

func TestFingerprint(t *testing.T) {
	key := testKey(t)
	prints := make(chan []byte, 10)
	ts := startServer(t, Config{FingerprintKey: key}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		prints <- req.Fingerprint
		return &host.Response{Decision: host.Approve}, nil
	}})
	c := dial(t, ts.addr)
	orig := golden(t, "0100_chip")
	repeat := append([]byte(nil), orig...)
	repeat[3] = '1' // 0101
	changed := append([]byte(nil), orig...)
	copy(changed[bytes.Index(changed, []byte("000000002000")):], "000000002001")

	var got [3][]byte
	for i, msg := range [][]byte{orig, repeat, changed} {
		c.sendRaw(msg)
		c.recv()
		got[i] = <-prints
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(orig)
	if want := mac.Sum(nil); !bytes.Equal(got[0], want) {
		t.Errorf("fingerprint = %X, want HMAC-SHA-256 of the message %X", got[0], want)
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Error("a repeat (0101) has another fingerprint than its original")
	}
	if bytes.Equal(got[0], got[2]) {
		t.Error("different content has the same fingerprint")
	}
}

func TestDecisionFields(t *testing.T) {
	icc := []byte{0x91, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30}
	tests := []struct {
		name    string
		resp    *host.Response
		err     error
		code    string
		fields  map[int]string // expected response fields ("" = absent)
		icc     []byte
		logText string // expected in the log
	}{
		{
			name:   "approval",
			resp:   &host.Response{Decision: host.Approve, Amount: 5000, ApprovalCode: "AB1234", ICC: icc},
			code:   "00",
			fields: map[int]string{4: "000000005000", 38: "AB1234", 54: ""},
			icc:    icc,
		},
		{
			name:   "decline keeps the request amount and has no approval code",
			resp:   &host.Response{Decision: host.Decline(host.ReasonCardExpired), ApprovalCode: "IGNORE", ICC: icc},
			code:   "54",
			fields: map[int]string{4: "000000005000", 38: ""},
			icc:    icc,
		},
		{
			name:   "partial approval carries the approved amount",
			resp:   &host.Response{Decision: host.Decision{Code: iso.PartialApproval, Reason: host.ReasonPartialApproval}, Amount: 3000, ApprovalCode: "PA0001"},
			code:   "10",
			fields: map[int]string{4: "000000003000", 38: "PA0001"},
		},
		{
			name: "balances",
			resp: &host.Response{Decision: host.Approve, Balances: []host.Balance{
				{AccountType: "00", AmountType: "01", Currency: "840", Amount: 150000},
				{AccountType: "00", AmountType: "02", Currency: "840", Amount: -25},
			}},
			code:   "00",
			fields: map[int]string{4: "000000005000", 54: "0001840C0000001500000002840D000000000025"},
		},
		{name: "engine error", err: errors.New("ledger unavailable"), code: "96", fields: map[int]string{38: ""}, logText: "ledger unavailable"},
		{name: "ledger unavailable", err: fmt.Errorf("committing: %w", host.ErrUnavailable), code: "91", fields: map[int]string{38: ""}, logText: `"level":"WARN","msg":"answering 91: the ledger is unavailable"`},
		{name: "nil response", code: "96", logText: "nil response"},
		{name: "unknown code", resp: &host.Response{Decision: host.Decision{Code: "Z9"}}, code: "96", logText: "not in the table"},
		{name: "undecided", resp: &host.Response{}, code: "96", logText: "not in the table"},
		{
			name:    "partial approval over the request",
			resp:    &host.Response{Decision: host.Decision{Code: iso.PartialApproval}, Amount: 5000},
			code:    "96",
			fields:  map[int]string{4: "000000005000"},
			logText: "partial approval amount",
		},
		{name: "bad approval code", resp: &host.Response{Decision: host.Approve, ApprovalCode: "TOOLONG1"}, code: "96", fields: map[int]string{38: ""}, logText: "field 38"},
		{name: "bad balance", resp: &host.Response{Decision: host.Approve, Balances: []host.Balance{{AccountType: "0"}}}, code: "96", logText: "field 54"},
		{name: "ICC too large", resp: &host.Response{Decision: host.Approve, ICC: make([]byte, 1000)}, code: "96", logText: "field 55"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{}, &fakeEngine{decide: func(context.Context, *host.Request) (*host.Response, error) {
				return tc.resp, tc.err
			}})
			c := dial(t, ts.addr)
			stan := fmt.Sprintf("%06d", 400+i)
			c.send(authMessage(stan, "000000005000"))
			r := c.recv()
			if got := str(r, 39); got != tc.code {
				t.Fatalf("39 = %s, want %s", got, tc.code)
			}
			if str(r, 11) != stan || str(r, 41) != "TERM0001" {
				t.Errorf("11/41 not echoed")
			}
			for id, want := range tc.fields {
				if got := str(r, id); got != want {
					t.Errorf("field %d = %q, want %q", id, got, want)
				}
			}
			got, _ := r.GetBytes(55)
			if !bytes.Equal(got, tc.icc) {
				t.Errorf("field 55 = % X, want % X", got, tc.icc)
			}
			if tc.logText != "" && !strings.Contains(ts.logs.String(), tc.logText) {
				t.Errorf("log does not mention %q:\n%s", tc.logText, ts.logs.String())
			}
			if n := ts.metric(t, "cardhost_iso_requests_total", "mti", "0100", "code", tc.code); n != 1 {
				t.Errorf("requests_total{0100,%s} = %v", tc.code, n)
			}
		})
	}
}

// TestFormatErrors: a readable MTI with a bad field gets 30 on the same
// connection, which stays open, and the engine is not asked.
func TestFormatErrors(t *testing.T) {
	var calls atomic.Int32
	ts := startServer(t, Config{}, &fakeEngine{decide: func(context.Context, *host.Request) (*host.Response, error) {
		calls.Add(1)
		return &host.Response{Decision: host.Approve}, nil
	}})
	c := dial(t, ts.addr)
	tests := []struct {
		name     string
		msg      func() []byte
		stan     string // expected field 11 in the answer ("" = absent)
		mti      string
		logField string
	}{
		{"amount with a letter", func() []byte {
			b, _ := iso.Pack(authMessage("000501", "000000005000"))
			i := bytes.Index(b, []byte("000000005000"))
			b[i+11] = 'X'
			return b
		}, "", "0110", `"field":4`},
		{"bad field after the STAN", func() []byte {
			m := authMessage("000502", "000000005000")
			b, _ := iso.Pack(m)
			i := bytes.Index(b, []byte("TERM0001"))
			b[i] = 0x01
			return b
		}, "000502", "0110", `"field":41`},
		{"field 48 element layout", func() []byte {
			m := authMessage("000503", "000000005000")
			_ = m.Field(48, "0102X1")
			b, _ := iso.Pack(m)
			return b
		}, "000503", "0110", `"field":48`},
		{"transmission time 30 February", func() []byte {
			m := authMessage("000504", "000000005000")
			_ = m.Field(7, "0230120000")
			b, _ := iso.Pack(m)
			return b
		}, "000504", "0110", `"field":7`},
		{"field 90 layout", func() []byte {
			m := authMessage("000505", "000000005000")
			m.MTI("0400")
			_ = m.Field(90, strings.Repeat("0", 42))
			b, _ := iso.Pack(m)
			return b
		}, "000505", "0410", `"field":90`},
		{"no STAN", func() []byte {
			m := authMessage("000506", "000000005000")
			m.UnsetField(11)
			b, _ := iso.Pack(m)
			return b
		}, "", "0110", `"field":11`},
		{"trailing bytes", func() []byte {
			b, _ := iso.Pack(authMessage("000507", "000000005000"))
			return append(b, "XX"...)
		}, "000507", "0110", "data after the last field"},
		{"field outside the spec", func() []byte {
			// 0800 with secondary bitmap naming field 100.
			return []byte("0800" + "8220000000000000" + "0000000010000000" + "0621120000" + "000508" + "0512345")
		}, "000508", "0810", `"field":100`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.sendRaw(tc.msg())
			r := c.recv()
			if mti, _ := r.GetMTI(); mti != tc.mti || str(r, 39) != "30" {
				t.Fatalf("answered %s %s, want %s 30", mti, str(r, 39), tc.mti)
			}
			if got := str(r, 11); got != tc.stan {
				t.Errorf("STAN %q, want %q", got, tc.stan)
			}
			if !strings.Contains(ts.logs.String(), tc.logField) {
				t.Errorf("log does not name %s", tc.logField)
			}
		})
	}
	c.echo("000599") // the connection is still open
	if calls.Load() != 0 {
		t.Errorf("engine called %d times", calls.Load())
	}
	if strings.Contains(ts.logs.String(), testPAN) {
		t.Error("log holds the PAN")
	}
}

// TestBadFramesCloseTheConnection: framing errors and unreadable MTIs
// close that connection only, after answering what was in flight.
func TestBadFramesCloseTheConnection(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, Config{}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		if req.STAN == "000700" {
			<-release
		}
		return &host.Response{Decision: host.Approve}, nil
	}})
	other := dial(t, ts.addr)
	tests := []struct {
		name   string
		frame  []byte
		reason string
	}{
		{"zero length", []byte{0, 0}, closeFrameEmpty},
		{"over 8192 bytes", []byte{0x20, 0x01}, closeFrameTooBig},
		{"HTTP request", []byte("GET / HTTP/1.1\r\n\r\n"), closeFrameTooBig},
		{"unreadable MTI", append([]byte{0, 20}, "01X0000000000000000000"[:20]...), closeBadMTI},
		{"message shorter than an MTI", []byte{0, 3, '0', '1', '0'}, closeBadMTI},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := ts.metric(t, "cardhost_iso_connections_closed_total", "reason", tc.reason)
			c := dial(t, ts.addr)
			c.echo("000001")
			if _, err := c.nc.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			c.expectClosed()
			other.echo("000002")
			eventually(t, "close metric", func() bool {
				return ts.metric(t, "cardhost_iso_connections_closed_total", "reason", tc.reason) == before+1
			})
		})
	}

	t.Run("in-flight request answered before closing", func(t *testing.T) {
		c := dial(t, ts.addr)
		c.send(authMessage("000700", "000000000100"))
		eventually(t, "request in flight", func() bool { return ts.metric(t, "cardhost_iso_requests_in_flight") == 1 })
		if _, err := c.nc.Write([]byte{0xff, 0xff}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		close(release)
		if r := c.recv(); str(r, 11) != "000700" || str(r, 39) != "00" {
			t.Fatalf("answer %s %s", str(r, 11), str(r, 39))
		}
		c.expectClosed()
	})
	if strings.Contains(ts.logs.String(), "GET /") {
		t.Error("log holds the bytes received")
	}
}

func TestDisconnectMidMessage(t *testing.T) {
	ts := startServer(t, Config{}, approveAll())
	other := dial(t, ts.addr)
	other.echo("000001")

	c := dial(t, ts.addr)
	b, _ := iso.Pack(authMessage("000002", "000000000100"))
	frame, _ := iso.AppendFrame(nil, b)
	if _, err := c.nc.Write(frame[:len(frame)/2]); err != nil {
		t.Fatal(err)
	}
	c.nc.Close()

	eventually(t, "mid-message close", func() bool {
		return ts.metric(t, "cardhost_iso_connections_closed_total", "reason", closeMidMessage) == 1
	})
	other.echo("000003")
	c2 := dial(t, ts.addr)
	c2.echo("000004")
	if strings.Contains(ts.logs.String(), testPAN) {
		t.Error("log holds the PAN")
	}
}

// TestConcurrency runs many connections with many requests in flight each
// and checks every response answers its own request.
func TestConcurrency(t *testing.T) {
	const (
		conns    = 8
		requests = 150
		window   = 24 // requests a client keeps in flight
	)
	var peak, inFlight atomic.Int32
	ts := startServer(t, Config{MaxInFlight: 16}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond) // answers come back out of order
		return &host.Response{Decision: host.Approve, Amount: req.Amount, ApprovalCode: req.Terminal[4:] + req.STAN[4:]}, nil
	}})

	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for ci := range conns {
		wg.Go(func() {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			terminal := fmt.Sprintf("TERM%04d", ci)
			sem := make(chan struct{}, window)
			pending := sync.Map{}
			done := make(chan error, 1)
			go func() { // reader
				for got := 0; got < requests; got++ {
					nc.SetReadDeadline(time.Now().Add(5 * time.Second))
					b, err := iso.ReadFrame(nc, nil)
					if err != nil {
						done <- err
						return
					}
					m, err := iso.Unpack(b)
					if err != nil {
						done <- err
						return
					}
					stan := str(m, 11)
					amount, ok := pending.LoadAndDelete(stan)
					switch {
					case !ok:
						done <- fmt.Errorf("%s: answer for unknown or repeated STAN %s", terminal, stan)
						return
					case str(m, 4) != amount || str(m, 41) != terminal || str(m, 38) != terminal[4:]+stan[4:]:
						done <- fmt.Errorf("%s: STAN %s answered with 4=%s 41=%s 38=%s", terminal, stan, str(m, 4), str(m, 41), str(m, 38))
						return
					}
					<-sem
				}
				done <- nil
			}()
			for i := range requests {
				sem <- struct{}{}
				stan := fmt.Sprintf("%06d", i+1)
				amount := fmt.Sprintf("%012d", 100*ci+i+1)
				pending.Store(stan, amount)
				m := authMessage(stan, amount)
				_ = m.Field(41, terminal)
				b, _ := iso.Pack(m)
				if err := iso.WriteFrame(nc, b); err != nil {
					errs <- err
					return
				}
			}
			if err := <-done; err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p < 2 || p > 16*conns {
		t.Errorf("peak concurrent decisions %d, want between 2 and %d", p, 16*conns)
	}
	if got := ts.metric(t, "cardhost_iso_requests_total", "mti", "0100", "code", "00"); got != conns*requests {
		t.Errorf("requests_total = %v, want %d", got, conns*requests)
	}
	eventually(t, "in-flight gauge back to 0", func() bool { return ts.metric(t, "cardhost_iso_requests_in_flight") == 0 })
}

// TestMaxInFlightPerConnection: one connection never has more than
// MaxInFlight decisions running.
func TestMaxInFlightPerConnection(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	ts := startServer(t, Config{MaxInFlight: 3}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		return &host.Response{Decision: host.Approve}, nil
	}})
	c := dial(t, ts.addr)
	for i := range 10 {
		c.send(authMessage(fmt.Sprintf("%06d", i+1), "000000000100"))
	}
	eventually(t, "3 decisions running", func() bool { return inFlight.Load() == 3 })
	time.Sleep(30 * time.Millisecond)
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak %d decisions on one connection, want 3", p)
	}
	close(release)
	for range 10 {
		c.recv()
	}
}

func TestShutdownAnswersInFlight(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	ts := startServer(t, Config{}, &fakeEngine{decide: func(ctx context.Context, req *host.Request) (*host.Response, error) {
		started.Add(1)
		<-release
		return &host.Response{Decision: host.Approve, ApprovalCode: "SD" + req.STAN[2:]}, nil
	}})
	c := dial(t, ts.addr)
	idle := dial(t, ts.addr)
	idle.echo("000010")
	for i := range 3 {
		c.send(authMessage(fmt.Sprintf("%06d", i+1), "000000000100"))
	}
	eventually(t, "3 decisions started", func() bool { return started.Load() == 3 })

	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	idle.expectClosed() // nothing in flight: closed at once
	eventually(t, "listener closed", func() bool {
		nc, err := net.DialTimeout("tcp", ts.addr, 100*time.Millisecond)
		if err == nil {
			nc.Close()
		}
		return err != nil
	})
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	case <-time.After(20 * time.Millisecond):
	}

	close(release)
	got := map[string]string{}
	for range 3 {
		r := c.recv()
		got[str(r, 11)] = str(r, 38)
	}
	for i := range 3 {
		stan := fmt.Sprintf("%06d", i+1)
		if got[stan] != "SD"+stan[2:] {
			t.Errorf("STAN %s answered %q", stan, got[stan])
		}
	}
	c.expectClosed()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	ts.served <- ErrServerClosed // for the cleanup
}

func TestShutdownGivesUp(t *testing.T) {
	ts := startServer(t, Config{}, &fakeEngine{decide: func(ctx context.Context, req *host.Request) (*host.Response, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	c := dial(t, ts.addr)
	c.send(authMessage("000001", "000000000100"))
	eventually(t, "request in flight", func() bool { return ts.metric(t, "cardhost_iso_requests_in_flight") == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	c.expectClosed()
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{MaxConnections: 2}, approveAll())
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.echo("000001")
	b.echo("000002")
	extra := dial(t, ts.addr)
	extra.expectClosed()
	if got := ts.metric(t, "cardhost_iso_connections_rejected_total", "reason", reasonMaxConnections); got != 1 {
		t.Errorf("rejected = %v", got)
	}
	if got := ts.metric(t, "cardhost_iso_connections_open"); got != 2 {
		t.Errorf("open = %v", got)
	}
	a.nc.Close()
	eventually(t, "slot freed", func() bool { return ts.metric(t, "cardhost_iso_connections_open") == 1 })
	dial(t, ts.addr).echo("000003")
	b.echo("000004")
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Config{IdleTimeout: 100 * time.Millisecond}, approveAll())
	c := dial(t, ts.addr)
	c.echo("000001")
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("closed after %v", d)
	}
	eventually(t, "idle close metric", func() bool {
		return ts.metric(t, "cardhost_iso_connections_closed_total", "reason", closeIdle) == 1
	})
}

func TestReadTimeout(t *testing.T) {
	ts := startServer(t, Config{ReadTimeout: 100 * time.Millisecond}, approveAll())
	c := dial(t, ts.addr)
	if _, err := c.nc.Write([]byte{0, 50, '0', '8'}); err != nil { // 50 bytes announced, 2 sent
		t.Fatal(err)
	}
	c.expectClosed()
	eventually(t, "read timeout metric", func() bool {
		return ts.metric(t, "cardhost_iso_connections_closed_total", "reason", closeReadTimeout) == 1
	})
}

func TestLogsHoldNoCardData(t *testing.T) {
	ts := startServer(t, Config{}, &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		return nil, fmt.Errorf("deciding for card %v track %v pin %v cvv2 %v", req.PAN, req.Track2, req.PINBlock, req.CVV2)
	}})
	c := dial(t, ts.addr)
	m := authMessage("000001", "000000000100")
	_ = m.Field(48, "0103987")
	c.send(m)
	c.recv()
	bad, _ := iso.Pack(authMessage("000002", "000000000100"))
	bad[bytes.Index(bad, []byte("TERM0001"))] = 0x01
	c.sendRaw(bad)
	c.recv()
	logs := ts.logs.String()
	for _, secret := range []string{testPAN, testPAN[6:12], "=2512201", "8B2E61A2D1C4F3E0", "0103987"} {
		if strings.Contains(logs, secret) {
			t.Errorf("log holds %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "476173******0010") {
		t.Errorf("engine error not logged (masked):\n%s", logs)
	}
}

func TestNew(t *testing.T) {
	e := approveAll()
	key := testKey(t)
	tests := []struct {
		name   string
		cfg    Config
		engine Engine
		want   error
	}{
		{"no key", Config{}, e, ErrFingerprintKey},
		{"short key", Config{FingerprintKey: key[:31]}, e, ErrFingerprintKey},
		{"no engine", Config{FingerprintKey: key}, nil, ErrNoEngine},
		{"negative timeout", Config{FingerprintKey: key, ReadTimeout: -1}, e, ErrConfig},
		{"negative in flight", Config{FingerprintKey: key, MaxInFlight: -1}, e, ErrConfig},
		{"negative connections", Config{FingerprintKey: key, MaxConnections: -1}, e, ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg, tc.engine, nil, nil); !errors.Is(err, tc.want) {
				t.Fatalf("New = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		s, err := New(Config{FingerprintKey: key}, e, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := s.cfg
		if c.Addr != DefaultAddr || c.MaxConnections != DefaultMaxConnections || c.MaxInFlight != DefaultMaxInFlight ||
			c.IdleTimeout != DefaultIdleTimeout || c.ReadTimeout != DefaultReadTimeout || c.WriteTimeout != DefaultWriteTimeout ||
			c.DecisionTimeout != DefaultDecisionTimeout || c.ShutdownTimeout != DefaultShutdownTimeout || c.Now == nil {
			t.Errorf("defaults not applied: %+v", c)
		}
		if s.Addr() != nil {
			t.Error("Addr before listening")
		}
	})
	t.Run("metrics registered twice", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		if _, err := New(Config{FingerprintKey: key}, e, nil, reg); err != nil {
			t.Fatal(err)
		}
		if _, err := New(Config{FingerprintKey: key}, e, nil, reg); err == nil {
			t.Fatal("second registration on one registry succeeded")
		}
	})
}

func TestListenAndServe(t *testing.T) {
	s, err := New(Config{Addr: "127.0.0.1:0", FingerprintKey: testKey(t)}, approveAll(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	eventually(t, "listening", func() bool { return s.Addr() != nil })
	c := dial(t, s.Addr().String())
	c.echo("000001")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe = %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ListenAndServe did not return")
	}
	c.expectClosed()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}
