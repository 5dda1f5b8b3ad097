package rest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

type persoOut struct {
	CardID       string `json:"card_id"`
	KeyReference string `json:"key_reference"`
	KeyVersion   int    `json:"key_version"`
	KCV          string `json:"kcv"`
	Format       string `json:"format"`
	Record       string `json:"record"`
}

// exportPerso exports a card's record and opens it with the clear
// transport key, as the terminal simulator does.
func exportPerso(t *testing.T, ce *cardEnv, cardID string) (persoOut, dataprep.Record) {
	t.Helper()
	var p persoOut
	r := mustStatus(t, ce.do("POST", "/v1/simulator/cards/"+cardID+"/perso", nil), 200)
	r.JSON(t, &p)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatal("perso export may be cached")
	}
	sealed, err := base64.StdEncoding.DecodeString(p.Record)
	if err != nil {
		t.Fatal(err)
	}
	clear, err := dataprep.OpenRecord(ce.kek, cardID, sealed)
	if err != nil {
		t.Fatal(err)
	}
	var rec dataprep.Record
	if err := json.Unmarshal(clear, &rec); err != nil {
		t.Fatal(err)
	}
	return p, rec
}

func TestSimulatorPersoExportAndPIN(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	c := ce.createCard(t, ce.cat.product, nil)
	for _, bad := range []string{"12a4", "12345", ""} {
		if r := ce.do("POST", "/v1/simulator/cards/"+c.CardID+"/pin", map[string]any{"pin": bad}); r.Status != 422 {
			t.Fatalf("sandbox PIN %q: %d %s", bad, r.Status, r.Body)
		}
	}
	var got cardOut
	mustStatus(t, ce.do("POST", "/v1/simulator/cards/"+c.CardID+"/pin", map[string]any{"pin": "4242"}), 200).JSON(t, &got)
	pan, cvv2, expiry := ce.reveal(t, c.CardID)
	if !got.PINSet || !verifyPIN(t, ce, c.CardID, pan, "4242") {
		t.Fatal("the simulator's PIN does not verify")
	}

	p, rec := exportPerso(t, ce, c.CardID)
	kcv, _ := emv.KCV(emv.AlgorithmAES, ce.kek)
	if p.CardID != c.CardID || p.KeyReference != ce.keys.kek || p.KeyVersion != 1 || p.KCV != emv.EncodeHex(kcv) || p.Format != dataprep.SealFormat {
		t.Fatalf("export %+v", p)
	}
	if rec.PAN != pan || rec.Expiry != expiry || rec.CVV2 != cvv2 || rec.PIN != "4242" || rec.PINMethod != "PVV" || rec.PSN != "00" ||
		rec.Scheme != "visa" || rec.CVN != 18 || rec.AID != "A0000000031010" || rec.ServiceCode != "201" || rec.ICCKeyBlocks != nil {
		t.Fatalf("record %+v", rec)
	}
	// Everything the terminal simulator needs works against the HSM.
	tr := rec.Track2[len(pan)+1:]
	if ok, err := ce.hsm.VerifyCVV(ctx, ce.keys.cvk, emv.PAN(pan), tr[:4], tr[4:7], emv.CVV(tr[12:15])); err != nil || !ok {
		t.Fatalf("track 2 CVV (%v)", err)
	}
	c2, _ := ce.db.Card(ctx, ce.tenantID, c.CardID)
	if tr[7:8] != c2.PVKI || tr[8:12] != c2.PINVerify {
		t.Fatal("track 2 does not carry the card's PVKI and PVV")
	}
	chip := rec.Track2Chip[len(pan)+1:]
	if ok, err := ce.hsm.VerifyICVV(ctx, ce.keys.cvk, emv.PAN(pan), chip[:4], emv.CVV(chip[12:15])); err != nil || !ok {
		t.Fatalf("chip iCVV (%v)", err)
	}
	mk, err := emv.DecodeHex(rec.ICCMasterKeys.AC)
	if err != nil || rec.ICCMasterKeys.SMI == "" || rec.ICCMasterKeys.SMC == "" {
		t.Fatalf("ICC master keys %+v (%v)", rec.ICCMasterKeys != nil, err)
	}
	verifyChipKey(t, ce, pan, rec.CVN, mk)

	// Both calls were audited; neither answer was kept for replay.
	trail, _ := ce.db.AuditTrail(ctx, ce.tenantID, c.CardID)
	var actions []string
	for _, a := range trail {
		actions = append(actions, a.Action)
	}
	if !slices.Equal(actions, []string{issuance.AuditSandboxPIN, issuance.AuditReveal, issuance.AuditPersoExport}) {
		t.Fatalf("audit trail %v", actions)
	}
	// A real PIN set replaces the simulator's PIN, which then leaves the export.
	issuer := newIssuerPINKey(t, ce)
	mustStatus(t, ce.do("POST", "/v1/cards/"+c.CardID+"/pin", map[string]any{"enciphered_pin_block": issuer.block(t, ce, pan, "7777"),
		"incoming_pek": map[string]any{"key_reference": issuer.ref}}), 200)
	if _, rec := exportPerso(t, ce, c.CardID); rec.PIN != "" {
		t.Fatal("the export still carries the simulator's PIN after a real PIN set")
	}
	var n int
	if err := ce.db.Pool().QueryRow(ctx, `SELECT count(*) FROM card_sandbox_pins`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d sandbox PINs kept (%v)", n, err)
	}
}
