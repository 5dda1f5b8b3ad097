package isoserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// fakeEngine is an Engine whose decision is a function field.
type fakeEngine struct {
	decide func(ctx context.Context, req *host.Request) (*host.Response, error)
}

func (e *fakeEngine) Decide(ctx context.Context, req *host.Request) (*host.Response, error) {
	return e.decide(ctx, req)
}

// approveAll approves every request for its amount, with approval code
// "A" + STAN[1:].
func approveAll() *fakeEngine {
	return &fakeEngine{decide: func(_ context.Context, req *host.Request) (*host.Response, error) {
		return &host.Response{Decision: host.Approve, Amount: req.Amount, ApprovalCode: "A" + req.STAN[1:]}, nil
	}}
}

// testKey is a fingerprint key for tests.
func testKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a Server serving on 127.0.0.1:0.
type testServer struct {
	*Server
	addr   string
	reg    *prometheus.Registry
	logs   *syncBuffer
	served chan error
}

func startServer(t testing.TB, cfg Config, engine Engine) *testServer {
	t.Helper()
	if cfg.FingerprintKey == nil {
		cfg.FingerprintKey = testKey(t)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()
	s, err := New(cfg, engine, logger, reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, addr: ln.Addr().String(), reg: reg, logs: logs, served: make(chan error, 1)}
	go func() { ts.served <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		select {
		case err := <-ts.served:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return ts
}

// metric returns the value of a counter or gauge with the given labels,
// or 0 when the series does not exist.
func (ts *testServer) metric(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := ts.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			want := map[string]string{}
			for i := 0; i+1 < len(labels); i += 2 {
				want[labels[i]] = labels[i+1]
			}
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; ok && v != lp.GetValue() {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// eventually polls cond until it holds or a second passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a raw test client: it writes frames and reads frames.
type client struct {
	t  testing.TB
	nc net.Conn
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc}
}

// send packs and writes m.
func (c *client) send(m *iso8583.Message) {
	c.t.Helper()
	b, err := iso.Pack(m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

// sendRaw writes msg with its length header.
func (c *client) sendRaw(msg []byte) {
	c.t.Helper()
	if err := iso.WriteFrame(c.nc, msg); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads and unpacks one response.
func (c *client) recv() *iso8583.Message {
	c.t.Helper()
	m, err := c.tryRecv(2 * time.Second)
	if err != nil {
		c.t.Fatalf("receiving: %v", err)
	}
	return m
}

func (c *client) tryRecv(timeout time.Duration) (*iso8583.Message, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	b, err := iso.ReadFrame(c.nc, nil)
	if err != nil {
		return nil, err
	}
	return iso.Unpack(b)
}

// expectClosed checks that the server closes the connection (EOF or reset)
// without sending anything more.
func (c *client) expectClosed() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	n, err := c.nc.Read(b[:])
	if n != 0 || err == nil {
		c.t.Fatalf("read %d bytes, %v; want the connection closed", n, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("connection still open")
	}
	if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		c.t.Fatalf("read error %v, want EOF or reset", err)
	}
}

// echo sends an 0800 echo test and checks its 0810.
func (c *client) echo(stan string) {
	c.t.Helper()
	c.send(networkMessage(stan, iso.NetworkEcho))
	r := c.recv()
	if mti, _ := r.GetMTI(); mti != iso.MTINetworkResponse {
		c.t.Fatalf("echo answered with %s", mti)
	}
	if got := str(r, iso.FieldSTAN); got != stan {
		c.t.Fatalf("echo answered STAN %s, want %s", got, stan)
	}
}

func networkMessage(stan, code string) *iso8583.Message {
	m := iso.NewMessage(iso.MTINetworkRequest)
	_ = m.Field(iso.FieldTransmissionTime, iso.FormatTransmissionTime(time.Now()))
	_ = m.Field(iso.FieldSTAN, stan)
	if code != "" {
		_ = m.Field(iso.FieldNetworkCode, code)
	}
	return m
}

// authMessage is an 0100 for amount with the given STAN.
func authMessage(stan string, amount string) *iso8583.Message {
	m := iso.NewMessage(iso.MTIAuthorizationRequest)
	for id, v := range map[int]string{
		2: testPAN, 3: "000000", 4: amount, 7: iso.FormatTransmissionTime(time.Now()), 11: stan,
		12: "120000", 13: "0621", 14: "2512", 18: "5411", 22: "901", 32: "123456",
		35: testTrack2, 37: "000000" + stan, 41: "TERM0001", 42: "MERCHANT0000001", 49: "840",
		52: "8B2E61A2D1C4F3E0",
	} {
		_ = m.Field(id, v)
	}
	return m
}

const (
	testPAN    = "4761739001010010"
	testTrack2 = "4761739001010010=25122011234567800000"
)

func str(m *iso8583.Message, id int) string {
	v, _ := m.GetString(id)
	return v
}

// golden reads a golden message of testdata/iso (without its header).
func golden(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "iso", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	var h strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			h.WriteString(line)
		}
	}
	frame, err := hex.DecodeString(h.String())
	if err != nil {
		t.Fatal(err)
	}
	return frame[iso.HeaderLen:]
}
