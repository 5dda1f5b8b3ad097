package sender_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/issuance/webhook/sender"
)

func request(url string) webhook.Request {
	return webhook.Request{URL: url, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"type":"card.frozen"}`)}
}

func send(t *testing.T, s *sender.Sender, url string, timeout time.Duration) webhook.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.Send(ctx, request(url))
}

// TestAnswersHandled: a 2xx is delivered; a redirect is not followed and
// fails; a body over the limit fails without being read to its end; a
// hanging endpoint times out; garbage instead of HTTP fails; Retry-After
// is read in both forms. No error names the URL or its token.
func TestAnswersHandled(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.UserAgent(), "cardhost-webhooks/") {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, _ *http.Request) { followed.Add(1) })
	var written atomic.Int64
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		chunk := make([]byte, 32<<10)
		for range 1024 { // 32 MiB, unless the reader stops
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/hang", func(_ http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); <-r.Context().Done() })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/busy-date", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := sender.New(sender.Config{AllowPrivate: true})
	defer s.Close()
	token := "?token=s3cr3t-t0k3n"

	if r := send(t, s, srv.URL+"/ok"+token, 5*time.Second); !r.Delivered() || r.StatusCode != 200 || r.Duration <= 0 {
		t.Errorf("/ok: %+v", r)
	}
	if r := send(t, s, srv.URL+"/redirect"+token, 5*time.Second); r.Delivered() || r.StatusCode != http.StatusTemporaryRedirect || sender.Kind(r) != sender.KindRedirect || followed.Load() != 0 {
		t.Errorf("/redirect: %+v (followed %d)", r, followed.Load())
	}
	r := send(t, s, srv.URL+"/huge"+token, 10*time.Second)
	if r.Delivered() || !errors.Is(r.Err, sender.ErrBodyTooLarge) || sender.Kind(r) != sender.KindBody || r.StatusCode != 200 {
		t.Errorf("/huge: %+v", r)
	}
	if n := written.Load(); n > 8<<20 {
		t.Errorf("the sender let the endpoint write %d bytes", n)
	}
	start := time.Now()
	r = send(t, s, srv.URL+"/hang"+token, 300*time.Millisecond)
	if r.Delivered() || !errors.Is(r.Err, sender.ErrTimeout) || sender.Kind(r) != sender.KindTimeout || time.Since(start) > 3*time.Second {
		t.Errorf("/hang: %+v after %v", r, time.Since(start))
	}
	if r := send(t, s, srv.URL+"/busy"+token, 5*time.Second); r.StatusCode != 503 || r.RetryAfter != 120*time.Second || sender.Kind(r) != sender.KindStatus {
		t.Errorf("/busy: %+v", r)
	}
	if r := send(t, s, srv.URL+"/busy-date"+token, 5*time.Second); r.StatusCode != 429 || r.RetryAfter < 59*time.Minute || r.RetryAfter > time.Hour {
		t.Errorf("/busy-date: %+v", r)
	}

	// Garbage instead of an HTTP answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte("\x00\x01 garbage, not HTTP\r\n\r\n"))
			c.Close()
		}
	}()
	r = send(t, s, "http://"+ln.Addr().String()+"/x"+token, 5*time.Second)
	if r.Delivered() || r.Err == nil || sender.Kind(r) != sender.KindNetwork {
		t.Errorf("garbage: %+v", r)
	}
	for _, res := range []webhook.Result{r, send(t, s, srv.URL+"/hang"+token, 100*time.Millisecond)} {
		if res.Err != nil && (strings.Contains(res.Err.Error(), "s3cr3t") || strings.Contains(res.Err.Error(), "/x")) {
			t.Errorf("an error names the URL: %v", res.Err)
		}
	}
}

// TestCallAnswers: the decision caller (host.IssuerCaller) answers a
// redirect as it is, without following it (the host then applies the
// default action: issuer_error), and refuses an answer over MaxBody
// without reading it to its end (issuer_error too).
func TestCallAnswers(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, _ *http.Request) { followed.Add(1); io.WriteString(w, `{"approved": true}`) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"approved": true, "pad": "`+strings.Repeat("x", 1<<20)+`"}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	s := sender.New(sender.Config{AllowPrivate: true, MaxBody: 1 << 10})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, q := http.Header{"Content-Type": {"application/json"}}, []byte(`{"type":"authorization.decision_request"}`)
	if status, body, err := s.Call(ctx, srv.URL+"/redirect", h, q); err != nil || status != http.StatusTemporaryRedirect || followed.Load() != 0 || strings.Contains(string(body), "approved") {
		t.Errorf("/redirect: %d %q %v (followed %d); want the 307 itself", status, body, err, followed.Load())
	}
	if status, body, err := s.Call(ctx, srv.URL+"/huge", h, q); !errors.Is(err, sender.ErrBodyTooLarge) || body != nil {
		t.Errorf("/huge: %d, %d bytes, %v; want ErrBodyTooLarge", status, len(body), err)
	}
	if status, body, err := s.Call(ctx, srv.URL+"/target", h, q); err != nil || status != 200 || string(body) != `{"approved": true}` {
		t.Errorf("/target: %d %q %v", status, body, err)
	}
}

// TestDialTimeRefusal: outside sandbox mode the sender refuses loopback
// and private addresses when it dials, after resolving the name (a name
// that now resolves to loopback is refused too), without connecting.
func TestDialTimeRefusal(t *testing.T) {
	var accepted atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	s := sender.New(sender.Config{})
	defer s.Close()
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/x", "http://[::ffff:127.0.0.1]:" + port + "/x"} {
		r := send(t, s, u, 5*time.Second)
		if !errors.Is(r.Err, sender.ErrRefused) || sender.Kind(r) != sender.KindRefused || r.Delivered() {
			t.Errorf("%s: %+v, want refused", u, r)
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the receiver accepted %d connections from a sender that must refuse it", n)
	}
	// The same receiver in sandbox mode is reached.
	open := sender.New(sender.Config{AllowPrivate: true})
	defer open.Close()
	if r := send(t, open, srv.URL, 5*time.Second); !r.Delivered() || accepted.Load() != 1 {
		t.Fatalf("sandbox sender: %+v", r)
	}
}

// TestMetrics: attempts are counted by outcome and kind, never by URL.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := sender.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.Attempted(webhook.Result{StatusCode: 200, Duration: time.Millisecond})
	m.Attempted(webhook.Result{StatusCode: 500, Duration: time.Millisecond})
	m.Attempted(webhook.Result{Err: sender.ErrTimeout, Duration: time.Second})
	m.Disabled(webhook.DisabledGone)
	m.Ingested(3)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range mt.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case mt.GetCounter() != nil:
				got[name] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[name] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{
		"cardhost_webhook_deliveries_total": 1, "cardhost_webhook_failures_total{kind=status}": 1,
		"cardhost_webhook_failures_total{kind=timeout}": 1, "cardhost_webhook_failures_total{kind=refused}": 0,
		"cardhost_webhook_attempt_duration_seconds": 3, "cardhost_webhook_endpoints_disabled_total{reason=gone}": 1,
		"cardhost_webhook_endpoints_disabled_total{reason=failing}": 0, "cardhost_webhook_events_ingested_total": 3,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
		}
	}
	if _, err := sender.NewMetrics(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
}
