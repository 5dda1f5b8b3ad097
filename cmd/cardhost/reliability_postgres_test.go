package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/iso"
)

// TestReliabilityDatabaseDown runs the real app with its database behind a
// fault proxy and takes PostgreSQL away three ways: cut (connections reset
// and refused), blackholed (connections open, nothing answers) and slowed
// past the statement timeout. Meanwhile ISO authorizations must be
// answered promptly with 91 (issuer inoperative), never hang past the
// decision timeout, the REST API must answer 503 service_unavailable with
// Retry-After, /readyz must report PostgreSQL not ready and /healthz stay
// up. After each outage the service must resume by itself (the pool
// reconnects) and the stored state must be whole: every approval answered
// is stored with its outbox event, and every card's spend is the sum of
// its stored approvals.
func TestReliabilityDatabaseDown(t *testing.T) {
	const (
		dbTimeout       = time.Second
		decisionTimeout = 1500 * time.Millisecond
		requestTimeout  = 2 * time.Second
		// answerBound is the longest any ISO answer may take during an
		// outage: the decision timeout plus scheduling slack.
		answerBound = decisionTimeout + 1500*time.Millisecond
	)
	env, proxy, direct := proxiedEnv(t)
	env["CARDHOST_DB_TIMEOUT"] = dbTimeout.String()
	env["CARDHOST_ISO_DECISION_TIMEOUT"] = decisionTimeout.String()
	env["CARDHOST_HTTP_REQUEST_TIMEOUT"] = requestTimeout.String()
	// Keys stay unwrapped in the HSM's memory this long, then are read
	// from PostgreSQL again: short, so that outages also hit that path.
	env["CARDHOST_KEY_CACHE_TTL"] = "500ms"
	app := startApp(t, env)
	key := app.sandboxKey(t)
	card, _ := newCard(t, app.issuer(t, "http"), termsimCardRequest())
	c := dialISO(t, app.ISOAddr())
	term := newTerminal(t, "RELDB001")
	hc := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + app.HTTPAddr()

	answered := map[string]bool{}     // terminal/STAN of the approvals answered 00
	var unansweredSeq []*terminal.Txn // the sequential terminal's requests answered 91
	authorize := func(t *testing.T) *resultCode {
		t.Helper()
		start := time.Now()
		r := purchase(t, c, term, card, 100, 10*time.Second)
		took := time.Since(start)
		if r.Code.Approved() {
			answered[term.ID()+"/"+r.Txn.STAN] = true
		}
		if r.Code == iso.IssuerOrSwitchInoperative {
			unansweredSeq = append(unansweredSeq, r.Txn)
		}
		if len(r.Problems) > 0 {
			t.Errorf("answer breaks the interface: %v", r.Problems)
		}
		return &resultCode{code: r.Code, took: took}
	}
	if r := authorize(t); r.code != iso.Approved {
		t.Fatalf("before the outage: %s, want 00", r.code)
	}

	for _, tc := range []struct {
		name   string
		outage func()
	}{
		{"cut", proxy.Cut},
		{"cut after the HSM's key cache expired", func() { time.Sleep(time.Second); proxy.Cut() }},
		{"blackhole", proxy.Blackhole},
		{"slower than the statement timeout", func() { proxy.Slow(dbTimeout + 500*time.Millisecond) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.outage()
			for i := range 2 {
				r := authorize(t)
				if r.code != iso.IssuerOrSwitchInoperative {
					t.Errorf("authorization %d during the outage: %s, want 91", i, r.code)
				}
				if r.took > answerBound {
					t.Errorf("authorization %d answered after %v, want within %v", i, r.took, answerBound)
				}
			}

			// REST: 503 problem details with Retry-After, in bounded time.
			start := time.Now()
			status, h, body := httpGet(t, hc, base+"/v1/tenant", key)
			if took := time.Since(start); took > requestTimeout+1500*time.Millisecond {
				t.Errorf("GET /v1/tenant answered after %v, want within %v", took, requestTimeout)
			}
			if status != http.StatusServiceUnavailable {
				t.Errorf("GET /v1/tenant during the outage: %d %s, want 503", status, body)
			} else if p := decodeProblem(t, h, body); p.Slug != "service_unavailable" || h.Get("Retry-After") == "" {
				t.Errorf("problem %+v, Retry-After %q; want service_unavailable with Retry-After", p, h.Get("Retry-After"))
			}
			status, _, body = httpGet(t, hc, base+"/readyz", "")
			var ready struct {
				Status string
				Checks map[string]string
			}
			_ = json.Unmarshal(body, &ready)
			if status != http.StatusServiceUnavailable || ready.Status != "not_ready" || ready.Checks["postgres"] == "ok" {
				t.Errorf("/readyz during the outage: %d %s", status, body)
			}
			if status, _, body := httpGet(t, hc, base+"/healthz", ""); status != http.StatusOK {
				t.Errorf("/healthz during the outage: %d %s (liveness must not depend on the database)", status, body)
			}

			// Back: service resumes by itself, without a restart.
			proxy.Slow(0)
			proxy.Restore()
			waitFor(t, 15*time.Second, "authorizations to be approved again", func() bool {
				return authorize(t).code == iso.Approved
			})
			if status, _, body := httpGet(t, hc, base+"/v1/tenant", key); status != http.StatusOK {
				t.Errorf("GET /v1/tenant after the outage: %d %s", status, body)
			}
			waitFor(t, 10*time.Second, "/readyz to report ready", func() bool {
				status, _, _ := httpGet(t, hc, base+"/readyz", "")
				return status == http.StatusOK
			})
		})
	}

	// Under load: terminals keep authorizing on their own cards while the
	// database is cut and comes back. Every request gets 00 or 91, in
	// bounded time; nothing else.
	t.Run("cut under load", func(t *testing.T) {
		const workers = 4
		lanes := make([]purchaseLane, workers)
		is := app.issuer(t, "http")
		for i := range lanes {
			card, _ := newCard(t, is, termsimCardRequest())
			lanes[i] = purchaseLane{card, newTerminal(t, fmt.Sprintf("RELLD%03d", i)), dialISO(t, app.ISOAddr())}
		}
		var mu sync.Mutex
		counts := map[iso.ResponseCode]int{}
		unanswered := make([][]*terminal.Txn, workers) // per lane, the requests answered 91
		stop := make(chan struct{})
		wait := purchaseUntil(t, lanes, answerBound, stop, func(i int, tx *terminal.Txn, r *terminal.Result, _ time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			counts[r.Code]++
			if r.Code.Approved() {
				answered[lanes[i].term.ID()+"/"+tx.STAN] = true
			}
			if r.Code == iso.IssuerOrSwitchInoperative {
				unanswered[i] = append(unanswered[i], tx)
			}
		})
		time.Sleep(700 * time.Millisecond)
		proxy.Cut()
		time.Sleep(700 * time.Millisecond)
		proxy.Restore()
		time.Sleep(1500 * time.Millisecond)
		close(stop)
		wait()
		for code, n := range counts {
			if code != iso.Approved && code != iso.IssuerOrSwitchInoperative {
				t.Errorf("%d answers %s, want only 00 and 91", n, code)
			}
		}
		if counts[iso.Approved] == 0 || counts[iso.IssuerOrSwitchInoperative] == 0 {
			t.Errorf("answers %v: want approvals before and after the cut and 91 during it", counts)
		}
		t.Logf("answers under load: %v", counts)

		// docs/iso8583.md 6.5: a 91 is safe to repeat. Each lane repeats
		// its first 91 answers (0101, same fields): only the request a lane
		// had in flight at the cut can have been recorded in spite of its
		// 91 (its reply lost), the later ones failed before reaching the
		// database. A recorded one gets its stored approval back; one that
		// was not is decided now (declined 82 atc_replay, since later chip
		// transactions of the card were approved meanwhile). After the
		// repeats no approval may be in doubt: checked below.
		repeats := map[iso.ResponseCode]int{}
		for i, l := range lanes {
			for _, tx := range unanswered[i][:min(3, len(unanswered[i]))] {
				rtx, err := tx.Retransmit(true, nil)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), answerBound)
				r, err := l.c.Do(ctx, rtx)
				cancel()
				if err != nil {
					t.Fatalf("repeat of STAN %s: %v", tx.STAN, err)
				}
				repeats[r.Code]++
				switch {
				case r.Code.Approved():
					answered[l.term.ID()+"/"+tx.STAN] = true
				case r.Code != iso.CryptographicFailure:
					t.Errorf("repeat of STAN %s answered %s, want its stored approval or 82 (ATC already passed)", tx.STAN, r.Code)
				}
			}
		}
		t.Logf("repeats of the 91 answers: %v", repeats)
	})

	// The sequential terminal repeats its 91s too: with the database slower
	// than the decision bound, a commit can reach it after the host gave
	// up (stored, answered 91); the repeat gets it back.
	for _, tx := range unansweredSeq {
		rtx, err := tx.Retransmit(true, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), answerBound)
		r, err := c.Do(ctx, rtx)
		cancel()
		if err != nil {
			t.Fatalf("repeat of STAN %s: %v", tx.STAN, err)
		}
		switch {
		case r.Code.Approved():
			answered[term.ID()+"/"+tx.STAN] = true
		case r.Code != iso.CryptographicFailure:
			t.Errorf("repeat of STAN %s answered %s, want its stored approval or 82 (ATC already passed)", tx.STAN, r.Code)
		}
	}

	got := checkConsistency(t, direct)
	checkApprovalsStored(t, direct, answered)
	t.Logf("after the outages: %+v", got)
}

type resultCode struct {
	code iso.ResponseCode
	took time.Duration
}
