package scenario

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
)

// fakeAPI records requests and answers from a table of handlers.
type fakeAPI struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func (f *fakeAPI) server(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body string, n int)) *API {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, r)
		f.bodies = append(f.bodies, string(b))
		n := len(f.requests)
		f.mu.Unlock()
		h(w, r, string(b), n)
	}))
	t.Cleanup(srv.Close)
	a, err := NewAPI(srv.URL, "chk_test", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAPIHeadersAndIdempotency(t *testing.T) {
	var f fakeAPI
	a := f.server(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		if n == 1 { // the API throttles the first try
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"slug":"rate_limited","status":429}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"card_id":"crd_X","status":"ACTIVE","last4":"0010"}`)
	})
	limit := int64(5000)
	info, err := a.CreateCard(context.Background(), CardRequest{ProductID: "prd_1", CardHolderName: "A B", CardLimit: &limit,
		SpendingControls: []SpendingControl{{Amount: &limit, Interval: "DAILY"}}, UsageType: "ONE_TIME", AutoCancelTrigger: "ON_AUTH"})
	if err != nil {
		t.Fatal(err)
	}
	if info.CardID != "crd_X" || info.Status != "ACTIVE" {
		t.Fatalf("card %+v", info)
	}
	if len(f.requests) != 2 {
		t.Fatalf("%d requests, want 2 (one retry after 429)", len(f.requests))
	}
	k1, k2 := f.requests[0].Header.Get("Idempotency-Key"), f.requests[1].Header.Get("Idempotency-Key")
	if k1 == "" || k1 != k2 {
		t.Errorf("Idempotency-Keys %q and %q: want the same one on the retry", k1, k2)
	}
	for _, r := range f.requests {
		if r.Header.Get("Authorization") != "Bearer chk_test" || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/v1/cards" {
			t.Errorf("request %s %s headers %v", r.Method, r.URL.Path, r.Header)
		}
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(f.bodies[1]), &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"product_id", "card_limit", "spending_controls", "usage_type", "auto_cancel_trigger", "card_holder_name"} {
		if _, ok := body[k]; !ok {
			t.Errorf("body lacks %s: %s", k, f.bodies[1])
		}
	}
	for _, k := range []string{"risk_controls", "expiry_at", "cardholder_id", "type"} {
		if _, ok := body[k]; ok {
			t.Errorf("body has empty %s (the API refuses unknown or null members): %s", k, f.bodies[1])
		}
	}
}

func TestAPIProblems(t *testing.T) {
	var f fakeAPI
	a := f.server(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, `{"type":"https://cardhost.dev/problems/validation_failed","title":"Unprocessable Entity","status":422,"detail":"the request has invalid fields","slug":"validation_failed","request_id":"req_1","errors":[{"field":"product_id","code":"required","message":"a card is created from a product"}]}`)
	})
	_, err := a.CardAction(context.Background(), "crd_X", "block", "lost")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Slug != "validation_failed" || ae.RequestID != "req_1" || len(ae.Errors) != 1 {
		t.Fatalf("error %#v", err)
	}
	if want := "POST /v1/cards/crd_X/block: 422 validation_failed: the request has invalid fields (product_id: a card is created from a product)"; ae.Error() != want {
		t.Errorf("Error() = %q, want %q", ae.Error(), want)
	}
	if f.bodies[0] != `{"reason":"lost"}` {
		t.Errorf("body %s", f.bodies[0])
	}
	if _, err := a.CardAction(context.Background(), "crd_X", "explode", ""); !errors.Is(err, ErrAPIConfig) {
		t.Errorf("unknown action: %v", err)
	}
	for _, bad := range []struct{ url, key string }{{"ftp://x", "k"}, {"http://", "k"}, {"http://127.0.0.1:1", ""}} {
		if _, err := NewAPI(bad.url, bad.key, 0); !errors.Is(err, ErrAPIConfig) {
			t.Errorf("NewAPI(%q, %q) = %v", bad.url, bad.key, err)
		}
	}
}

func TestAPIListsEveryPage(t *testing.T) {
	var f fakeAPI
	a := f.server(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		switch r.URL.Query().Get("starting_after") {
		case "":
			io.WriteString(w, `{"data":[{"product_id":"prd_1","status":"ACTIVE","card_type":"VIRTUAL"},{"product_id":"prd_2"}],"has_more":true}`)
		case "prd_2":
			io.WriteString(w, `{"data":[{"product_id":"prd_3"}],"has_more":false}`)
		default:
			t.Errorf("cursor %s", r.URL.RawQuery)
		}
	})
	ps, err := a.Products(context.Background())
	if err != nil || len(ps) != 3 || ps[2].ID != "prd_3" {
		t.Fatalf("products %+v, %v", ps, err)
	}
	is := &Issuer{API: a}
	p, err := is.DefaultProduct(context.Background())
	if err != nil || p.ID != "prd_1" {
		t.Errorf("default product %+v, %v", p, err)
	}
}

func TestIssuerBecomesCard(t *testing.T) {
	v := terminaltest.LoadPersoVector(t, "../terminal/testdata/perso_sandbox.json")
	var f fakeAPI
	a := f.server(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		switch {
		case r.URL.Path == "/v1/cards":
			io.WriteString(w, `{"card_id":"`+v.CardID+`","status":"ACTIVE"}`)
		case strings.HasSuffix(r.URL.Path, "/pin"):
			io.WriteString(w, `{"card_id":"`+v.CardID+`","status":"ACTIVE","pin_set":true}`)
		case strings.HasSuffix(r.URL.Path, "/perso"):
			sealed := terminaltest.MustHex(t, v.Sealed)
			json.NewEncoder(w).Encode(terminal.PersoExport{CardID: v.CardID, KCV: terminal.DefaultTransportKeyKCV, Format: "cardhost-sealed-v1+aes-256-gcm",
				Record: base64.StdEncoding.EncodeToString(sealed)})
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	})
	is := &Issuer{API: a, TransportKey: terminaltest.MustHex(t, terminal.DefaultTransportKeyHex)}
	c, info, err := is.NewCard(context.Background(), CardRequest{ProductID: "prd_1"}, "1234")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != v.CardID || info.CardID != v.CardID || !c.HasChip() || c.PAN.Reveal() != v.Expect.PAN {
		t.Fatalf("card %v info %+v", c, info)
	}
	if f.bodies[1] != `{"pin":"1234"}` {
		t.Errorf("PIN body %s", f.bodies[1])
	}
	// A transport key with another check value is refused before opening.
	wrong := &Issuer{API: a, TransportKey: make([]byte, 32)}
	if _, err := wrong.Become(context.Background(), v.CardID); !errors.Is(err, terminal.ErrCard) || !strings.Contains(err.Error(), "check value") {
		t.Errorf("wrong transport key: %v", err)
	}
}
