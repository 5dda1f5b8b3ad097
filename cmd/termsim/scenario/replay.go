package scenario

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/decider"
	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/iso"
)

// Runner replays scenarios against a host: it sets their cards up through
// the REST API, sends their steps over one ISO 8583 connection per
// scenario and checks every expectation. A Runner may run several
// scenarios, one after the other or at once; it is safe for concurrent use.
type Runner struct {
	// Addr is the ISO 8583 host address.
	Addr string
	// API creates the scenarios' cards (nil: only scenarios whose cards
	// all come from card files can run).
	API *API
	// TransportKey opens the cards' personalisation exports (nil: the
	// sandbox key, DefaultTransportKeyHex).
	TransportKey []byte
	// Terminal is the terminal of every scenario. Its STANs are one
	// sequence for the whole Runner (by default), so that scenarios
	// running at once on the same terminal id never send the same STAN in
	// the same second: the host would take the second for a changed
	// retransmission (94).
	Terminal terminal.TerminalConfig
	// Timeout bounds each ISO 8583 request and each wait for events
	// (default 5 seconds).
	Timeout time.Duration
	// Events reads the events that expect.events and expect.reason check
	// (nil: reasons are read from the REST API, and expecting events is a
	// failure).
	Events *EventWatcher

	mu       sync.Mutex
	stans    func() string     // Terminal.STAN, or one sequence made on first use
	products map[string]string // "VISA/18/USD" -> product id
	runTag   string            // the digits Merchant puts for #, chosen once
}

// Merchant returns field 42 for a scenario's merchant m: each # becomes a
// digit chosen once per Runner (random), so that a scenario that gets its
// merchant blocked on purpose (the host's BIN-attack guard keeps a block
// for 30 minutes) finds a merchant of its own again in the next replay
// against the same host. Safe for concurrent use.
func (r *Runner) Merchant(m string) string {
	if !strings.Contains(m, "#") {
		return m
	}
	r.mu.Lock()
	if r.runTag == "" {
		r.runTag = fmt.Sprintf("%015d", rand.Uint64N(1e15))
	}
	tag := r.runTag
	r.mu.Unlock()
	b := []byte(m)
	for i, n := 0, 0; i < len(b); i++ {
		if b[i] == '#' {
			b[i] = tag[n]
			n++
		}
	}
	return string(b)
}

// Check is one expectation of a step and what came back.
type Check struct {
	What string `json:"what"` // what was checked, e.g. "code"
	Want string `json:"want"` // what the scenario expects
	Got  string `json:"got"`  // what came back
	OK   bool   `json:"ok"`   // whether they agree
}

// StepResult is the outcome of one step.
type StepResult struct {
	Index int     `json:"index"`           // 1-based position in the scenario
	Line  int     `json:"line"`            // line of the step in the file
	Name  string  `json:"name"`            // the step's name (default its kind)
	Kind  string  `json:"kind"`            // auth, advice, capture, reversal, retransmit, echo, wait, card, clearing, expire
	Pass  bool    `json:"pass"`            // every check held and the step ran
	Error string  `json:"error,omitempty"` // why the step could not be run
	Check []Check `json:"checks"`          // the expectations checked
}

// ScenarioResult is the outcome of a scenario.
type ScenarioResult struct {
	File     string        `json:"file"`                  // the scenario file
	Name     string        `json:"name"`                  // the scenario's name
	Pass     bool          `json:"pass"`                  // every step passed
	Setup    string        `json:"setup_error,omitempty"` // why the setup failed (no step ran)
	Steps    []StepResult  `json:"steps"`                 // one per step run
	Duration time.Duration `json:"duration_ns"`           // setup and steps
}

// stepState is what later steps may refer to.
type stepState struct {
	tx     *terminal.Txn
	result *terminal.Result
}

// scenarioRun is one scenario in progress.
type scenarioRun struct {
	r      *Runner
	sc     *Scenario
	term   *terminal.Terminal
	client *terminal.Client
	cards  map[string]*terminal.Card
	steps  map[string]*stepState
	// decider is the local decision endpoint, started by the first
	// decider step.
	decider *decider.Server
}

// Needs returns what a scenario needs from the runner: the REST API (cards
// to create, card steps, status or reason expectations without Kafka) and
// Kafka (event expectations).
func (sc *Scenario) Needs() (api, kafka bool) {
	for _, c := range sc.Setup.Cards {
		api = api || !c.Local()
	}
	for _, s := range sc.Steps {
		kafka = kafka || len(s.Expect.Events) > 0
		api = api || s.Decider != nil || s.Clearing != nil || s.Expire != nil || s.Expect.Available != nil
	}
	return api, kafka
}

// Exclusive reports whether sc must run alone: its decider steps set the
// tenant's decision endpoint, which would decide the requests of the
// scenarios running beside it.
func (sc *Scenario) Exclusive() bool {
	for _, s := range sc.Steps {
		if s.Decider != nil {
			return true
		}
	}
	return false
}

// stanSource returns the STAN source every scenario's terminal shares.
func (r *Runner) stanSource() func() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stans == nil {
		r.stans = r.Terminal.STAN
		if r.stans == nil {
			r.stans = terminal.NewSTANs()
		}
	}
	return r.stans
}

// Run runs sc and returns its result; the error is only for a canceled
// context. Setup failures and failed steps are in the result.
func (r *Runner) Run(ctx context.Context, sc *Scenario) (*ScenarioResult, error) {
	start := time.Now()
	res := &ScenarioResult{File: sc.File, Name: sc.Name}
	defer func() { res.Duration = time.Since(start) }()
	run := &scenarioRun{r: r, sc: sc, cards: map[string]*terminal.Card{}, steps: map[string]*stepState{}}
	tc := r.Terminal
	tc.STAN = r.stanSource()
	if sc.Setup.Merchant != "" {
		tc.MerchantID = r.Merchant(sc.Setup.Merchant)
	}
	term, err := terminal.NewTerminal(tc)
	if err != nil {
		res.Setup = err.Error()
		return res, nil
	}
	run.term = term
	if err := run.setup(ctx); err != nil {
		res.Setup = err.Error()
		return res, ctx.Err()
	}
	defer func() {
		for _, c := range run.cards {
			_ = c.SaveState()
		}
	}()
	if run.client, err = terminal.Dial(ctx, r.Addr, terminal.ConnectTimeout(r.timeout()), terminal.RequestTimeout(r.timeout())); err != nil {
		res.Setup = err.Error()
		return res, ctx.Err()
	}
	defer func() { run.client.Close() }()
	defer run.stopDecider()
	res.Pass = true
	for i := range sc.Steps {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		sr := run.step(ctx, i, &sc.Steps[i])
		res.Pass = res.Pass && sr.Pass
		res.Steps = append(res.Steps, sr)
	}
	return res, nil
}

// setDecider applies a decider step: the local decider gets the step's
// rules and the tenant's decision endpoint points at it (or is removed).
func (run *scenarioRun) setDecider(ctx context.Context, d *DeciderStep) error {
	if d.Off {
		return run.r.API.DeleteDecision(ctx)
	}
	rules := decider.Rules{DeclineAbove: d.DeclineAbove, Reason: d.Reason, Partial: d.Partial, Sleep: d.Sleep, Status: d.Status}
	if run.decider == nil {
		srv, err := decider.Start("127.0.0.1:0", rules)
		if err != nil {
			return err
		}
		run.decider = srv
	}
	run.decider.Set(rules)
	ep, err := run.r.API.PutDecision(ctx, DecisionEndpoint{URL: run.decider.URL(), TimeoutMS: d.TimeoutMS, DefaultAction: d.DefaultAction})
	if err != nil {
		return err
	}
	if ep.Secret != "" {
		return run.decider.SetSecret(ep.Secret)
	}
	return nil
}

// stopDecider removes the decision endpoint a scenario set (the tenant's
// next scenarios are decided by the host alone) and stops the decider.
func (run *scenarioRun) stopDecider() {
	if run.decider == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), run.r.timeout())
	defer cancel()
	_ = run.r.API.DeleteDecision(ctx)
	_ = run.decider.Close()
}

func (r *Runner) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 5 * time.Second
}

// setup makes the scenario's cards.
func (run *scenarioRun) setup(ctx context.Context) error {
	r := run.r
	for _, sc := range run.sc.Setup.Cards {
		if sc.Local() {
			var c *terminal.Card
			var err error
			if sc.File != "" {
				path := sc.File
				if !filepath.IsAbs(path) {
					path = filepath.Join(filepath.Dir(run.sc.File), path)
				}
				c, err = terminal.LoadCard(path)
			} else {
				c, err = terminal.NewCard(sc.Card.Spec())
			}
			if err != nil {
				return fmt.Errorf("card %s: %w", sc.Name, err)
			}
			run.cards[sc.Name] = c
			continue
		}
		if r.API == nil {
			return fmt.Errorf("card %s is created through the REST API: give the API URL and key", sc.Name)
		}
		c, err := run.createCard(ctx, sc)
		if err != nil {
			return fmt.Errorf("card %s: %w", sc.Name, err)
		}
		run.cards[sc.Name] = c
	}
	return nil
}

func (run *scenarioRun) createCard(ctx context.Context, sc *SetupCard) (*terminal.Card, error) {
	r := run.r
	product := sc.Product
	plastic := sc.Status == "PROVISIONED"
	if product == "" {
		var err error
		if product, err = r.productFor(ctx, sc, plastic); err != nil {
			return nil, err
		}
	}
	req := CardRequest{ProductID: product, CardHolderName: "TERMSIM SCENARIO", Currency: sc.Currency, CardLimit: sc.CardLimit,
		SpendingControls: sc.SpendingControls, RiskControls: sc.RiskControls, UsageType: sc.UsageType, AutoCancelTrigger: sc.AutoCancelTrigger}
	if plastic {
		req.Type = "PLASTIC"
		req.ShippingAddress = &Address{Line1: "1 Test Street", City: "San Jose", Country: "US"}
	}
	if sc.ExpiryAt != "" {
		t, err := expiryAt(sc.ExpiryAt, time.Now())
		if err != nil {
			return nil, err
		}
		t = t.UTC()
		req.ExpiryAt = &t
	}
	key := r.TransportKey
	if key == nil {
		key, _ = emv.DecodeHex(terminal.DefaultTransportKeyHex)
	}
	is := &Issuer{API: r.API, TransportKey: key}
	c, info, err := is.NewCard(ctx, req, sc.PIN)
	if err != nil {
		return nil, err
	}
	if c.PIN == "" && sc.PIN != "" {
		c.PIN = emv.Sensitive(sc.PIN)
	}
	if sc.Recharge != nil { // the card's starting balance, from a sandbox deposit
		cur := sc.Currency
		if cur == "" {
			cur = "USD"
		}
		if err := r.API.Deposit(ctx, cur, *sc.Recharge); err != nil {
			return nil, err
		}
		if err := r.API.Recharge(ctx, info.CardID, *sc.Recharge); err != nil {
			return nil, err
		}
	}
	action := map[string]string{"FROZEN": "freeze", "BLOCKED": "block", "CANCELED": "cancel"}[sc.Status]
	if action != "" {
		if _, err := r.API.CardAction(ctx, info.CardID, action, sc.BlockReason); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// productFor returns a product of the card's network and CVN's sandbox
// template in its currency, with its CVV2 rules and funding mode (""
// for LIMIT): the tenant's existing one, or a new one made like the seeded
// default product (same layout and embosser). A plastic product uses an
// embosser with manual issue (its cards stay PROVISIONED).
func (r *Runner) productFor(ctx context.Context, sc *SetupCard, plastic bool) (string, error) {
	network, cvn, currency := sc.Network, sc.CVN, sc.Currency
	policy, tries := cmp.Or(sc.CVV2Policy, "REQUIRED"), cmp.Or(sc.CVV2MaxTries, 5)
	funding, mode := sc.Funding, cmp.Or(sc.Funding, "LIMIT")
	if network == "" {
		network = "VISA"
	}
	if cvn == 0 {
		cvn = 18
	}
	if currency == "" {
		currency = "USD"
	}
	nw, err := emv.ParseNetwork(network)
	if err != nil {
		return "", err
	}
	cardType := "VIRTUAL"
	if plastic {
		cardType = "PLASTIC"
	}
	key := fmt.Sprintf("%s/%d/%s/%s/%s/%d/%s", nw, cvn, currency, cardType, policy, tries, mode)
	r.mu.Lock()
	defer r.mu.Unlock()
	if id, ok := r.products[key]; ok {
		return id, nil
	}
	tpls, err := r.API.Templates(ctx)
	if err != nil {
		return "", err
	}
	tpl := ""
	for _, t := range tpls {
		if strings.EqualFold(t.Network, string(nw)) && t.CVN == cvn {
			tpl = t.ID
			break
		}
	}
	if tpl == "" {
		return "", fmt.Errorf("the tenant has no data prep template for %s CVN %d (the sandbox seeds one per CVN)", nw, cvn)
	}
	ps, err := r.API.Products(ctx)
	if err != nil {
		return "", err
	}
	var model *Product
	for i := range ps {
		p := &ps[i]
		if p.Status != "ACTIVE" {
			continue
		}
		if p.TemplateID == tpl && p.Currency == currency && p.CardType == cardType && (!plastic || strings.HasPrefix(p.Name, "termsim ")) &&
			p.CVV2Policy == policy && p.CVV2MaxTries == tries && (p.FundingMode == mode || p.FundingMode == "" && mode == "LIMIT") {
			r.remember(key, p.ID)
			return p.ID, nil
		}
		if model == nil && p.CardType == "VIRTUAL" {
			model = p
		}
	}
	if model == nil {
		return "", errors.New("the tenant has no ACTIVE VIRTUAL product to copy layout and embosser from")
	}
	embosser := model.DefaultEmbosserID
	if plastic {
		if embosser, err = r.manualEmbosser(ctx, model.DefaultEmbosserID); err != nil {
			return "", err
		}
	}
	name := fmt.Sprintf("termsim %s CVN %d %s %s CVV2 %s %d", nw, cvn, currency, cardType, policy, tries)
	if funding != "" {
		name += " " + funding
	}
	p, err := r.API.CreateProduct(ctx, ProductRequest{Name: name, LayoutID: model.LayoutID, TemplateID: tpl, DefaultEmbosserID: embosser,
		Currency: currency, CardType: cardType, CVV2Policy: policy, CVV2MaxTries: tries, FundingMode: funding})
	if err != nil {
		return "", err
	}
	r.remember(key, p.ID)
	return p.ID, nil
}

// manualEmbosser returns an embosser with manual issue, made with the
// transport key of the embosser model (the tenant's sandbox one).
func (r *Runner) manualEmbosser(ctx context.Context, model string) (string, error) {
	if id, ok := r.products["embosser/manual"]; ok {
		return id, nil
	}
	es, err := r.API.Embossers(ctx)
	if err != nil {
		return "", err
	}
	kek := ""
	for _, e := range es {
		if e.ManualIssue && strings.HasPrefix(e.Name, "termsim ") {
			r.remember("embosser/manual", e.ID)
			return e.ID, nil
		}
		if e.ID == model {
			kek = e.KEKRef
		}
	}
	if kek == "" {
		return "", errors.New("the default product's embosser has no transport key to copy")
	}
	e, err := r.API.CreateEmbosser(ctx, "termsim manual issue", kek, true)
	if err != nil {
		return "", err
	}
	r.remember("embosser/manual", e.ID)
	return e.ID, nil
}

func (r *Runner) remember(key, id string) {
	if r.products == nil {
		r.products = map[string]string{}
	}
	r.products[key] = id
}

// badField55 is a field 55 that is not BER-TLV: 9F26 announces 8 bytes and
// 1 follows.
var badField55 = []byte{0x9F, 0x26, 0x08, 0x01}

// step runs one step.
func (run *scenarioRun) step(ctx context.Context, i int, s *Step) StepResult {
	kind, _ := s.kind()
	sr := StepResult{Index: i + 1, Line: s.Line, Name: s.Name, Kind: kind}
	if sr.Name == "" {
		sr.Name = kind
	}
	start := time.Now()
	fail := func(err error) StepResult {
		sr.Error = err.Error()
		return sr
	}
	var tx *terminal.Txn
	var err error
	var card *terminal.Card
	switch kind {
	case "wait":
		t := time.NewTimer(s.Wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		sr.Pass = true
		return sr
	case "echo":
		_, err := run.client.Echo(ctx)
		got := iso.Approved
		var re *terminal.ResponseError
		if errors.As(err, &re) {
			got, err = re.Code, nil
		}
		if err != nil {
			return fail(err)
		}
		want := s.Expect.Code
		if want == "" {
			want = "00"
		}
		sr.add("code", want, string(got), string(got) == want)
		sr.Pass = sr.passed()
		return sr
	case "decider":
		if err := run.setDecider(ctx, s.Decider); err != nil {
			return fail(err)
		}
		sr.Pass = true
		return sr
	case "card":
		c := s.Card
		card = run.cards[c.Card]
		if _, err := run.r.API.CardAction(ctx, card.ID, c.Action, c.Reason); err != nil {
			return fail(err)
		}
		run.checkCard(ctx, &sr, s, card, nil, start)
		sr.Pass = sr.passed()
		return sr
	case "clearing", "expire":
		of := ""
		if s.Clearing != nil {
			of = s.Clearing.Of
		} else {
			of = s.Expire.Of
		}
		orig := run.steps[of]
		if orig == nil {
			return fail(fmt.Errorf("of %q: that step sent no request", of))
		}
		card = orig.tx.Card
		id, err := run.authorizationID(ctx, card, orig.tx)
		if err != nil {
			return fail(err)
		}
		if s.Clearing != nil {
			amount := orig.tx.Amount
			if s.Clearing.Amount != nil {
				amount = *s.Clearing.Amount
			}
			_, err = run.r.API.SimulateClearing(ctx, id, s.Clearing.Type, amount)
		} else {
			_, err = run.r.API.SimulateExpire(ctx, id)
		}
		if err != nil {
			return fail(err)
		}
		run.checkCard(ctx, &sr, s, card, nil, start)
		sr.Pass = sr.passed()
		return sr
	case "auth", "advice":
		a := s.Auth
		if a == nil {
			a = s.Advice
		}
		card = run.cards[a.Card]
		tx, err = run.buildAuth(kind, a, card)
	case "capture":
		c := s.Capture
		if c.Card != "" {
			card = run.cards[c.Card]
			var phantom *terminal.Txn
			if phantom, err = run.phantom(card, c.Amount); err == nil {
				tx, err = run.term.Capture(phantom, phantom.Amount, "")
			}
		} else {
			orig := run.steps[c.Of]
			amount := orig.tx.Amount
			if c.Amount != nil {
				amount = *c.Amount
			}
			approval := ""
			if orig.result != nil {
				approval = orig.result.ApprovalCode
			}
			card = orig.tx.Card
			tx, err = run.term.Capture(orig.tx, amount, approval)
		}
	case "reversal":
		rv := s.Reversal
		ro := terminal.ReversalOptions{Keep: rv.Keep, Advice: rv.Advice}
		if rv.Card != "" {
			card = run.cards[rv.Card]
			var phantom *terminal.Txn
			if phantom, err = run.phantom(card, rv.Amount); err == nil {
				tx, err = run.term.Reversal(phantom, ro)
			}
		} else {
			orig := run.steps[rv.Of]
			card = orig.tx.Card
			tx, err = run.term.Reversal(orig.tx, ro)
		}
	case "retransmit":
		rt := s.Retransmit
		orig := run.steps[rt.Of]
		card = orig.tx.Card
		var change func(m *iso8583.Message)
		if rt.Amount != nil {
			amt, ok := iso.FormatAmount(*rt.Amount)
			if !ok {
				return fail(fmt.Errorf("amount out of range"))
			}
			change = func(m *iso8583.Message) { _ = m.Field(iso.FieldAmount, amt) }
		}
		tx, err = orig.tx.Retransmit(rt.Repeat, change)
	}
	if err != nil {
		return fail(err)
	}
	res, err := run.client.Do(ctx, tx)
	if errors.Is(err, terminal.ErrClosed) {
		// The host closed the connection: reconnect for the next steps.
		if c, derr := terminal.Dial(ctx, run.r.Addr, terminal.ConnectTimeout(run.r.timeout()), terminal.RequestTimeout(run.r.timeout())); derr == nil {
			run.client.Close()
			run.client = c
		}
	}
	if err != nil {
		if s.ID != "" {
			run.steps[s.ID] = &stepState{tx: tx}
		}
		return fail(fmt.Errorf("no answer: %w", err))
	}
	if s.ID != "" {
		run.steps[s.ID] = &stepState{tx: tx, result: res}
	}
	run.checkAnswer(ctx, &sr, s, card, tx, res, start)
	sr.Pass = sr.passed()
	return sr
}

// phantom builds a request that is never sent, for a capture or reversal
// of an original the host never saw.
func (run *scenarioRun) phantom(card *terminal.Card, amount *int64) (*terminal.Txn, error) {
	a := int64(1000)
	if amount != nil {
		a = *amount
	}
	return run.term.Request(card, a, terminal.TxnOptions{Entry: terminal.EntryManual})
}

// buildAuth builds an auth or advice step's request.
func (run *scenarioRun) buildAuth(kind string, a *AuthStep, card *terminal.Card) (*terminal.Txn, error) {
	typ, _ := terminal.ParseTxnType(a.Type)
	accounts := ""
	if a.ProcessingCode != "" {
		typ, accounts = terminal.TxnType(a.ProcessingCode[:2]), a.ProcessingCode[2:]
	}
	o := terminal.TxnOptions{Type: typ, AccountTypes: accounts, AcquirerID: a.Acquirer, Currency: a.Currency, Country: a.Country, MCC: a.MCC, ECI: a.ECI, CAVV: a.CAVV,
		Partial: a.Partial, MTI: a.MTI, Expiry: a.Expiry, WrongTrackCVV: a.WrongCVV, Field22: a.Field22, MerchantID: run.r.Merchant(a.Merchant)}
	if a.Expiry == "none" {
		o.Expiry, o.NoExpiry = "", true
	}
	if a.Entry != "" {
		o.Entry, _ = terminal.ParseEntryMode(a.Entry)
	}
	o.MAC, _ = terminal.ParseMACMode(a.MAC)
	if a.PINFormat != nil {
		f := pinblock.Format(*a.PINFormat)
		o.PINFormat = &f
	}
	if o.Entry == "" {
		o.Entry = terminal.EntryChip
		if !card.HasChip() {
			o.Entry = terminal.EntryMagstripe
		}
	}
	switch a.PIN {
	case "":
	case "right":
		if o.PIN = card.PIN.Reveal(); o.PIN == "" {
			return nil, errors.New("pin: right, but the card has no PIN (set pin in setup)")
		}
	case "wrong":
		p := card.PIN.Reveal()
		if p == "" {
			p = "1234"
		}
		o.PIN = terminal.WrongDigits(p)
	default:
		o.PIN = a.PIN
	}
	cvv2 := a.CVV2
	if cvv2 == "" && (o.Entry == terminal.EntryEcommerce || o.Entry == terminal.EntryManual) && card.CVV2 != "" {
		cvv2 = "right" // the cardholder types the printed CVV2
	}
	switch cvv2 {
	case "", "none":
	case "right":
		if o.CVV2 = card.CVV2.Reveal(); o.CVV2 == "" {
			return nil, errors.New("cvv2: right, but the card has no CVV2")
		}
	case "wrong":
		o.CVV2 = terminal.WrongDigits(card.CVV2.Reveal())
		if o.CVV2 == "" {
			o.CVV2 = "000"
		}
	default:
		o.CVV2 = cvv2
	}
	o.Chip = terminal.ChipTamper{ARQC: a.TamperARQC, CVN: a.CVN, Cryptogram: strings.ToUpper(a.Cryptogram), RelabelARQC: a.RelabelARQC,
		Currency: a.ChipCurrency}
	if a.ChipAmount != nil {
		o.Chip.Amount = *a.ChipAmount
	}
	if a.ReplayATC {
		if o.Chip.ATC = card.ATC(); o.Chip.ATC == 0 {
			return nil, errors.New("replay_atc: the card has made no cryptogram yet")
		}
	}
	if a.BadField55 {
		o.Chip.Field55 = badField55
	}
	amount := int64(1000)
	if typ == terminal.TxnBalance {
		amount = 0
		if o.MTI == "" {
			o.MTI = iso.MTIFinancialRequest
		}
	}
	if a.Amount != nil {
		amount = *a.Amount
	}
	if kind == "advice" {
		o.AdviceCode = a.Code
		if a.Of != "" {
			orig := run.steps[a.Of]
			if orig == nil {
				return nil, fmt.Errorf("of %q: that step sent no request", a.Of)
			}
			o.RRN = orig.tx.RRN
		}
		return run.term.Advice(card, amount, o)
	}
	return run.term.Request(card, amount, o)
}

// checkAnswer checks an ISO step's answer against its expectations.
func (run *scenarioRun) checkAnswer(ctx context.Context, sr *StepResult, s *Step, card *terminal.Card, tx *terminal.Txn, res *terminal.Result, start time.Time) {
	e := s.Expect
	if e.Code != "" {
		sr.add("code", e.Code+" "+iso.ResponseCode(e.Code).Meaning(), string(res.Code)+" "+res.Code.Meaning(), string(res.Code) == e.Code)
	}
	for _, p := range res.Problems {
		if e.ARPC != "" && p == res.ARPCProblem || e.MAC != "" && p == res.MACProblem {
			continue // checked as asked below
		}
		sr.add("host interface", "no breach of docs/iso8583.md", p, false)
	}
	if e.ARPC != "" {
		got := string(res.ARPC.Status)
		if got == "" {
			got = "not a chip request"
		}
		if res.ARPC.Detail != "" {
			got += " (" + res.ARPC.Detail + ")"
		}
		ok := string(res.ARPC.Status) == e.ARPC || (e.ARPC == "any" && res.ARPC.Status != terminal.ARPCInvalid)
		sr.add("ARPC (tag 91)", e.ARPC, got, ok)
	}
	if e.MAC != "" {
		got := string(res.MAC)
		if res.MACProblem != "" {
			got += " (" + res.MACProblem + ")"
		}
		sr.add("MAC (64/128)", e.MAC, got, string(res.MAC) == e.MAC)
	}
	if e.ApprovalCode != "" {
		got := "absent"
		if res.ApprovalCode != "" {
			got = "present (" + res.ApprovalCode + ")"
		}
		sr.add("approval code (38)", e.ApprovalCode, got, strings.HasPrefix(got, e.ApprovalCode))
	}
	if e.Amount != nil {
		got := "absent"
		if res.Amount >= 0 {
			got = fmt.Sprint(res.Amount)
		}
		sr.add("amount (4)", fmt.Sprint(*e.Amount), got, res.Amount == *e.Amount)
	}
	if e.Balance != nil {
		got := "absent"
		ok := false
		for _, b := range res.Balances {
			if b.AmountType == iso.AmountTypeAvailable {
				got, ok = fmt.Sprint(b.Amount), b.Amount == *e.Balance
			}
		}
		sr.add("available balance (54)", fmt.Sprint(*e.Balance), got, ok)
	}
	if e.SameAs != "" {
		prev := run.steps[e.SameAs]
		switch {
		case prev == nil || prev.result == nil:
			sr.add("same answer as "+e.SameAs, "the same bytes", "step "+e.SameAs+" got no answer", false)
		default:
			same := bytes.Equal(prev.result.Raw, res.Raw)
			got := "the same bytes"
			if !same {
				got = describeDiff(prev.result.Response, res.Response)
			}
			sr.add("same answer as "+e.SameAs, "the same bytes", got, same)
		}
	}
	if e.Reason != "" {
		got, err := run.reason(ctx, card, tx, start)
		if err != nil {
			got = err.Error()
		}
		sr.add("reason", e.Reason, got, got == e.Reason)
	}
	run.checkCard(ctx, sr, s, card, tx, start)
}

// checkCard checks the events and status a step expects for its card.
func (run *scenarioRun) checkCard(ctx context.Context, sr *StepResult, s *Step, card *terminal.Card, tx *terminal.Txn, start time.Time) {
	e := s.Expect
	if len(e.Events) > 0 {
		want := strings.Join(e.Events, ", ")
		if run.r.Events == nil {
			sr.add("events", want, "not read: give the Kafka brokers", false)
		} else {
			got, err := run.r.Events.Wait(ctx, card.ID, stepEvents(tx, start), len(e.Events), run.r.timeout(), 300*time.Millisecond)
			types := make([]string, len(got))
			for i, ev := range got {
				types[i] = ev.Type
			}
			g := strings.Join(types, ", ")
			if g == "" {
				g = "none"
			}
			if err != nil {
				g += " (" + err.Error() + ")"
			}
			sr.add("events", want, g, strings.Join(types, ", ") == want)
		}
	}
	if e.Status != "" {
		info, err := run.r.API.Card(ctx, card.ID)
		got := info.Status
		if err != nil {
			got = err.Error()
		}
		sr.add("card status", e.Status, got, got == e.Status)
	}
	if e.Available != nil {
		b, err := run.r.API.CardBalance(ctx, card.ID)
		got := fmt.Sprint(b.Available)
		if err != nil {
			got = err.Error()
		}
		sr.add("available balance", fmt.Sprint(*e.Available), got, err == nil && b.Available == *e.Available)
	}
}

// authorizationID returns the id of the record the host stored for tx.
func (run *scenarioRun) authorizationID(ctx context.Context, card *terminal.Card, tx *terminal.Txn) (string, error) {
	list, err := run.r.API.CardAuthorizations(ctx, card.ID)
	if err != nil {
		return "", err
	}
	for _, a := range list {
		if a.STAN == tx.STAN && a.TerminalID == tx.TerminalID {
			return a.ID, nil
		}
	}
	return "", errors.New("no authorization record for that step's request")
}

// stepEvents matches the events a step caused: card and ledger events
// committed after it started, and authorization events of its request
// (STAN and terminal).
func stepEvents(tx *terminal.Txn, start time.Time) func(Event) bool {
	since := start.Add(-time.Millisecond)
	return func(e Event) bool {
		if e.Time.Before(since) {
			return false
		}
		if strings.HasPrefix(e.Type, "authorization.") {
			return tx != nil && e.STAN == tx.STAN && e.TerminalID == tx.TerminalID
		}
		return strings.HasPrefix(e.Type, "card.") || strings.HasPrefix(e.Type, "ledger.")
	}
}

// reason reads back the reason the host stored for tx: from its
// authorization event when events are read, else from the REST API.
func (run *scenarioRun) reason(ctx context.Context, card *terminal.Card, tx *terminal.Txn, start time.Time) (string, error) {
	if run.r.Events != nil {
		got, err := run.r.Events.Wait(ctx, card.ID, func(e Event) bool {
			return strings.HasPrefix(e.Type, "authorization.") && stepEvents(tx, start)(e)
		}, 1, run.r.timeout(), 0)
		if len(got) > 0 {
			return got[0].Reason, nil
		}
		if err != nil {
			return "", fmt.Errorf("no authorization event: %w", err)
		}
		return "", errors.New("no authorization event for this request")
	}
	if run.r.API == nil {
		return "", errors.New("not read: give the API or the Kafka brokers")
	}
	list, err := run.r.API.CardAuthorizations(ctx, card.ID)
	if err != nil {
		return "", err
	}
	for _, a := range list {
		if a.STAN == tx.STAN && a.TerminalID == tx.TerminalID {
			return a.Reason, nil
		}
	}
	return "", errors.New("no authorization record for this request")
}

// describeDiff names the fields two answers differ in.
func describeDiff(a, b *iso8583.Message) string {
	var diff []string
	fa, fb := a.GetFields(), b.GetFields()
	for id := 0; id <= 128; id++ {
		_, ina := fa[id]
		_, inb := fb[id]
		if !ina && !inb {
			continue
		}
		va, _ := a.GetBytes(id)
		vb, _ := b.GetBytes(id)
		if id == 0 {
			ma, _ := a.GetMTI()
			mb, _ := b.GetMTI()
			va, vb = []byte(ma), []byte(mb)
		}
		if !bytes.Equal(va, vb) {
			diff = append(diff, fmt.Sprint(id))
		}
	}
	if len(diff) == 0 {
		return "other bytes (same fields)"
	}
	return "differs in fields " + strings.Join(diff, ", ")
}

func (sr *StepResult) add(what, want, got string, ok bool) {
	sr.Check = append(sr.Check, Check{What: what, Want: want, Got: got, OK: ok})
}

func (sr *StepResult) passed() bool {
	if sr.Error != "" {
		return false
	}
	for _, c := range sr.Check {
		if !c.OK {
			return false
		}
	}
	return true
}

// WriteText writes the scenario's report: a PASS/FAIL line per step, and
// under a failing step every check with what was expected and what came
// back (passing checks too, for context).
func (res *ScenarioResult) WriteText(w io.Writer) { res.Write(w, false) }

// Write is WriteText; verbose lists the checks of passing steps too.
func (res *ScenarioResult) Write(w io.Writer, verbose bool) {
	verdict := "PASS"
	if !res.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s %s (%s) %v\n", verdict, res.Name, res.File, res.Duration.Round(time.Millisecond))
	if res.Setup != "" {
		fmt.Fprintf(w, "  FAIL setup: %s\n", res.Setup)
		return
	}
	for _, s := range res.Steps {
		v := "PASS"
		if !s.Pass {
			v = "FAIL"
		}
		fmt.Fprintf(w, "  %s %2d %-10s %s (line %d)\n", v, s.Index, s.Kind, s.Name, s.Line)
		if s.Error != "" {
			fmt.Fprintf(w, "       error: %s\n", s.Error)
		}
		if !s.Pass || verbose {
			for _, c := range s.Check {
				mark := "ok "
				if !c.OK {
					mark = "BAD"
				}
				fmt.Fprintf(w, "       %s %-20s want %-28s got %s\n", mark, c.What, c.Want, c.Got)
			}
		}
	}
}
