package scenario

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/iso"
)

const validScenario = `name: example
setup:
  cards:
    alice: {network: VISA, cvn: 18, pin: "1234", spending_controls: [{amount: 5000, interval: DAILY}]}
    bob:
      card: {pan: "4761739001010010", expiry: "3012", cvv: "123"}
steps:
  - name: buy
    id: buy
    auth: {card: alice, amount: 2500, pin: right}
    expect: {code: "00", reason: approved, arpc: valid, events: [authorization.approved]}
  - retransmit: {of: buy}
    expect: {code: "00", same_as: buy}
  - reversal: {of: buy, keep: 100}
    expect: {code: "00"}
  - wait: 10ms
  - card: {card: alice, action: block, reason: lost}
    expect: {status: BLOCKED}
  - auth: {card: bob, entry: magstripe}
    expect: {code: "14"}
  - echo: {}
`

func TestParseScenario(t *testing.T) {
	sc, err := ParseScenario("example.yaml", []byte(validScenario))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "example" || len(sc.Setup.Cards) != 2 || sc.Setup.Cards[0].Name != "alice" || sc.Setup.Cards[1].Name != "bob" {
		t.Fatalf("setup %+v", sc.Setup.Cards)
	}
	if len(sc.Steps) != 7 || sc.Steps[0].Line != 8 || sc.Steps[0].Auth.Line != 10 || *sc.Steps[0].Auth.Amount != 2500 {
		t.Fatalf("steps %+v", sc.Steps[0])
	}
	if sc.Steps[3].Wait.Milliseconds() != 10 || sc.Steps[1].Expect.SameAs != "buy" || *sc.Steps[2].Reversal.Keep != 100 {
		t.Errorf("steps %+v %+v %+v", sc.Steps[1], sc.Steps[2], sc.Steps[3])
	}
	if api, kafka := sc.Needs(); !api || !kafka {
		t.Errorf("Needs = %v %v", api, kafka)
	}
	if !sc.Setup.Cards[1].Local() || sc.Setup.Cards[0].Local() {
		t.Error("Local")
	}
}

func TestParseScenarioErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string // "line:col: words"
	}{
		{"unknown key", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a, colour: red}
    expect: {code: "00"}
`, []string{`3:21: unknown key "colour"`}},
		{"wrong type", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a, amount: ten}
    expect: {code: "00"}
`, []string{"3:29: want a whole number, got text"}},
		{"undefined card", `setup: {cards: {a: {}}}
steps:
  - auth: {card: b}
    expect: {code: "00"}
`, []string{`3:11: auth: card "b" is not defined in setup.cards`}},
		{"unknown code", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a}
    expect: {code: "77"}
`, []string{`4:13: expect: code "77" is not a response code`}},
		{"unknown reason", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a}
    expect:
      code: "05"
      reason: card_on_fire
`, []string{`5:7: expect: reason "card_on_fire" is not a reason`}},
		{"reason of another code", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a}
    expect: {code: "51", reason: card_frozen}
`, []string{"expect: reason card_frozen answers 62, not 51"}},
		{"unknown event", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a}
    expect: {code: "00", events: [card.exploded]}
`, []string{`event type "card.exploded"`}},
		{"two actions", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a}
    echo: {}
`, []string{"3:5: a step needs exactly one of"}},
		{"reference to a later step", `setup: {cards: {a: {}}}
steps:
  - reversal: {of: later}
    expect: {code: "00"}
  - id: later
    auth: {card: a}
    expect: {code: "00"}
`, []string{`3:15: reversal: of "later" names no earlier step`}},
		{"advice of another card's request", `setup: {cards: {a: {}, b: {}}}
steps:
  - id: first
    auth: {card: a}
    expect: {code: "00"}
  - advice: {card: b, of: first}
    expect: {code: "00"}
`, []string{`6:13: advice: of "first" is a request of another card`}},
		{"of on an auth", `setup: {cards: {a: {}}}
steps:
  - id: first
    auth: {card: a}
    expect: {code: "00"}
  - auth: {card: a, of: first}
    expect: {code: "00"}
`, []string{`6:11: auth: of is for an advice`}},
		{"code missing", `setup: {cards: {a: {}}}
steps:
  - auth: {card: a}
`, []string{"expect: code is required"}},
		{"card file card with API members", `setup:
  cards:
    a: {card: {pan: "4761739001010010", expiry: "3012"}, pin: "1234"}
steps:
  - auth: {card: a}
    expect: {code: "14"}
`, []string{`3:8: card "a": a card from a card file is not created through the API`}},
		{"reason of a card file card", `setup:
  cards:
    a: {card: {pan: "4761739001010010", expiry: "3012", cvv: "123"}}
steps:
  - auth: {card: a, entry: magstripe}
    expect: {code: "14", reason: card_not_found}
`, []string{"read back for cards created through the API"}},
		{"many mistakes at once", `setup: {cards: {a: {network: AMEX}}}
steps:
  - auth: {card: a, entry: swipe, pin: "12"}
    expect: {code: "00", arpc: maybe}
`, []string{`1:20: card "a": network "AMEX"`, `3:11: auth: entry "swipe"`, "pin must be right, wrong or 4 to 12 digits", "arpc must be valid, absent or any"}},
		{"json", "{\"setup\": {\"cards\": {\"a\": {}}},\n \"steps\": [\n  {\"auth\": {\"card\": \"a\", \"amount\": \"ten\"}, \"expect\": {\"code\": \"00\"}}]}\n",
			[]string{"3:36: want a whole number"}},
		{"setup merchant too long", `setup:
  merchant: A MERCHANT OF SIXTEEN
  cards: {a: {}}
steps:
  - auth: {card: a}
    expect: {code: "00"}
`, []string{"2:3: setup.merchant (field 42) must be up to 15 letters, digits, spaces or #"}},
		{"not yaml", "steps: [\n", []string{"not valid YAML/JSON"}},
		{"no steps", "setup: {cards: {a: {}}}\n", []string{"at least one step"}},
		{"duplicate key", "steps:\n  - echo: {}\n    echo: {}\n", []string{`3:5: key "echo" given twice`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario("s.yaml", []byte(tc.data))
			var se *ScenarioError
			if !errors.As(err, &se) || !errors.Is(err, ErrScenario) {
				t.Fatalf("ParseScenario = %v, want a *ScenarioError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), "s.yaml:"+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("errors\n%v\nlack %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "s.yaml") {
					t.Errorf("error line %q does not name the file", line)
				}
			}
		})
	}
}

// TestScenarioFilesCoverDesign checks that testdata/scenarios is valid and
// expects every response code and every reason of DESIGN.md's table at
// least once (96 cannot be caused from outside: it is the host failing).
func TestScenarioFilesCoverDesign(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	codes, reasons := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, s := range sc.Steps {
			codes[s.Expect.Code] = true
			reasons[s.Expect.Reason] = true
		}
	}
	for _, c := range iso.ResponseCodes() {
		if c == iso.SystemMalfunction || c == iso.IssuerOrSwitchInoperative || c == iso.DoNotHonor || c == iso.SuspectedFraud {
			continue // not provokable from outside (96, 91), or no rule gives them (05 is an advice's own code, 59)
		}
		if !codes[string(c)] {
			t.Errorf("no scenario expects response code %s (%s)", c, c.Meaning())
		}
	}
	for r := range Reasons {
		switch r {
		case "system_error", // the host failing: not provokable from outside
			"card_not_found",         // not published: no card to address the event to (docs/events.md)
			"duplicate_transmission": // not stored: a duplicate changes nothing (docs/iso8583.md 8.5)
			continue // their codes (14, 94) are expected by scenarios
		}
		if !reasons[r] {
			t.Errorf("no scenario expects reason %s", r)
		}
	}
}

// merchantGuardCards is the host's default merchant guard threshold
// (CARDHOST_CNP_MERCHANT_CARDS, docs/operations.md), which the replay of
// testdata/scenarios runs with: merchant_blocked_59 trips it on purpose.
const merchantGuardCards = 10

// guardFailures are the answers the merchant guard counts as a failed
// card-not-present verification (docs/iso8583.md 8.7), by reason; a step
// that expects no reason counts by its code (14 card_not_found is never
// published, so never expected as a reason).
var guardFailures = map[string]bool{"card_not_found": true, "card_expired": true, "expiry_missing": true,
	"cvv2_invalid": true, "cvv2_missing": true, "cvv2_tries_exceeded": true}

// TestScenarioFilesStayBelowTheMerchantGuard: the scenarios of a replay
// share one host, whose merchant guard blocks a merchant (59 to every
// card-not-present request) once its card-not-present requests fail
// verification on merchantGuardCards distinct cards. A merchant several
// scenarios use (the terminal's default, when a scenario sets neither
// setup.merchant nor a step's merchant) must stay at half of that, or a
// few more scenarios would get it blocked in the middle of a replay; a
// scenario that fails more stands at a merchant of its own.
func TestScenarioFilesStayBelowTheMerchantGuard(t *testing.T) {
	files, err := filepath.Glob("../../../testdata/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	type merchant struct{ acquirer, id string }
	cards, scenarios := map[merchant]map[string]bool{}, map[merchant]map[string]bool{}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sc.Steps {
			a := s.Auth
			if a == nil || (a.Entry != "manual" && a.Entry != "ecommerce") {
				continue // the guard counts 0100/0200 of card-not-present entry modes only
			}
			m := merchant{a.Acquirer, cmp.Or(a.Merchant, sc.Setup.Merchant)}
			if scenarios[m] == nil {
				scenarios[m], cards[m] = map[string]bool{}, map[string]bool{}
			}
			scenarios[m][f] = true
			failed := guardFailures[s.Expect.Reason]
			if s.Expect.Reason == "" {
				failed = slices.Contains([]string{"14", "30", "54", "82"}, s.Expect.Code)
			}
			if failed {
				cards[m][filepath.Base(f)+" "+a.Card] = true
			}
		}
	}
	for m, failed := range cards {
		shared := m.id == "" || len(scenarios[m]) > 1
		if shared && len(failed) > merchantGuardCards/2 {
			name := cmp.Or(m.id, "the terminal's default") + " (acquirer " + cmp.Or(m.acquirer, "default") + ")"
			t.Errorf("merchant %s fails card-not-present verifications on %d cards across %d scenarios, more than half the merchant guard's %d: "+
				"give the scenarios that fail on purpose a merchant of their own (setup.merchant); cards: %v",
				name, len(failed), len(scenarios[m]), merchantGuardCards, slices.Sorted(maps.Keys(failed)))
		}
	}
}

// localScenario is a scenario over card-file cards the scripted issuer
// knows (no REST API).
func localScenario(t *testing.T, expectCode string) *Scenario {
	t.Helper()
	s := terminaltest.CardSpec(t, "VISA", 18)
	data := fmt.Sprintf(`name: local
setup:
  cards:
    c:
      card: {pan: %q, expiry: "3012", psn: "01", cvn: 18, icc_master_key_ac: %q, cvv: %q, icvv: %q, cvv2: %q}
steps:
  - id: buy
    auth: {card: c, amount: 1000}
    expect: {code: %q, approval_code: present, arpc: valid, amount: 1000}
  - retransmit: {of: buy}
    expect: {code: "00", same_as: buy}
  - auth: {card: c, tamper_arqc: true}
    expect: {code: "82", arpc: absent}
  - echo: {}
`, s.PAN, s.ICCMasterKeyAC, s.CVV, s.ICVV, s.CVV2, expectCode)
	sc, err := ParseScenario(filepath.Join(t.TempDir(), "local.yaml"), []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestRunnerLocalScenario(t *testing.T) {
	addr := terminaltest.IssuerHost(t, func(m *iso8583.Message) iso.ResponseCode {
		if f55, _ := m.GetBytes(iso.FieldICC); len(f55) > 0 {
			return verdictOf(t, m)
		}
		return iso.Approved
	})
	r := &Runner{Addr: addr}
	// run replays the local scenario expecting code; it returns the result
	// and its text report.
	run := func(t *testing.T, code string) (*ScenarioResult, string) {
		t.Helper()
		res, err := r.Run(context.Background(), localScenario(t, code))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		res.WriteText(&out)
		return res, out.String()
	}
	t.Run("pass", func(t *testing.T) {
		res, out := run(t, "00")
		if !res.Pass || len(res.Steps) != 4 {
			t.Fatalf("report:\n%s", out)
		}
		if !strings.HasPrefix(out, "PASS local") || strings.Count(out, "  PASS ") != 4 {
			t.Errorf("report:\n%s", out)
		}
	})
	t.Run("a wrong expectation fails with a clear report", func(t *testing.T) {
		res, out := run(t, "51")
		if res.Pass || res.Steps[0].Pass || !res.Steps[1].Pass {
			t.Fatalf("report:\n%s", out)
		}
		for _, want := range []string{"FAIL local", "FAIL  1 auth", "BAD code                 want 51 insufficient funds", "got 00 approved", "ok  ARPC (tag 91)"} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("setup.merchant is field 42 of every request", func(t *testing.T) {
		merchants := make(chan string, 16)
		addr := terminaltest.IssuerHost(t, func(m *iso8583.Message) iso.ResponseCode {
			if mti, _ := m.GetMTI(); !strings.HasPrefix(mti, "08") { // an echo has no field 42
				f42, _ := m.GetString(iso.FieldMerchant)
				merchants <- f42
			}
			return iso.Approved
		})
		sc := localScenario(t, "00")
		sc.Setup.Merchant = "OWNMERCHANT0001"
		sc.Steps[2].Expect.Code = "00" // this issuer approves the tampered ARQC too
		res, err := (&Runner{Addr: addr}).Run(context.Background(), sc)
		if err != nil || !res.Pass {
			t.Fatalf("run: %v %+v", err, res)
		}
		close(merchants)
		n := 0
		for m := range merchants {
			n++
			if strings.TrimSpace(m) != "OWNMERCHANT0001" {
				t.Errorf("field 42 %q, want OWNMERCHANT0001", m)
			}
		}
		if n < 3 {
			t.Errorf("%d requests seen, want at least 3", n)
		}
	})
	t.Run("host down", func(t *testing.T) {
		down := &Runner{Addr: "127.0.0.1:1", Timeout: 200e6}
		res, _ := down.Run(context.Background(), localScenario(t, "00"))
		if res.Pass || res.Setup == "" {
			t.Fatalf("result %+v", res)
		}
	})
	t.Run("REST cards without API", func(t *testing.T) {
		sc, err := ParseScenario("x.yaml", []byte(validScenario))
		if err != nil {
			t.Fatal(err)
		}
		res, _ := r.Run(context.Background(), sc)
		if res.Pass || !strings.Contains(res.Setup, "REST API") {
			t.Fatalf("result %+v", res)
		}
	})
}

// verdictOf approves chip requests whose ARQC verifies under the test IMK
// and declines the others 82.
func verdictOf(t *testing.T, m *iso8583.Message) iso.ResponseCode {
	r := iso.Approved
	pan, _ := m.GetString(iso.FieldPAN)
	f55, _ := m.GetBytes(iso.FieldICC)
	if !terminaltest.ARQCVerifies(t, pan, f55) {
		r = iso.CryptographicFailure
	}
	return r
}

// FuzzParseScenario: no input makes the scenario parser panic, and every
// mistake it reports names the file.
func FuzzParseScenario(f *testing.F) {
	files, _ := filepath.Glob("../../../testdata/scenarios/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(validScenario))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseScenario("f.yaml", data)
		if err != nil && !strings.HasPrefix(err.Error(), "f.yaml") {
			t.Fatalf("error without file name: %v", err)
		}
	})
}

// TestScenariosShareOneSTANSequence: every scenario of a Runner takes its
// STANs from one sequence (they share the terminal id), so two scenarios
// running at once never send the same STAN.
func TestScenariosShareOneSTANSequence(t *testing.T) {
	r := &Runner{}
	a, b := r.stanSource(), r.stanSource()
	seen := map[string]bool{}
	for i := range 1000 {
		src := a
		if i%2 == 1 {
			src = b
		}
		s := src()
		if len(s) != 6 || seen[s] {
			t.Fatalf("STAN %q repeated or malformed after %d", s, i)
		}
		seen[s] = true
	}
	x, _ := strconv.Atoi(a())
	y, _ := strconv.Atoi(b())
	if y != x%999_999+1 {
		t.Fatalf("scenarios' STANs %06d then %06d: not one sequence", x, y)
	}
	fixed := func() string { return "000042" }
	r = &Runner{}
	r.Terminal.STAN = fixed
	if got := r.stanSource()(); got != "000042" {
		t.Fatalf("a configured STAN source is not used: %q", got)
	}
}
