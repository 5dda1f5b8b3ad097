package rest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/catalog"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

// TestUnionPayClassicTemplate: QPay's guide lists the template "UnionPay
// Classic" (IIN 62270000). Created over the API as a UNIONPAY template of
// CVN 1 under UnionPay's RID, in a BIN range the operator assigned, it
// makes products and cards: 62270000 PANs, Luhn-valid, network UNIONPAY,
// whose personalisation record names the UnionPay AID and a chip key the
// HSM verifies UnionPay cryptograms with. A UnionPay IIN under another
// network, or a UnionPay template with another network's CVN or RID, is a
// 422 naming the field. An existing UnionPay card (19 digits) imports with
// network UNIONPAY and CVN 1, not with another network's CVN.
func TestUnionPayClassicTemplate(t *testing.T) {
	ce := newCardEnv(t)
	ctx := context.Background()
	if _, err := catalog.New(issuance.Deps{Catalog: ce.db}).AssignBINRange(ctx, ce.tenantID, "622700"); err != nil {
		t.Fatal(err)
	}
	body := func(kv ...any) map[string]any {
		return withFields(withFields(templateBody(ce.keys), "name", "UnionPay Classic", "description", "Standard UnionPay debit template",
			"network", "UNIONPAY", "iin", "62270000", "cvn", 1, "aid", "A000000333010101"), kv...)
	}
	fieldError(t, ce.do("POST", "/v1/data-prep-templates", body("network", "VISA")), "iin", "invalid")
	fieldError(t, ce.do("POST", "/v1/data-prep-templates", body("cvn", 18)), "cvn", "unsupported")
	fieldError(t, ce.do("POST", "/v1/data-prep-templates", body("aid", "A0000000031010")), "aid", "invalid")
	fieldError(t, ce.do("POST", "/v1/data-prep-templates", body("network", "DISCOVER")), "network", "invalid")

	var tpl issuance.Template
	mustStatus(t, ce.do("POST", "/v1/data-prep-templates", body()), 201).JSON(t, &tpl)
	if tpl.Network != issuance.NetworkUnionPay || tpl.IIN != "62270000" || tpl.CVN != 1 || tpl.AID != "A000000333010101" {
		t.Fatalf("template %+v", tpl)
	}
	var list struct{ Data []issuance.Template }
	mustStatus(t, ce.do("GET", "/v1/data-prep-templates", nil), 200).JSON(t, &list)
	found := false
	for _, l := range list.Data {
		found = found || (l.ID == tpl.ID && l.Name == "UnionPay Classic")
	}
	if !found {
		t.Fatal("the UnionPay Classic template is not listed")
	}

	prd := createProduct(t, ce.env, ce.apiKey, catalogObjects{template: tpl.ID, embosser: ce.cat.embosser, layout: ce.cat.layout}, ce.cat.embosser, "VIRTUAL")
	c := ce.createCard(t, prd, nil)
	var got struct {
		Network   string `json:"network"`
		MaskedPAN string `json:"masked_pan"`
	}
	mustStatus(t, ce.do("GET", "/v1/cards/"+c.CardID, nil), 200).JSON(t, &got)
	if got.Network != "UNIONPAY" || !strings.HasPrefix(got.MaskedPAN, "622700") {
		t.Fatalf("card network %s, masked PAN prefix %.6s", got.Network, got.MaskedPAN)
	}
	pan, _, _ := ce.reveal(t, c.CardID)
	if len(pan) != 16 || !strings.HasPrefix(pan, "62270000") || !digit.LuhnValid(pan) {
		t.Fatalf("PAN of %d digits, prefix %.8s, Luhn %v", len(pan), pan, digit.LuhnValid(pan))
	}
	_, rec := exportPerso(t, ce, c.CardID)
	if rec.Network != "UNIONPAY" || rec.Scheme != "unionpay" || rec.CVN != 1 || rec.AID != "A000000333010101" {
		t.Fatalf("record network %s scheme %s CVN %d AID %s", rec.Network, rec.Scheme, rec.CVN, rec.AID)
	}
	mk, err := emv.DecodeHex(rec.ICCMasterKeys.AC)
	if err != nil {
		t.Fatal(err)
	}
	cvn, _ := emv.LookupCVN("unionpay", 1)
	tags := map[uint32][]byte{
		0x9F02: {0, 0, 0, 0, 0x10, 0}, 0x9F03: make([]byte, 6), 0x9F1A: {0x01, 0x56}, 0x95: make([]byte, 5),
		0x5F2A: {0x01, 0x56}, 0x9A: {0x26, 0x01, 0x15}, 0x9C: {0}, 0x9F37: {0x51, 0x88, 0x23, 0x71}, 0x82: {0x18, 0},
		0x9F36: {0, 0x15}, 0x9F10: {0x07, 0x01, 0x01, 0x03, 0xA0, 0, 0, 0x01},
	}
	ac, err := emv.GenerateAC(cvn, mk, tags)
	if err != nil {
		t.Fatal(err)
	}
	tags[0x9F26] = ac
	icc := map[tlvTag][]byte{}
	for k, v := range tags {
		icc[tlvTag(k)] = v
	}
	res, err := ce.hsm.VerifyARQC(ctx, emv.ARQCCheck{IMKRef: ce.keys.imkAC, CVN: cvn, PAN: emv.PAN(pan), PSN: rec.PSN, ICC: icc})
	if err != nil || !res.Valid {
		t.Fatalf("a UnionPay ARQC from the record's chip key does not verify in the HSM: %+v %v", res, err)
	}

	imp := func(pan string, cvn int, ref string) response {
		return ce.do("POST", "/v1/cards/import", map[string]any{"pan": pan, "expiry": "3012", "psn": "01", "network": "UNIONPAY", "cvn": cvn,
			"imk_ac_key_reference": ce.keys.imkAC, "cvk_key_reference": ce.keys.cvk, "product_id": prd, "reference_id": ref})
	}
	long, err := dataprep.GeneratePAN("622700", 19, nil)
	if err != nil {
		t.Fatal(err)
	}
	fieldError(t, imp(long.Reveal(), 18, "UP-0"), "cvn", "invalid")
	var imported struct {
		CardID  string `json:"card_id"`
		Network string `json:"network"`
	}
	mustStatus(t, imp(long.Reveal(), 1, "UP-1"), 201).JSON(t, &imported)
	if imported.Network != "UNIONPAY" {
		t.Fatalf("imported card network %s", imported.Network)
	}
	if p, _, _ := ce.reveal(t, imported.CardID); p != long.Reveal() {
		t.Fatal("the imported PAN does not reveal as imported")
	}
}
