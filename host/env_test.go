package host_test

import (
	"cmp"
	"context"
	"crypto/des"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/host/isoserver"
	hostpg "github.com/cardhost/cardhost/host/postgres"
	"github.com/cardhost/cardhost/iso"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/postgres"
	"github.com/cardhost/cardhost/issuance/postgres/pgtest"
	"github.com/cardhost/cardhost/kafka"
)

// Clear test keys, imported into the HSM by components so that the test can
// play the card and the acquirer. They are test values only.
var (
	clearIMK = mustHex("0123456789ABCDEFFEDCBA9876543210")
	clearCVK = mustHex("0123456789ABCDEFFEDCBA9876543210")
	clearPVK = mustHex("0123456789ABCDEFFEDCBA9876543210")
	clearZPK = mustHex("A1B2C3D4E5F60718293A4B5C6D7E8F90")
	// clearZAK is the key of ISO/IEC 9797-1 Annex B's examples, K || K'.
	clearZAK = mustHex("0123456789ABCDEFFEDCBA9876543210")
)

// The env's acquirers: acquirerID has a ZPK and default settings (no MAC,
// PIN block formats 0 and 3); macAcquirerID also the ZAK clearZAK and
// requires MACs; format1AcquirerID accepts PIN block formats 0, 1 and 3.
const (
	acquirerID        = "12345678"
	macAcquirerID     = "87654321"
	format1AcquirerID = "11111111"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// hostEnv is the authorization host as it runs in production: the engine
// over the PostgreSQL ledger and the software HSM, behind the ISO 8583 TCP
// server, reached by a real TCP client.
type hostEnv struct {
	t      testing.TB
	db     *postgres.DB
	hsm    *softhsm.HSM
	engine *host.Engine
	reg    *prometheus.Registry // the server's and the pipeline's metrics
	addr   string
	client *terminal.Client
	tenant string
	keys   map[emv.KeyType]string
	now    time.Time
	stan   atomic.Int64
	cards  int

	// decisions configures the engines serve starts (decision_test.go),
	// isoDecisionTimeout their ISO servers' DecisionTimeout (0: the
	// default, as CARDHOST_ISO_DECISION_TIMEOUT's).
	decisions          host.DecisionsConfig
	isoDecisionTimeout time.Duration
	// log is the logger of the engines and servers serve starts (nil:
	// discarded; logTo).
	log *slog.Logger

	// hsmAhead moves the HSM's clock forward (nanoseconds), e.g. past the
	// time a new PAN-index version settles.
	hsmAhead *atomic.Int64
}

func newHostEnv(t testing.TB) *hostEnv {
	t.Helper()
	return newHostEnvWith(t, nil)
}

// newHostEnvWith is newHostEnv with the engine's ledger and HSM passed
// through wrap first (test doubles that count or interfere).
func newHostEnvWith(t testing.TB, wrap func(host.Ledger, host.Verifier) (host.Ledger, host.Verifier)) *hostEnv {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t, postgres.Config{})
	mk := filepath.Join(t.TempDir(), "master.key")
	if _, err := softhsm.GenerateMasterKeyFile(mk, nil); err != nil {
		t.Fatal(err)
	}
	ahead := new(atomic.Int64)
	h, err := softhsm.New(softhsm.Config{MasterKeyFile: mk, Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}, db.KeyStore())
	if err != nil {
		t.Fatal(err)
	}
	e := &hostEnv{t: t, db: db, hsm: h, hsmAhead: ahead, keys: map[emv.KeyType]string{}, now: time.Now().UTC()}
	svc := issuance.NewService(issuance.Deps{Tenants: db})
	ten, _, err := svc.CreateTenant(ctx, "Host Test Issuer", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.tenant = ten.ID
	for _, k := range []emv.KeyType{emv.KeyPANIDX, emv.KeyPANDEK} {
		info, err := h.GenerateKey(ctx, softhsm.KeyRequest{Type: k})
		if err != nil {
			t.Fatal(err)
		}
		e.keys[k] = info.Ref
	}
	for k, clear := range map[emv.KeyType][]byte{emv.KeyIMKAC: clearIMK, emv.KeyCVK: clearCVK, emv.KeyPVK: clearPVK, emv.KeyZPK: clearZPK, emv.KeyZAK: clearZAK} {
		kcv, err := emv.KCV(emv.AlgorithmTDES, clear)
		if err != nil {
			t.Fatal(err)
		}
		info, err := h.ImportComponents(ctx, softhsm.ImportRequest{KeyRequest: softhsm.KeyRequest{Type: k, Spec: emv.KeySpecTDES2},
			Components: []emv.SecretBytes{append([]byte(nil), clear...), make([]byte, 16)}, KCV: hex.EncodeToString(kcv)})
		if err != nil {
			t.Fatalf("importing %s: %v", k, err)
		}
		e.keys[k] = info.Ref
	}
	for _, a := range []postgres.Acquirer{
		{ID: acquirerID, Name: "Test acquirer", ZPKRef: e.keys[emv.KeyZPK]},
		{ID: macAcquirerID, Name: "MAC acquirer", ZPKRef: e.keys[emv.KeyZPK], ZAKRef: e.keys[emv.KeyZAK], MACRequired: true},
		{ID: format1AcquirerID, Name: "Format 1 acquirer", ZPKRef: e.keys[emv.KeyZPK],
			PINFormats: []pinblock.Format{pinblock.Format0, pinblock.Format1, pinblock.Format3}},
	} {
		if err := db.CreateAcquirer(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	e.reg = prometheus.NewRegistry()
	steps, err := isoserver.NewStepMetrics(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	var ledger host.Ledger = hostpg.New(db)
	var hsm host.Verifier = h
	if wrap != nil {
		ledger, hsm = wrap(ledger, hsm)
	}
	e.engine, e.addr = e.serve(ledger, hsm, steps, e.reg)
	e.client = e.dial()
	return e
}

// serve starts an engine over ledger and hsm and an ISO 8583 server for it
// on a loopback port, until the test ends.
func (e *hostEnv) serve(ledger host.Ledger, hsm host.Verifier, steps host.StepHook, reg prometheus.Registerer) (*host.Engine, string) {
	t := e.t
	t.Helper()
	logger := e.log
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	engine, err := host.New(host.Config{PANIndexRef: e.keys[emv.KeyPANIDX], Decisions: e.decisions}, ledger, hsm, logger, steps)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := e.hsm.DeriveSecret("iso-retransmission-fingerprint")
	srv, err := isoserver.New(isoserver.Config{FingerprintKey: fp, MaxInFlight: 128, Acquirers: engine, MAC: e.hsm, DecisionTimeout: e.isoDecisionTimeout},
		engine, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return engine, ln.Addr().String()
}

// logTo serves the env again (engine, ISO server, the env's client),
// logging JSON lines at INFO and above to w, as production does.
func (e *hostEnv) logTo(w io.Writer) {
	e.t.Helper()
	e.log = slog.New(slog.NewJSONHandler(w, nil))
	e.engine, e.addr = e.serve(hostpg.New(e.db), e.hsm, nil, prometheus.NewRegistry())
	e.client = e.dial()
}

// instance starts a second host instance (its own engine, card cache and
// ISO port) over the env's database and HSM and returns a client of it.
func (e *hostEnv) instance() *terminal.Client {
	e.t.Helper()
	_, addr := e.serve(hostpg.New(e.db), e.hsm, nil, prometheus.NewRegistry())
	c, err := terminal.Dial(context.Background(), addr, terminal.RequestTimeout(10*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *hostEnv) dial() *terminal.Client {
	e.t.Helper()
	c, err := terminal.Dial(context.Background(), e.addr, terminal.RequestTimeout(10*time.Second))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// testCard is a card the test created, with what the test needs to play it.
type testCard struct {
	ID, PAN, Expiry string
}

// cardOpts set a new card's controls.
type cardOpts struct {
	status   issuance.Status
	reason   string
	limit    *int64
	spending []issuance.SpendingControl
	risk     issuance.RiskControls
	oneTime  issuance.AutoCancelTrigger
	pin      string
	expiry   string
	network  issuance.Network
	cvn      int
	// pan, imkRef and currency replace the generated PAN, the test IMK-AC
	// and USD (a card of a published vector).
	pan, imkRef, currency string
	// cvv2Policy and cvv2MaxTries: the product's CVV2 rules the card got
	// (default REQUIRED and 5, as the columns' defaults).
	cvv2Policy   string
	cvv2MaxTries int
	funding      string // ledger mode: "" (LIMIT), SHARED or PREPAID
}

// newCard inserts an ACTIVE USD card straight into the cards table (the
// issuance API has its own tests) and returns it.
func (e *hostEnv) newCard(o cardOpts) testCard {
	e.t.Helper()
	ctx := context.Background()
	e.cards++
	if o.network == "" {
		o.network, o.cvn = issuance.NetworkVisa, 10
	}
	pan := luhnComplete(fmt.Sprintf("400000%09d", e.cards))
	if o.network == issuance.NetworkUnionPay {
		pan = luhnComplete(fmt.Sprintf("622700%012d", e.cards)) // 19 digits, as UnionPay debit cards often are
	}
	pan = cmp.Or(o.pan, pan)
	id := issuance.NewID(issuance.CardIDPrefix, time.Now())
	if o.status == "" {
		o.status = issuance.StatusActive
	}
	if o.expiry == "" {
		o.expiry = e.now.AddDate(3, 0, 0).Format("0601")
	}
	sealed, err := e.hsm.SealPAN(ctx, e.keys[emv.KeyPANDEK], e.tenant, id, emv.PAN(pan))
	if err != nil {
		e.t.Fatal(err)
	}
	idx, err := e.hsm.IndexPAN(ctx, e.keys[emv.KeyPANIDX], emv.PAN(pan))
	if err != nil {
		e.t.Fatal(err)
	}
	pinMethod, pvv := "", ""
	if o.pin != "" {
		pinMethod = "PVV"
		if pvv, err = emv.PVV(clearPVK, pan, "1", o.pin); err != nil {
			e.t.Fatal(err)
		}
	}
	usage, trigger := issuance.UsageNormal, ""
	if o.oneTime != "" {
		usage, trigger = issuance.UsageOneTime, string(o.oneTime)
	}
	spending, _ := json.Marshal(o.spending)
	if o.spending == nil {
		spending = []byte("[]")
	}
	risk, _ := json.Marshal(o.risk)
	_, err = e.db.Pool().Exec(ctx, `INSERT INTO cards (id, tenant_id, reference_number, type, status, status_reason, currency, card_limit,
		spending_controls, risk_controls, usage_type, auto_cancel_trigger, pan_cipher, pan_index, bin, last4, pan_length, expiry,
		psn, service_code, network, cvn, imk_ac_ref, cvk_ref, pvk_ref, pin_method, pvki, pin_verify, cvv2_policy, cvv2_max_tries,
		created_at, updated_at)
		VALUES ($1, $2, $3, 'VIRTUAL', $4, $5, $26, $6, $7, $8, $9, $10, $11, $12, $13, $14, $25, $15, '00', '201', $16, $17,
		$18, $19, $20, $21, '1', $22, coalesce(nullif($23, ''), 'REQUIRED'), coalesce(nullif($24, 0), 5), now(), now())`,
		id, e.tenant, "R"+id[5:15], string(o.status), o.reason, o.limit, spending, risk, string(usage), trigger, sealed, idx,
		pan[:6], pan[len(pan)-4:], o.expiry, string(o.network), o.cvn, cmp.Or(o.imkRef, e.keys[emv.KeyIMKAC]), e.keys[emv.KeyCVK], e.keys[emv.KeyPVK], pinMethod, pvv,
		o.cvv2Policy, o.cvv2MaxTries, len(pan), cmp.Or(o.currency, "USD"))
	if err != nil {
		e.t.Fatalf("inserting card: %v", err)
	}
	if o.funding != "" {
		e.fund(id, o.funding)
	}
	return testCard{ID: id, PAN: pan, Expiry: o.expiry}
}

// luhnComplete appends partial's Luhn check digit.
func luhnComplete(partial string) string {
	d, ok := digit.LuhnDigit(partial)
	if !ok {
		panic("luhnComplete: not digits: " + partial)
	}
	return partial + string(d)
}

// msg builds a request; fields override the defaults of an e-commerce
// purchase of 10.00 USD at a grocery in the US. A key-entered or
// e-commerce 0100/0200 carries the card's expiry and CVV2 unless noExpiry
// or noCVV2 (the cardholder typed them).
type msg struct {
	noExpiry, noCVV2                                                                                         bool
	merchant                                                                                                 string // field 42; default MERCHANT0000001
	mti, processing, entry, mcc, country, currency, terminal, rrn, stan, cvv2, eci, pinBlock, track2, expiry string
	amount                                                                                                   int64
	partial, zeroAmount                                                                                      bool
	original                                                                                                 *iso.OriginalData
	replacement                                                                                              *int64
	adviceCode, approval                                                                                     string
	transmission                                                                                             string
	acquirer                                                                                                 string // field 32; default acquirerID
}

func (e *hostEnv) build(card testCard, m msg) *iso8583.Message {
	e.t.Helper()
	if m.mti == "" {
		m.mti = "0100"
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&m.processing, "000000")
	def(&m.entry, "812")
	def(&m.mcc, "5411")
	def(&m.country, "840")
	def(&m.currency, "840")
	def(&m.terminal, "TERM0001")
	if m.stan == "" {
		m.stan = fmt.Sprintf("%06d", e.stan.Add(1))
	}
	def(&m.rrn, "R"+m.stan+"00000")
	def(&m.transmission, iso.FormatTransmissionTime(time.Now().UTC()))
	if m.amount == 0 && m.processing[:2] != "30" && !m.zeroAmount {
		m.amount = 1000
	}
	if keyed := m.entry[:2] == "01" || m.entry[:2] == "81"; keyed && (m.mti[:3] == "010" || m.mti[:3] == "020") {
		if !m.noExpiry {
			def(&m.expiry, card.Expiry)
		}
		if !m.noCVV2 {
			def(&m.cvv2, cvv2(e.t, card))
		}
	}
	msg := iso.NewMessage(m.mti)
	set := func(id int, v string) {
		if v == "" {
			return
		}
		if err := msg.Field(id, v); err != nil {
			e.t.Fatalf("setting field %d: %v", id, err)
		}
	}
	amt, _ := iso.FormatAmount(m.amount)
	set(iso.FieldPAN, card.PAN)
	set(iso.FieldProcessingCode, m.processing)
	set(iso.FieldAmount, amt)
	set(iso.FieldTransmissionTime, m.transmission)
	set(iso.FieldSTAN, m.stan)
	set(iso.FieldExpiry, m.expiry)
	set(iso.FieldMCC, m.mcc)
	set(iso.FieldAcquirerCountry, m.country)
	set(iso.FieldEntryMode, m.entry)
	set(iso.FieldAcquirerID, cmp.Or(m.acquirer, acquirerID))
	set(iso.FieldTrack2, m.track2)
	set(iso.FieldRRN, m.rrn)
	set(iso.FieldApprovalCode, m.approval)
	set(iso.FieldResponseCode, m.adviceCode)
	set(iso.FieldTerminal, m.terminal)
	set(iso.FieldMerchant, cmp.Or(m.merchant, "MERCHANT0000001"))
	set(iso.FieldCurrency, m.currency)
	set(iso.FieldPINBlock, m.pinBlock)
	var pd iso.PrivateData
	if m.cvv2 != "" {
		pd = append(pd, iso.Element{Tag: iso.ElementCVV2, Value: m.cvv2})
	}
	if m.eci != "" {
		pd = append(pd, iso.Element{Tag: iso.ElementECI, Value: m.eci})
	}
	if m.partial {
		pd = append(pd, iso.Element{Tag: iso.ElementPartialApproval, Value: "Y"})
	}
	if len(pd) > 0 {
		s, err := pd.Encode()
		if err != nil {
			e.t.Fatal(err)
		}
		set(iso.FieldPrivateData, s)
	}
	if m.original != nil {
		s, err := m.original.Encode()
		if err != nil {
			e.t.Fatal(err)
		}
		set(iso.FieldOriginalData, s)
	}
	if m.replacement != nil {
		s, err := iso.ReplacementAmounts{Actual: *m.replacement, Settlement: *m.replacement}.Encode()
		if err != nil {
			e.t.Fatal(err)
		}
		set(iso.FieldReplacementAmounts, s)
	}
	return msg
}

// answer is what the host said.
type answer struct {
	code, approval string
	amount         int64
	balances       string
	packed         []byte
}

func (e *hostEnv) send(c *terminal.Client, m *iso8583.Message) answer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := c.Send(ctx, m)
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	get := func(id int) string { s, _ := resp.GetString(id); return s }
	a := answer{code: get(iso.FieldResponseCode), approval: get(iso.FieldApprovalCode), balances: get(iso.FieldAdditionalAmounts)}
	a.amount, _ = iso.ParseAmount(get(iso.FieldAmount))
	a.packed, _ = resp.Pack()
	return a
}

// auth sends a request for card on the env's connection.
func (e *hostEnv) auth(card testCard, m msg) answer { return e.send(e.client, e.build(card, m)) }

// original returns field 90 naming a request sent earlier.
func original(mti, stan, transmission string) *iso.OriginalData {
	return &iso.OriginalData{MTI: mti, STAN: stan, TransmissionTime: transmission, AcquirerID: iso.PadInstitutionID(acquirerID), ForwardingID: "00000000000"}
}

// pinBlock enciphers pin in ISO format 0 under the test ZPK.
func pinBlock(t testing.TB, pin, pan string) string {
	t.Helper()
	return pinBlockIn(t, pinblock.Format0, pin, pan)
}

// pinBlockIn enciphers pin in ISO format f under the test ZPK.
func pinBlockIn(t testing.TB, f pinblock.Format, pin, pan string) string {
	t.Helper()
	c, err := des.NewTripleDESCipher(append(append([]byte(nil), clearZPK...), clearZPK[:8]...))
	if err != nil {
		t.Fatal(err)
	}
	b, err := pinblock.Encipher(f, c, []byte(pin), pan, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%X", b)
}

// cvv2 returns the card's CVV2 computed with the test CVK.
func cvv2(t testing.TB, c testCard) string {
	v, err := emv.GenerateCVV2(clearCVK, c.PAN, c.Expiry)
	if err != nil {
		t.Fatal(err)
	}
	return v.Reveal()
}

// track2 returns magnetic-stripe track 2 with the right CVV (or a wrong one).
func track2(t testing.TB, c testCard, good bool) string {
	v, err := emv.GenerateCVV(clearCVK, c.PAN, c.Expiry, "201")
	if err != nil {
		t.Fatal(err)
	}
	cvv := v.Reveal()
	if !good {
		cvv = fmt.Sprintf("%03d", (atoi(cvv)+1)%1000)
	}
	t2 := c.PAN + "=" + c.Expiry + "201" + "1" + "0000" + cvv
	return t2 + strings.Repeat("0", min(5, 37-len(t2))) // zero fill, within field 35's 37 digits
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// wrongCVV2 returns another three digits than cvv2.
func wrongCVV2(cvv2 string) string { return fmt.Sprintf("%03d", (atoi(cvv2)+1)%1000) }

// cardState reads a card's status and spend total.
func (e *hostEnv) cardState(id string) (status string, total int64, pinTries int) {
	e.t.Helper()
	err := e.db.Pool().QueryRow(context.Background(), `SELECT status, total_spent, pin_tries FROM cards WHERE id = $1`, id).Scan(&status, &total, &pinTries)
	if err != nil {
		e.t.Fatal(err)
	}
	return
}

// cvv2Tries reads a card's count of consecutive wrong CVV2s.
func (e *hostEnv) cvv2Tries(id string) (n int) {
	e.t.Helper()
	if err := e.db.Pool().QueryRow(context.Background(), `SELECT cvv2_tries FROM cards WHERE id = $1`, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// events returns the types of a card's outbox events, in seq order.
func (e *hostEnv) events(cardID string) []string {
	e.t.Helper()
	return e.texts(`SELECT type FROM outbox WHERE subject = $1 ORDER BY seq`, cardID)
}

// lastEvent decodes the newest outbox event of a card.
func (e *hostEnv) lastEvent(cardID string) kafka.Event {
	e.t.Helper()
	var ev kafka.Event
	err := e.db.Pool().QueryRow(context.Background(), `SELECT event_id, type, subject, tenant_id, data FROM outbox WHERE subject = $1 ORDER BY seq DESC LIMIT 1`,
		cardID).Scan(&ev.ID, &ev.Type, &ev.Subject, &ev.TenantID, &ev.Data)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}
