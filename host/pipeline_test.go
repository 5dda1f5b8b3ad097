package host

import (
	"context"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance"
)

// TestPipelineOrder pins DESIGN.md's decision order (format and card
// look-up come first, outside the list).
func TestPipelineOrder(t *testing.T) {
	want := []string{"status", "card_not_present", "expiry", "card_verification", "pin", "risk_controls", "one_time", "spending"}
	if len(authorizationPipeline) != len(want) {
		t.Fatalf("pipeline has %d steps, want %d", len(authorizationPipeline), len(want))
	}
	for i, s := range authorizationPipeline {
		if s.name != want[i] {
			t.Errorf("step %d is %s, want %s", i, s.name, want[i])
		}
	}
}

// TestFirstDeclineWins runs the whole pipeline on a card that fails every
// check and removes the failures one by one: each time the next step in
// DESIGN order must be the one that declines.
func TestFirstDeclineWins(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	card := testCard()
	card.Status = issuance.StatusFrozen
	card.Expiry = "2501"
	card.RiskControls.BlockedMCC = []string{"5411"}
	card.UsageType, card.UsedAt = issuance.UsageOneTime, &now
	card.CardLimit = ptr(int64(10))
	card.CVV2Tries = 5
	req := testRequest()
	req.Expiry = ""
	req.CVV2 = "999" // fake verifier: wrong
	req.PINBlock = "0000000000000000"
	v := &fakeVerifier{cvv2OK: false, pinOK: false}
	steps := []struct {
		want Reason
		fix  func()
	}{
		{ReasonCardFrozen, func() { card.Status = issuance.StatusActive }},
		{ReasonExpiryMissing, func() { req.Expiry = "2912" }},
		{ReasonCVV2TriesExceeded, func() { card.CVV2Tries = 0 }},
		{ReasonCardExpired, func() { card.Expiry = "2912" }},
		{ReasonCVV2Invalid, func() { v.cvv2OK = true }},
		{ReasonPINInvalid, func() { v.pinOK = true }},
		{ReasonMCCBlocked, func() { card.RiskControls.BlockedMCC = nil }},
		{ReasonOneTimeCardUsed, func() { card.UsedAt = nil }},
		{ReasonCardLimitExceeded, func() { card.CardLimit = nil }},
		{ReasonApproved, nil},
	}
	for _, s := range steps {
		tx := newTxn(req, card, now, v, func(context.Context, string) (Acquirer, error) { return Acquirer{ZPKRef: "zpk"}, nil })
		d, err := runPipeline(context.Background(), tx, authorizationPipeline, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Reason != s.want {
			t.Fatalf("declined with %s, want %s", d.Reason, s.want)
		}
		if s.fix != nil {
			s.fix()
		}
	}
}

func ptr[T any](v T) *T { return &v }

func testCard() *Card {
	return &Card{Card: issuance.Card{
		ID: "card_1", TenantID: "ten_1", Status: issuance.StatusActive, Currency: "USD", Expiry: "2912",
		Network: issuance.NetworkVisa, CVN: 10, IMKACRef: "imk", CVKRef: "cvk", PVKRef: "pvk",
		PINMethod: "PVV", PVKI: "1", PINVerify: "1234", PINTryMax: 3, UsageType: issuance.UsageNormal,
	}, State: State{Spend: map[string]Counter{}, LastATC: -1}}
}

func testRequest() *Request {
	return &Request{MTI: "0100", Kind: KindAuthorization, PAN: "4000001234567899", ProcessingCode: "000000",
		Amount: 1000, Currency: "840", TransmissionTime: "1122120000", STAN: "000001", MCC: "5411", Country: "840",
		EntryMode: "812", Expiry: "2912", AcquirerID: "123456", RRN: "000000000001", Terminal: "TERM0001", Merchant: "MERCHANT1"}
}

// fakeVerifier answers by flags; ARQC verification is tested against the
// real HSM in the integration tests.
type fakeVerifier struct {
	cvvOK, icvvOK, cvv2OK, pinOK, arqcOK bool
	pinErr                               error
	pinIn                                emv.EncryptedPIN // the last VerifyPIN's
}

func (f *fakeVerifier) IndexPANAll(_ context.Context, _ string, pan emv.PAN) ([][]byte, error) {
	return [][]byte{[]byte(pan.Reveal())}, nil
}
func (f *fakeVerifier) VerifyARQC(context.Context, emv.ARQCCheck) (emv.ARQCResult, error) {
	return emv.ARQCResult{Valid: f.arqcOK, KeyVersion: 1}, nil
}
func (f *fakeVerifier) GenerateARPC(_ context.Context, _ emv.ARQCCheck, _ int, rc string) ([]byte, error) {
	return append([]byte{1, 2, 3, 4, 5, 6, 7, 8}, rc...), nil
}
func (f *fakeVerifier) VerifyCVV(context.Context, string, emv.PAN, string, string, emv.CVV) (bool, error) {
	return f.cvvOK, nil
}
func (f *fakeVerifier) VerifyICVV(context.Context, string, emv.PAN, string, emv.CVV) (bool, error) {
	return f.icvvOK, nil
}
func (f *fakeVerifier) VerifyCVV2(context.Context, string, emv.PAN, string, emv.CVV) (bool, error) {
	return f.cvv2OK, nil
}
func (f *fakeVerifier) VerifyPIN(_ context.Context, in emv.EncryptedPIN, _ emv.PAN, _ emv.PINCheck) (bool, error) {
	f.pinIn = in
	return f.pinOK, f.pinErr
}
