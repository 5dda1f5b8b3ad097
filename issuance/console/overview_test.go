package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
)

// TestOverviewDecisionTime: the overview's decision time is the p95 (and
// the tooltip's p50) of the tenant's records of each minute, computed from
// known records: 21 decisions taking 1 to 21 ms give p50 11 ms and p95
// 20 ms; another tenant's slow decision in the same minute counts for it
// only.
func TestOverviewDecisionTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	mine, theirs := e.card(e.a, ""), e.card(e.b, "")
	minute := e.clock.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	received := minute.Add(5 * time.Second)
	insert := func(tenantID, cardID string, took time.Duration, code string) {
		t.Helper()
		id := issuance.NewID(issuance.AuthorizationIDPrefix, received)
		if _, err := e.db.Pool().Exec(ctx, `INSERT INTO authorizations (id, tenant_id, card_id, kind, mti, response_code, reason, status, match_key, received_at, decided_at)
			VALUES ($1, $2, $3, 'authorization', '0100', $4, 'approved', 'OPEN', $1, $5, $6)`, id, tenantID, cardID, code, received, received.Add(took)); err != nil {
			t.Fatal(err)
		}
	}
	for ms := 1; ms <= 21; ms++ {
		insert(e.a.ID, mine.ID, time.Duration(ms)*time.Millisecond, "00")
	}
	insert(e.b.ID, theirs.ID, 900*time.Millisecond, "00")

	b := e.browser(e.base)
	b.signIn(e.a.key)
	p := b.get("/console/").must(t, http.StatusOK)
	for _, want := range []string{
		"<title>" + minute.Format("15:04") + ": p50 11.0 ms, p95 20.0 ms</title>",
		`Decision time, p95 (ms) <span class="scale">max 20 ms</span>`,
		`<span class="big">21</span> requests, 21 approved`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
}
