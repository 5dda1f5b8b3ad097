package rest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/softhsm"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/dataprep"
	"github.com/cardhost/cardhost/issuance/emboss"
)

func TestPlasticEmbossingToActive(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	c := ce.createCard(t, ce.plastic, map[string]any{"shipping_address": shipping, "printed_name": "Joao Silva"})
	var o orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+c.OrderID, nil), 200).JSON(t, &o)
	if c.Status != "PROVISIONED" || c.EmbossingStatus != "PENDING" || c.Currency != "EUR" || o.Status != "processing" || o.IssueStatus != "embossing" || o.IsIssued {
		t.Fatalf("new plastic %+v, order %+v", c, o)
	}
	if n := ce.emboss(t); n != 1 {
		t.Fatalf("embossed %d cards, want 1", n)
	}
	got := ce.getCard(t, c.CardID)
	mustStatus(t, ce.do("GET", "/v1/orders/"+c.OrderID, nil), 200).JSON(t, &o)
	if got.Status != "ACTIVE" || got.EmbossingStatus != "ISSUED" || o.Status != "completed" || o.IssueStatus != "issued" {
		t.Fatalf("after embossing %+v, order %+v", got, o)
	}
	want := []string{"card.created", "card.activated PROVISIONED", "order.completed"}
	if ev := cardEvents(t, ce.db, c.CardID); !slices.Equal(ev, want) {
		t.Fatalf("events %v, want %v", ev, want)
	}
	if n := ce.emboss(t); n != 0 {
		t.Fatalf("second pass embossed %d cards", n)
	}

	// One file per card, named without card data, sealed.
	path := filepath.Join(ce.embossDir, "embossing", ce.tenant.ID, time.Now().UTC().Format("20060102"), c.CardID+".perso")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode().Perm())
	}
	pan, cvv2, expiry := ce.reveal(t, c.CardID)
	if bytes.Contains(raw, []byte(pan)) || bytes.Contains(raw, []byte(pan[6:12])) {
		t.Fatal("embossing file holds the PAN in clear")
	}
	var f emboss.File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	kcv, _ := emv.KCV(emv.AlgorithmAES, ce.kek)
	if f.Format != emboss.FileFormat || f.CardID != c.CardID || f.KeyReference != ce.keys.kek || f.KCV != emv.EncodeHex(kcv) || f.RecordFormat != dataprep.SealFormat {
		t.Fatalf("file header %+v", f)
	}
	sealed, _ := base64.StdEncoding.DecodeString(f.Record)
	clear, err := dataprep.OpenRecord(ce.kek, c.CardID, sealed)
	if err != nil {
		t.Fatal(err)
	}
	var rec dataprep.Record
	if err := json.Unmarshal(clear, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.PAN != pan || rec.Expiry != expiry || rec.CVV2 != cvv2 || rec.PrintedName != "JOAO SILVA" || rec.Layout != "standard-blue-v1" ||
		rec.CardType != "PLASTIC" || rec.PIN != "" || rec.ICCMasterKeys != nil || rec.ICCKeyBlocks == nil || len(rec.ShippingAddress) == 0 {
		t.Fatalf("record %+v", rec)
	}
	// The tracks carry CVVs the host accepts.
	tr := rec.Track2[len(pan)+1:]
	if ok, err := ce.hsm.VerifyCVV(ctx, ce.keys.cvk, emv.PAN(pan), tr[:4], tr[4:7], emv.CVV(tr[12:15])); err != nil || !ok {
		t.Fatalf("track 2 CVV does not verify (%v)", err)
	}
	chip := rec.Track2Chip[len(pan)+1:]
	if ok, err := ce.hsm.VerifyICVV(ctx, ce.keys.cvk, emv.PAN(pan), chip[:4], emv.CVV(chip[12:15])); err != nil || !ok {
		t.Fatalf("chip track iCVV does not verify (%v)", err)
	}
	// The chip key travels as a TR-31 block under the same transport key.
	h, key, err := softhsm.UnwrapTR31(ce.kek, rec.ICCKeyBlocks.AC.KeyBlock)
	if err != nil || h.Usage != "E0" {
		t.Fatalf("ICC MK-AC block: %v %+v", err, h)
	}
	kcvMK, _ := emv.KCV(emv.AlgorithmTDES, key)
	if emv.EncodeHex(kcvMK) != rec.ICCKeyBlocks.AC.KCV || rec.ICCKeyBlocks.SMI == nil || rec.ICCKeyBlocks.SMC == nil {
		t.Fatalf("key blocks %+v", rec.ICCKeyBlocks)
	}
	verifyChipKey(t, ce, pan, rec.CVN, key)
}

// verifyChipKey checks that an ARQC computed with iccMK (as the chip
// would) verifies in the HSM under the template's IMK-AC.
func verifyChipKey(t *testing.T, ce *cardEnv, pan string, cvnNumber int, iccMK []byte) {
	t.Helper()
	cvn, err := emv.LookupCVN("visa", cvnNumber)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[uint32][]byte{
		0x9F02: {0, 0, 0, 0, 0x10, 0}, 0x9F03: make([]byte, 6), 0x9F1A: {0x08, 0x40}, 0x95: make([]byte, 5),
		0x5F2A: {0x08, 0x40}, 0x9A: {0x26, 0x01, 0x15}, 0x9C: {0}, 0x9F37: {0x51, 0x88, 0x23, 0x71}, 0x82: {0x18, 0},
		0x9F36: {0, 0x15}, 0x9F10: {0x06, 0x01, cvn.Code, 0x03, 0xA0, 0, 0},
	}
	ac, err := emv.GenerateAC(cvn, iccMK, tags)
	if err != nil {
		t.Fatal(err)
	}
	tags[0x9F26] = ac
	icc := map[tlvTag][]byte{}
	for k, v := range tags {
		icc[tlvTag(k)] = v
	}
	res, err := ce.hsm.VerifyARQC(context.Background(), emv.ARQCCheck{IMKRef: ce.keys.imkAC, CVN: cvn, PAN: emv.PAN(pan), PSN: "00", ICC: icc})
	if err != nil || !res.Valid {
		t.Fatalf("ARQC from the record's chip key does not verify: %+v %v", res, err)
	}
}

func TestManualIssueSimulator(t *testing.T) {
	ce := newCardEnv(t)
	issued := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	failed := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	if n := ce.emboss(t); n != 2 {
		t.Fatalf("embossed %d", n)
	}
	for _, id := range []string{issued.CardID, failed.CardID} {
		if c := ce.getCard(t, id); c.Status != "PROVISIONED" || c.EmbossingStatus != "SENT" {
			t.Fatalf("manual embosser: %+v", c)
		}
	}
	var c cardOut
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+issued.CardID+"/issue", nil, "Idempotency-Key", "issue-1"), 202).JSON(t, &c)
	if c.Status != "ACTIVE" || c.EmbossingStatus != "ISSUED" {
		t.Fatalf("issued: %+v", c)
	}
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+failed.CardID+"/fail", nil), 202).JSON(t, &c)
	if c.Status != "PROVISIONED" || c.EmbossingStatus != "FAILED" {
		t.Fatalf("failed: %+v", c)
	}
	var o orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+failed.OrderID, nil), 200).JSON(t, &o)
	if o.Status != "failed" || o.IssueStatus != "embossing_failed" || o.LastErrorSlug != "embossing_failed" || o.LastError == "" {
		t.Fatalf("failed order %+v", o)
	}
	if ev := cardEvents(t, ce.db, issued.CardID); !slices.Equal(ev, []string{"card.created", "card.activated PROVISIONED", "order.completed"}) {
		t.Fatalf("issued events %v", ev)
	}
	if ev := cardEvents(t, ce.db, failed.CardID); !slices.Equal(ev, []string{"card.created", "order.failed"}) {
		t.Fatalf("failed events %v", ev)
	}
	// Replays answer the same; a second answer is refused.
	if r := ce.do("PATCH", "/v1/simulator/cards/"+issued.CardID+"/issue", nil, "Idempotency-Key", "issue-1"); r.Status != 202 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d", r.Status)
	}
	for _, p := range []string{issued.CardID + "/issue", issued.CardID + "/fail", failed.CardID + "/issue"} {
		if r := ce.do("PATCH", "/v1/simulator/cards/"+p, nil); r.Status != 409 || r.problem(t).Slug != "invalid_embossing_status" {
			t.Fatalf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	// A failed card may be canceled by the issuer.
	mustStatus(t, ce.do("POST", "/v1/cards/"+failed.CardID+"/cancel", nil), 200)
	// A card still waiting in the queue can be issued at once; the worker
	// then has nothing left to send.
	pending := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	mustStatus(t, ce.do("PATCH", "/v1/simulator/cards/"+pending.CardID+"/issue", nil), 202)
	if n := ce.emboss(t); n != 0 {
		t.Fatalf("worker sent %d cards after the simulator issued the pending one", n)
	}
	// Virtual cards never wait for an embosser: issue answers them as they
	// are, fail is refused (TestSimulatorIssueOnVirtualCard).
	v := ce.createCard(t, ce.cat.product, nil)
	if r := ce.do("PATCH", "/v1/simulator/cards/"+v.CardID+"/fail", nil); r.Status != 409 {
		t.Fatalf("fail of a virtual card: %d", r.Status)
	}
}

func TestSimulatorIsSandboxOnly(t *testing.T) {
	e := newEnv(t, withCards(t), withoutSandbox())
	prod, key := newTenantKeySandbox(t, e, "Production issuer", false)
	ce := setUpCards(t, e, key, prod.ID)
	c := ce.createCard(t, ce.manualProd, map[string]any{"shipping_address": shipping})
	for _, r := range []struct{ method, path string }{
		{"PATCH", "/v1/simulator/cards/" + c.CardID + "/issue"},
		{"PATCH", "/v1/simulator/cards/" + c.CardID + "/fail"},
		{"POST", "/v1/simulator/cards/" + c.CardID + "/perso"},
		{"POST", "/v1/simulator/cards/" + c.CardID + "/pin"},
	} {
		var body any
		if r.method == "POST" && filepath.Base(r.path) == "pin" {
			body = map[string]any{"pin": "1234"}
		}
		resp := ce.doKey(key, r.method, r.path, body)
		if resp.Status != 403 || resp.problem(t).Slug != "sandbox_only" {
			t.Fatalf("%s %s: %d %s", r.method, r.path, resp.Status, resp.Body)
		}
	}
}

// newTenantKeySandbox creates a tenant with the given sandbox flag.
func newTenantKeySandbox(t *testing.T, e *env, name string, sandbox bool) (issuance.Tenant, string) {
	t.Helper()
	ten, key, err := e.svc.CreateTenant(context.Background(), name, sandbox, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ten, key
}

// failingEmbosser refuses every card.
type failingEmbosser struct{ calls int }

func (f *failingEmbosser) Send(context.Context, issuance.Embosser, issuance.EmbossJob, issuance.SealedRecord) error {
	f.calls++
	return errors.New("embosser offline")
}

func TestEmbossingRetriesThenFails(t *testing.T) {
	clk := &testClock{t: time.Now().UTC()}
	ce := newCardEnv(t, withClock(clk))
	ctx := context.Background()
	c := ce.createCard(t, ce.plastic, map[string]any{"shipping_address": shipping})
	fail := &failingEmbosser{}
	for attempt := 1; attempt <= issuance.MaxEmbossAttempts; attempt++ {
		ok, err := ce.svc.EmbossNext(ctx, fail)
		if err != nil || !ok {
			t.Fatalf("attempt %d: %v %v", attempt, ok, err)
		}
		if ok, _ := ce.svc.EmbossNext(ctx, fail); ok {
			t.Fatalf("attempt %d: the job was due again at once", attempt)
		}
		clk.t = clk.t.Add(2 * time.Hour)
	}
	if fail.calls != issuance.MaxEmbossAttempts {
		t.Fatalf("%d calls", fail.calls)
	}
	got := ce.getCard(t, c.CardID)
	var o orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+c.OrderID, nil), 200).JSON(t, &o)
	if got.Status != "PROVISIONED" || got.EmbossingStatus != "FAILED" || o.Status != "failed" || o.LastErrorSlug != "embossing_failed" {
		t.Fatalf("card %+v order %+v", got, o)
	}
	if ok, _ := ce.svc.EmbossNext(ctx, fail); ok {
		t.Fatal("a failed card is still queued")
	}
}

func TestCancelPlasticBeforeEmbossing(t *testing.T) {
	ce := newCardEnv(t)
	c := ce.createCard(t, ce.plastic, map[string]any{"shipping_address": shipping})
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/cancel", map[string]any{"reason": "customer left"}), 200)
	if n := ce.emboss(t); n != 0 {
		t.Fatalf("a canceled card was embossed (%d)", n)
	}
	if _, err := os.Stat(filepath.Join(ce.embossDir, "embossing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("embossing files written for a canceled card: %v", err)
	}
	var o orderOut
	mustStatus(t, ce.do("GET", "/v1/orders/"+c.OrderID, nil), 200).JSON(t, &o)
	if o.Status != "failed" || o.LastErrorSlug != "card_closed_before_issue" {
		t.Fatalf("order %+v", o)
	}
}
