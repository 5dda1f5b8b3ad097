package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/rest"
)

// lockedBuffer is a log sink safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestNoCardDataInLogsEventsOrTables runs a card through its life —
// creation with a PIN, embossing, simulator PIN, reveal, export, PIN
// change, controls, status — and checks that its PAN, CVV2, PIN and tracks
// appear in no log line, no event, no table row and no stored response.
func TestNoCardDataInLogsEventsOrTables(t *testing.T) {
	logs := &lockedBuffer{}
	ce := newCardEnv(t, func(_ *rest.Config, d *issuance.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	issuer := newIssuerPINKey(t, ce)
	c := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping, "enciphered_pin_block": issuer.block(t, ce, "000000000000", "1357"),
		"incoming_pek": map[string]any{"key_reference": issuer.ref}}).CardID
	ce.emboss(t)
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+c+"/issue", nil, "Idempotency-Key", "leak-issue"), 202)
	mustStatus(t, ce.do("POST", "/v1/simulator/cards/"+c+"/pin", map[string]any{"pin": "8642"}), 200)
	pan, cvv2, _ := ce.reveal(t, c)
	_, rec := exportPerso(t, ce, c)
	mustStatus(t, ce.do("POST", "/v1/cards/"+c+"/pin", map[string]any{"enciphered_pin_block": issuer.block(t, ce, pan, "9753"),
		"incoming_pek": map[string]any{"key_reference": issuer.ref}}, "Idempotency-Key", "leak-pin"), 200)
	mustStatus(t, ce.do("PATCH", "/v1/cards/"+c, map[string]any{"card_limit": 500}), 200)
	mustStatus(t, ce.do("POST", "/v1/cards/"+c+"/freeze", nil, "Idempotency-Key", "leak-freeze"), 200)
	mustStatus(t, ce.do("POST", "/v1/cards/"+c+"/block", map[string]any{"reason": "stolen"}), 200)
	if _, err := ce.svc.ExpireCards(ctx, 10); err != nil {
		t.Fatal(err)
	}

	secrets := map[string]string{"PAN": pan, "PAN middle digits": pan[6:12], "track 2": rec.Track2[:20], "chip track 2": rec.Track2Chip[17:30]}
	check := func(where, text string) {
		t.Helper()
		for name, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s holds the %s", where, name)
			}
		}
	}
	if !strings.Contains(logs.String(), c) {
		t.Fatal("no domain logs captured: the test would prove nothing")
	}
	check("the domain log", logs.String())
	for _, q := range []struct{ where, sql string }{
		{"the outbox", `SELECT coalesce(string_agg(data::text, ' '), '') FROM outbox`},
		{"the cards table", `SELECT row_to_json(c)::text FROM cards c WHERE id = '` + c + `'`},
		{"the orders table", `SELECT coalesce(string_agg(row_to_json(o)::text, ' '), '') FROM card_orders o`},
		{"the audit trail", `SELECT coalesce(string_agg(row_to_json(a)::text, ' '), '') FROM card_audit a`},
		{"stored idempotent responses", `SELECT coalesce(string_agg(convert_from(response_body, 'UTF8'), ' '), '') FROM idempotency_keys WHERE response_body IS NOT NULL`},
		{"the embossing queue", `SELECT coalesce(string_agg(row_to_json(j)::text, ' '), '') FROM embossing_jobs j`},
	} {
		var text string
		if err := ce.db.Pool().QueryRow(ctx, q.sql).Scan(&text); err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		check(q.where, text)
	}
	// No event carries a card-data member at all.
	rows, err := ce.db.Pool().Query(ctx, `SELECT type, data::text FROM outbox WHERE tenant_id = $1`, ce.tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var typ, data string
		if err := rows.Scan(&typ, &data); err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"pan", "cvv", "cvv2", "pin", "pin_block", "track2", "pvv", "pin_verify"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s event has a %q member", typ, k)
			}
		}
		if strings.Contains(data, `"`+cvv2+`"`) {
			t.Errorf("%s event holds the CVV2", typ)
		}
		n++
	}
	if n < 8 {
		t.Fatalf("only %d events: the flow did not run", n)
	}
}
