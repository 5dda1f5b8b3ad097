package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/kafka"
)

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.215.14", true}, {"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true}, {"8.8.8.8", true},
		{"127.0.0.1", false}, {"127.9.9.9", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false},
		{"172.31.255.255", false}, {"192.168.1.1", false}, {"169.254.169.254", false}, {"fe80::1", false},
		{"fc00::1", false}, {"fd12:3456::1", false}, {"0.0.0.0", false}, {"::", false}, {"224.0.0.1", false},
		{"ff02::1", false}, {"100.64.0.1", false}, {"255.255.255.255", false}, {"240.0.0.1", false},
		{"198.18.0.1", false}, {"192.0.2.1", false}, {"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false},
		{"64:ff9b::a00:1", false}, {"2002:a00:1::", false}, {"0.1.2.3", false},
	} {
		err := CheckAddr(netip.MustParseAddr(tc.addr))
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrAddressRefused)) {
			t.Errorf("CheckAddr(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

// fakeResolver answers names from a table; others fail to resolve.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := f[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func TestCheckURL(t *testing.T) {
	r := fakeResolver{"hooks.issuer.example": {"93.184.215.14"}, "internal.issuer.example": {"93.184.215.14", "10.0.0.7"},
		"metadata.issuer.example": {"169.254.169.254"}}
	for _, tc := range []struct {
		url     string
		sandbox bool
		code    string // "" when valid
	}{
		{"https://hooks.issuer.example/cardhost?token=abc", false, ""},
		{"https://hooks.issuer.example:8443/x", false, ""},
		{"https://not-resolvable-yet.issuer.example/x", false, ""},
		{"https://93.184.215.14/x", false, ""},
		{"http://hooks.issuer.example/x", false, "https_required"},
		{"ftp://hooks.issuer.example/x", false, "https_required"},
		{"http://127.0.0.1:9000/x", true, ""},
		{"https://localhost/x", true, ""},
		{"https://localhost/x", false, "address_refused"},
		{"https://api.localhost/x", false, "address_refused"},
		{"https://127.0.0.1/x", false, "address_refused"},
		{"https://[::1]/x", false, "address_refused"},
		{"https://10.0.0.1/x", false, "address_refused"},
		{"https://169.254.169.254/latest/meta-data", false, "address_refused"},
		{"https://internal.issuer.example/x", false, "address_refused"},
		{"https://metadata.issuer.example/x", false, "address_refused"},
		{"https://user:pass@hooks.issuer.example/x", false, "invalid"},
		{"https://hooks.issuer.example/x#frag", false, "invalid"},
		{"/relative/path", false, "invalid"},
		{"https://", false, "invalid"},
		{"", false, "invalid"},
		{"https://hooks.issuer.example/" + strings.Repeat("a", MaxURL), false, "invalid"},
		{"https://hooks.issuer.example/a b", false, "invalid"},
	} {
		var v issuance.Validator
		CheckURL(context.Background(), &v, "url", tc.url, tc.sandbox, r)
		err := v.Err()
		var ie *issuance.Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("CheckURL(%q, sandbox=%v) = %v, want valid", tc.url, tc.sandbox, err)
		case tc.code != "" && (!errors.As(err, &ie) || len(ie.Fields) != 1 || ie.Fields[0].Field != "url" || ie.Fields[0].Code != tc.code):
			t.Errorf("CheckURL(%q, sandbox=%v) = %v, want url %s", tc.url, tc.sandbox, err, tc.code)
		}
	}
}

func TestEventTypes(t *testing.T) {
	for _, p := range []string{"card.frozen", "card.*", "authorization.*", "webhook_endpoint.disabled", "order.failed"} {
		if !ValidEventType(p) {
			t.Errorf("%q refused", p)
		}
	}
	for _, p := range []string{"", "*", "card", "card.", "card.thawed", "cards.*", "*.frozen", "card.**", "Card.frozen"} {
		if ValidEventType(p) {
			t.Errorf("%q accepted", p)
		}
	}
	for _, s := range kafka.Catalogue() { // every catalogue type is in a group
		g, _, _ := strings.Cut(s.Type, ".")
		if !ValidEventType(g+".*") || !Matches([]string{g + ".*"}, s.Type) || !Matches([]string{s.Type}, s.Type) {
			t.Errorf("%s is not matched by its group", s.Type)
		}
	}
	if Matches([]string{"card.frozen", "order.*"}, "card.unfrozen") || !Matches([]string{"card.frozen", "order.*"}, "order.failed") {
		t.Error("Matches matched the wrong types")
	}
	var v issuance.Validator
	got := checkEventTypes(&v, []string{"card.frozen", "card.frozen", "card.*"})
	if v.Err() != nil || len(got) != 2 {
		t.Errorf("duplicates: %v, %v", got, v.Err())
	}
	v = issuance.Validator{}
	checkEventTypes(&v, []string{"card.frozen", "card.thawed"})
	var ie *issuance.Error
	if !errors.As(v.Err(), &ie) || ie.Fields[0].Field != "event_types[1]" || ie.Fields[0].Code != "unknown" {
		t.Errorf("an unknown type: %v", v.Err())
	}
}

func TestParseSchedule(t *testing.T) {
	got, err := ParseSchedule("0s, 5s,5m,30m,2h,5h,10h,10h")
	if err != nil || len(got) != len(DefaultSchedule) {
		t.Fatalf("ParseSchedule = %v, %v", got, err)
	}
	for i := range got {
		if got[i] != DefaultSchedule[i] {
			t.Fatalf("ParseSchedule = %v, want %v", got, DefaultSchedule)
		}
	}
	for _, bad := range []string{"", "5", "5s,,1m", "-1s", "49h", strings.Repeat("1s,", MaxScheduleLen) + "1s"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}

func TestJitterStaysWithinBounds(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := jitter(time.Hour, 0.2)
		if d < 48*time.Minute || d > 72*time.Minute {
			t.Fatalf("jitter(1h) = %v", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 || jitter(0, 0.2) != 0 {
		t.Fatalf("jitter is not random (%d values) or moves 0", len(seen))
	}
}

// TestOutcome: delivered, retried on the schedule (and not before the
// endpoint's Retry-After, capped), given up when the schedule is done,
// disabled on 410; redirects say why they failed.
func TestOutcome(t *testing.T) {
	d := NewDispatcher(Config{Schedule: []time.Duration{0, time.Minute, time.Hour}, Jitter: -1, MaxRetryAfter: 2 * time.Hour}, nil, nil, nil, nil, nil, nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	job := func(attempt int) Job {
		return Job{DeliveryID: 7, Attempt: attempt, Endpoint: Endpoint{ID: "whe_1", TenantID: "ten_1"}, Event: kafka.Event{ID: "ev"}}
	}
	next := func(o Outcome) time.Duration {
		if o.NextAttemptAt == nil {
			return -1
		}
		return o.NextAttemptAt.Sub(at)
	}
	for _, tc := range []struct {
		name      string
		attempt   int
		res       Result
		delivered bool
		next      time.Duration
		gone      bool
		err       string
	}{
		{"2xx", 1, Result{StatusCode: 204}, true, -1, false, ""},
		{"500, first attempt: the schedule's second delay", 1, Result{StatusCode: 500}, false, time.Minute, false, "answered 500"},
		{"500, second attempt", 2, Result{StatusCode: 500}, false, time.Hour, false, "answered 500"},
		{"500, last attempt: no more", 3, Result{StatusCode: 500}, false, -1, false, "answered 500"},
		{"Retry-After longer than the schedule", 1, Result{StatusCode: 503, RetryAfter: 10 * time.Minute}, false, 10 * time.Minute, false, "answered 503"},
		{"Retry-After shorter than the schedule", 2, Result{StatusCode: 429, RetryAfter: time.Second}, false, time.Hour, false, "answered 429"},
		{"Retry-After capped", 1, Result{StatusCode: 503, RetryAfter: 100 * time.Hour}, false, 2 * time.Hour, false, "answered 503"},
		{"410 Gone", 1, Result{StatusCode: http.StatusGone}, false, -1, true, "answered 410"},
		{"redirect", 1, Result{StatusCode: 302}, false, time.Minute, false, "answered 302: redirects are not followed; register the final URL"},
		{"transport error", 1, Result{Err: errors.New("connection refused")}, false, time.Minute, false, "connection refused"},
		{"2xx with a body over the limit", 1, Result{StatusCode: 200, Err: errors.New("the answer's body is over the limit")}, false, time.Minute, false, "the answer's body is over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := d.outcome(job(tc.attempt), tc.res, at)
			if o.Delivered != tc.delivered || next(o) != tc.next || o.Gone != tc.gone || o.Error != tc.err ||
				o.DeliveryID != 7 || o.Attempt != tc.attempt || o.EndpointID != "whe_1" || o.TenantID != "ten_1" {
				t.Fatalf("outcome = %+v (next %v), want delivered %v next %v gone %v error %q", o, next(o), tc.delivered, tc.next, tc.gone, tc.err)
			}
		})
	}
}
