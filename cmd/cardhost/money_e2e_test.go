package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fundedSandbox is the running app's sandbox tenant with money: a deposit
// and a SHARED product (from the seeded catalog) with an issue fee.
type fundedSandbox struct {
	app     *testApp
	c       *apiClient
	tenant  string
	product string
}

func newFundedSandbox(t *testing.T, app *testApp, mode string, deposit int64) *fundedSandbox {
	t.Helper()
	s := &fundedSandbox{app: app, c: newAPIClient(t, app.base(), app.sandboxKey(t))}
	var ten struct{ ID string }
	s.c.do("GET", "/v1/tenant", nil).must(t, 200).decode(t, &ten)
	s.tenant = ten.ID
	var prds struct {
		Data []map[string]any `json:"data"`
	}
	s.c.do("GET", "/v1/card-products", nil).must(t, 200).decode(t, &prds)
	seeded := prds.Data[0]
	var prd struct {
		ID string `json:"product_id"`
	}
	s.c.do("POST", "/v1/card-products", map[string]any{"name": "Funded " + mode, "layout_id": seeded["layout_id"],
		"data_prep_template_id": seeded["data_prep_template_id"], "default_embosser_id": seeded["default_embosser_id"],
		"currency": "USD", "card_type": "VIRTUAL", "funding_mode": mode, "issue_fee": 100}).must(t, 201).decode(t, &prd)
	s.product = prd.ID
	s.c.do("POST", "/v1/simulator/deposits", map[string]any{"currency": "USD", "amount": deposit}).must(t, 201)
	return s
}

// card creates a card of the funded product and returns its id and PAN.
func (s *fundedSandbox) card(t *testing.T) (string, string) {
	t.Helper()
	var card struct {
		ID string `json:"card_id"`
	}
	s.c.do("POST", "/v1/cards", map[string]any{"product_id": s.product, "card_holder_name": "FUNDED CARD"}).must(t, 201).decode(t, &card)
	var rev struct{ PAN string }
	s.c.do("POST", "/v1/cards/"+card.ID+"/reveal", nil).must(t, 200).decode(t, &rev)
	return card.ID, rev.PAN
}

type simAuth struct {
	ID           string `json:"authorization_id"`
	Code         string `json:"response_code"`
	ApprovalCode string `json:"approval_code"`
	RRN          string `json:"rrn"`
	Approved     int64  `json:"approved_amount"`
}

func (s *fundedSandbox) authorize(t *testing.T, card string, amount int64, mcc string) simAuth {
	t.Helper()
	var a simAuth
	s.c.do("POST", "/v1/simulator/authorizations", map[string]any{"card_id": card, "amount": amount, "mcc": mcc}).must(t, 201).decode(t, &a)
	return a
}

func (s *fundedSandbox) balance(t *testing.T) (available, pending int64) {
	t.Helper()
	var b struct {
		Data []struct{ Available, Pending int64 } `json:"data"`
	}
	s.c.do("GET", "/v1/balances", nil).must(t, 200).decode(t, &b)
	return b.Data[0].Available, b.Data[0].Pending
}

// TestClearingImport: `cardhost clearing import FILE` over the running
// app's database: presentments of two authorizations (one with a tip), a
// sale the host never saw (force-posted, flagged), a refund, a malformed
// line and an unknown card (reported on their lines, the rest imported).
// Importing the file again does nothing; an import cut short (the file
// recorded unfinished) completes without posting anything twice. The
// settlement report adds up to the file, over the CLI and the API, and
// `cardhost ledger check` passes.
func TestClearingImport(t *testing.T) {
	env := testEnv(t)
	env["CARDHOST_HTTP_RATE_LIMIT"] = "-1"
	app := startApp(t, env)
	s := newFundedSandbox(t, app, "SHARED", 100000)
	card, pan := s.card(t) // the fee: 100
	lunch := s.authorize(t, card, 2000, "5812")
	books := s.authorize(t, card, 1000, "5942")
	if lunch.Code != "00" || books.Code != "00" {
		t.Fatalf("authorizations: %+v %+v", lunch, books)
	}
	if avail, pending := s.balance(t); avail != 96900 || pending != 3000 {
		t.Fatalf("before clearing: %d available, %d pending", avail, pending)
	}
	unknown := luhnPAN(t, "499999")
	file := strings.Join([]string{
		"# a test clearing file",
		"H|CARDHOST-CLEARING|1|TEST-0001|" + time.Now().UTC().Format("2006-01-02"),
		fmt.Sprintf("D|purchase|%s|2300|USD|%s|%s|74000016074000000000017|5812|CAFE CENTRAL", pan, lunch.ApprovalCode, lunch.RRN),
		fmt.Sprintf("D|purchase|%s|1000|USD|%s|%s|74000016074000000000025|5942|BOOKS", pan, books.ApprovalCode, books.RRN),
		fmt.Sprintf("D|purchase|%s|750|USD|||74000016074000000000033|5999|NEVER AUTHORIZED", pan),
		fmt.Sprintf("D|refund|%s|400|USD|||74000016074000000000041|5942|BOOKS", pan),
		fmt.Sprintf("D|purchase|%s|12x|USD|||74000016074000000000058|5999|BAD AMOUNT", pan),
		fmt.Sprintf("D|purchase|%s|100|USD|||74000016074000000000066|5999|UNKNOWN CARD", unknown),
		"T|6", ""}, "\n")
	path := filepath.Join(t.TempDir(), "clearing-0001.txt")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, getenvOf(env), "clearing", "import", path)
	if code != 2 {
		t.Fatalf("import: exit %d, want 2 (two lines refused)\n%s%s", code, out, errs)
	}
	for _, want := range []string{"line 3: purchase 74000016074000000000017 2300 USD: posted", "line 4: purchase 74000016074000000000025 1000 USD: posted",
		"line 5: purchase 74000016074000000000033 750 USD: force_posted (flagged for review)", "line 6: refund 74000016074000000000041 400 USD: posted",
		"line 7: refused: amount", "line 8: refused: no card has this PAN", "6 records, 4 applied"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s%s", want, out, errs)
		}
	}
	if strings.Contains(out+errs, pan) || strings.Contains(out+errs, unknown) {
		t.Fatal("the import printed a PAN")
	}
	// 96900 + 3000 held - 2300 - 1000 - 750 + 400
	if avail, pending := s.balance(t); avail != 96250 || pending != 0 {
		t.Fatalf("after clearing: %d available, %d pending", avail, pending)
	}
	if code, out, _ := cli(t, getenvOf(env), "clearing", "import", path); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("import again: exit %d\n%s", code, out)
	}
	// An import cut short: the file recorded but never finished.
	conn := dbConn(t, env["DATABASE_URL"])
	if _, err := conn.Exec(t.Context(), `UPDATE clearing_files SET finished_at = NULL`); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := cli(t, getenvOf(env), "clearing", "import", path); code != 2 || !strings.Contains(out, "4 duplicates") {
		t.Fatalf("completing a cut-short import: exit %d\n%s", code, out)
	}
	if avail, _ := s.balance(t); avail != 96250 {
		t.Fatalf("the second import moved money: %d available", avail)
	}
	// The settlement report adds up to the file.
	date := time.Now().UTC().Format("2006-01-02")
	_, out, _ = cli(t, getenvOf(env), "reports", "settlement", "--date", date, "--tenant", s.tenant, "--json")
	var rep struct {
		Currencies []struct {
			Currency                                    string
			Presentments, Refunds, Reversals, Unmatched struct {
				Count  int
				Amount int64
			}
			Net int64
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Currencies) != 1 {
		t.Fatalf("report %v: %s", err, out)
	}
	r := rep.Currencies[0]
	if r.Currency != "USD" || r.Presentments.Count != 3 || r.Presentments.Amount != 4050 || r.Refunds.Amount != 400 ||
		r.Unmatched.Count != 2 || r.Unmatched.Amount != 1150 || r.Net != 3650 {
		t.Fatalf("settlement %+v", r)
	}
	var api struct {
		Currencies []struct{ Net int64 } `json:"currencies"`
	}
	s.c.do("GET", "/v1/reports/settlement?date="+date, nil).must(t, 200).decode(t, &api)
	if len(api.Currencies) != 1 || api.Currencies[0].Net != 3650 {
		t.Fatalf("settlement over the API: %+v", api)
	}
	if code, out, _ := cli(t, getenvOf(env), "ledger", "check"); code != 0 {
		t.Fatalf("ledger check: exit %d\n%s", code, out)
	}
	// A file cut short is refused whole.
	short := strings.Join(strings.Split(file, "\n")[:4], "\n")
	os.WriteFile(path, []byte(short), 0o600)
	if code, _, errs := cli(t, getenvOf(env), "clearing", "import", path); code != 2 || !strings.Contains(errs, "nothing imported") {
		t.Fatalf("a file without trailer: exit %d %s", code, errs)
	}
}
