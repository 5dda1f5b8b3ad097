package host

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/issuance"
)

func TestStepFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Request)
		want Reason
	}{
		{"valid", func(*Request) {}, ""},
		{"unknown MTI", func(r *Request) { r.Kind = KindUnknown }, ReasonInvalidTransaction},
		{"no STAN", func(r *Request) { r.STAN = "" }, ReasonFormatError},
		{"short transmission time", func(r *Request) { r.TransmissionTime = "1122" }, ReasonFormatError},
		{"PAN with letters", func(r *Request) { r.PAN = "40000012345678AB" }, ReasonFormatError},
		{"PAN failing Luhn", func(r *Request) { r.PAN = "4000001234567890" }, ReasonCardNotFound},
		{"unsupported processing code", func(r *Request) { r.ProcessingCode = "400000" }, ReasonInvalidTransaction},
		{"zero amount", func(r *Request) { r.Amount = 0 }, ReasonInvalidAmount},
		{"amount over 12 digits", func(r *Request) { r.Amount = 1_000_000_000_000 }, ReasonInvalidAmount},
		{"no terminal", func(r *Request) { r.Terminal = "" }, ReasonFormatError},
		{"bad MCC", func(r *Request) { r.MCC = "54" }, ReasonFormatError},
		{"balance inquiry with amount", func(r *Request) { r.ProcessingCode = "300000" }, ReasonInvalidAmount},
		{"balance inquiry", func(r *Request) { r.ProcessingCode = "300000"; r.Amount = 0 }, ""},
		{"reversal without 90 or RRN", func(r *Request) { r.Kind = KindReversal; r.RRN = "" }, ReasonFormatError},
		{"reversal with RRN", func(r *Request) { r.Kind = KindReversal }, ""},
		{"entry mode 000 (unknown)", func(r *Request) { r.EntryMode = "000" }, ReasonEntryModeNotSupported},
		{"entry mode 020 (stripe, track unreliable)", func(r *Request) { r.EntryMode = "020" }, ReasonEntryModeNotSupported},
		{"entry mode 100 (credential on file)", func(r *Request) { r.EntryMode = "100" }, ReasonEntryModeNotSupported},
		{"entry mode 059 (PIN capability 9)", func(r *Request) { r.EntryMode = "059" }, ReasonEntryModeNotSupported},
		{"entry mode 000 in 0200", func(r *Request) { r.Kind, r.EntryMode = KindFinancial, "000" }, ReasonEntryModeNotSupported},
		{"entry mode 000 in a balance inquiry", func(r *Request) { r.ProcessingCode, r.Amount, r.EntryMode = "300000", 0, "000" }, ReasonEntryModeNotSupported},
		{"advice with entry mode 000 is recorded", func(r *Request) { r.Kind, r.EntryMode = KindAdvice, "000" }, ""},
		{"reversal with entry mode 000", func(r *Request) { r.Kind, r.EntryMode = KindReversal, "000" }, ""},
		{"contactless magnetic stripe 912", func(r *Request) { r.EntryMode = "912" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRequest()
			tc.edit(r)
			if got := stepFormat(r).Reason; got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStatusDecision(t *testing.T) {
	for _, tc := range []struct {
		status issuance.Status
		reason string
		want   Reason
	}{
		{issuance.StatusActive, "", ""},
		{issuance.StatusProvisioned, "", ReasonCardNotActive},
		{issuance.StatusFrozen, "", ReasonCardFrozen},
		{issuance.StatusBlocked, "lost", ReasonCardLost},
		{issuance.StatusBlocked, "stolen", ReasonCardStolen},
		{issuance.StatusBlocked, "fraud", ReasonCardBlocked},
		{issuance.StatusCanceled, "", ReasonCardCanceled},
		{issuance.StatusCanceled, CancelReasonOneTimeUsed, ReasonOneTimeCardUsed},
		{issuance.StatusExpired, "", ReasonCardExpired},
		{issuance.StatusInoperative, "validity_period", ReasonCardExpired},
	} {
		t.Run(string(tc.status)+"/"+tc.reason, func(t *testing.T) {
			c := testCard().Card
			c.Status, c.StatusReason = tc.status, tc.reason
			d := statusDecision(&c)
			if d.Reason != tc.want {
				t.Fatalf("reason %q, want %q", d.Reason, tc.want)
			}
			if tc.want != "" && d.Code != tc.want.Code() {
				t.Fatalf("code %s, want %s", d.Code, tc.want.Code())
			}
		})
	}
}

func TestExpiryDecision(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	for _, tc := range []struct {
		name     string
		expiry   string
		field14  string
		expiryAt *time.Time
		want     Reason
	}{
		{"valid", "2912", "", nil, ""},
		{"valid through the last day of the month", "2611", "", nil, ""},
		{"printed expiry passed", "2610", "", nil, ReasonCardExpired},
		{"field 14 matches", "2912", "2912", nil, ""},
		{"field 14 mismatch", "2912", "2812", nil, ReasonCardExpired},
		{"expiry_at passed", "2912", "", &past, ReasonCardExpired},
		{"expiry_at ahead", "2912", "", &future, ""},
		{"garbage expiry", "29AB", "", nil, ReasonCardExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCard().Card
			c.Expiry, c.ExpiryAt = tc.expiry, tc.expiryAt
			if got := expiryDecision(&c, tc.field14, now).Reason; got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRiskDecision(t *testing.T) {
	no := ptr(false)
	for _, tc := range []struct {
		name    string
		rc      issuance.RiskControls
		edit    func(*Request)
		network issuance.Network
		want    Reason
	}{
		{"no controls", issuance.RiskControls{}, nil, issuance.NetworkVisa, ""},
		{"blocked mcc", issuance.RiskControls{BlockedMCC: []string{"5411"}}, nil, issuance.NetworkVisa, ReasonMCCBlocked},
		{"mcc not allowed", issuance.RiskControls{AllowedMCC: []string{"5812"}}, nil, issuance.NetworkVisa, ReasonMCCBlocked},
		{"ecommerce off", issuance.RiskControls{Channels: issuance.Channels{Ecommerce: no}}, nil, issuance.NetworkVisa, ReasonChannelNotAllowed},
		{"keyed with ECI is ecommerce", issuance.RiskControls{Channels: issuance.Channels{Ecommerce: no}},
			func(r *Request) { r.EntryMode, r.ECI = "012", "07" }, issuance.NetworkVisa, ReasonChannelNotAllowed},
		{"keyed without ECI is manual", issuance.RiskControls{Channels: issuance.Channels{Ecommerce: no}},
			func(r *Request) { r.EntryMode = "012" }, issuance.NetworkVisa, ""},
		{"atm off", issuance.RiskControls{Channels: issuance.Channels{ATM: no}},
			func(r *Request) { r.MCC, r.EntryMode = "6011", "051" }, issuance.NetworkVisa, ReasonChannelNotAllowed},
		{"contactless off", issuance.RiskControls{Channels: issuance.Channels{Contactless: no}},
			func(r *Request) { r.EntryMode = "071" }, issuance.NetworkVisa, ReasonChannelNotAllowed},
		{"magstripe off", issuance.RiskControls{Channels: issuance.Channels{Magstripe: no}},
			func(r *Request) { r.EntryMode = "901" }, issuance.NetworkVisa, ReasonChannelNotAllowed},
		{"country not allowed", issuance.RiskControls{AllowedCountries: []string{"GB"}}, nil, issuance.NetworkVisa, ReasonCountryNotAllowed},
		{"country allowed", issuance.RiskControls{AllowedCountries: []string{"US"}}, nil, issuance.NetworkVisa, ""},
		{"3DS off, Visa ECI 05", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "05" }, issuance.NetworkVisa, Reason3DSNotAllowed},
		{"3DS off, Visa ECI 07 (not authenticated)", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "07" }, issuance.NetworkVisa, ""},
		{"3DS off, Mastercard ECI 02", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "02" }, issuance.NetworkMastercard, Reason3DSNotAllowed},
		{"3DS off, Mastercard ECI 05 means nothing", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "05" }, issuance.NetworkMastercard, ""},
		{"3DS off, UnionPay ECI 05", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "05" }, issuance.NetworkUnionPay, Reason3DSNotAllowed},
		{"3DS off, UnionPay ECI 06 (attempted)", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "06" }, issuance.NetworkUnionPay, Reason3DSNotAllowed},
		{"3DS off, UnionPay ECI 02 means nothing", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.ECI = "02" }, issuance.NetworkUnionPay, ""},
		{"3DS off, CAVV present", issuance.RiskControls{Allow3DSTransactions: no},
			func(r *Request) { r.CAVV = "AAABBBCCC" }, issuance.NetworkVisa, Reason3DSNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRequest()
			if tc.edit != nil {
				tc.edit(r)
			}
			card := testCard()
			card.Network = tc.network
			chs, auth3DS := channelsOf(r, card)
			if got := riskDecision(tc.rc, r, chs, auth3DS).Reason; got != tc.want {
				t.Errorf("reason %q, want %q (channels %v, 3DS %v)", got, tc.want, chs, auth3DS)
			}
		})
	}
}

// TestEveryEntryModeHasAChannel: each accepted field 22 maps to a channel
// that risk controls see, so a card with every channel switched off
// declines it (a mode with no channel would skip every switch).
func TestEveryEntryModeHasAChannel(t *testing.T) {
	no := ptr(false)
	off := issuance.RiskControls{Channels: issuance.Channels{Ecommerce: no, ATM: no, Contactless: no, Magstripe: no, Chip: no, Manual: no}}
	for _, m := range entryModes {
		for _, pin := range pinCapabilities {
			f22 := m.code + string(pin)
			t.Run(f22, func(t *testing.T) {
				r := testRequest()
				r.EntryMode = f22
				if d := stepFormat(r); d.Decided() {
					t.Fatalf("format declines %s: %s", f22, d.Reason)
				}
				chs, _ := channelsOf(r, testCard())
				if len(chs) != 1 || chs[0] != m.channel {
					t.Fatalf("channels %v, want [%s]", chs, m.channel)
				}
				if got := riskDecision(off, r, chs, false).Reason; got != ReasonChannelNotAllowed {
					t.Errorf("every channel off: reason %q, want %q", got, ReasonChannelNotAllowed)
				}
			})
		}
	}
	r := testRequest()
	r.EntryMode = "000"
	if chs, _ := channelsOf(r, testCard()); len(chs) != 0 {
		t.Errorf("000 has channels %v", chs)
	}
	if got := riskDecision(issuance.RiskControls{}, r, nil, false).Reason; got != ReasonEntryModeNotSupported {
		t.Errorf("no channel: reason %q, want %q", got, ReasonEntryModeNotSupported)
	}
}

func TestSpendDecision(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) // Sunday
	daily := issuance.SpendingControl{Amount: ptr(int64(5000)), Interval: issuance.Daily}
	weeklyCount := issuance.SpendingControl{Count: ptr(2), Interval: issuance.Weekly}
	perTxn := issuance.SpendingControl{Amount: ptr(int64(3000)), Interval: issuance.PerTransaction}
	groceries := issuance.SpendingControl{Amount: ptr(int64(100)), Interval: issuance.Monthly, MCC: []string{"5411"}}
	for _, tc := range []struct {
		name     string
		controls []issuance.SpendingControl
		limit    *int64
		state    State
		mcc      string
		amount   int64
		partial  bool
		want     Reason
		approved int64
		funds    *int64 // a funded card's available balance
	}{
		{"no controls", nil, nil, State{}, "5812", 1000, false, ReasonApproved, 1000, nil},
		{"daily fits", []issuance.SpendingControl{daily}, nil, State{Spend: map[string]Counter{"DAILY": {Window: issuance.Daily.WindowStart(now), Amount: 4000}}}, "5812", 1000, false, ReasonApproved, 1000, nil},
		{"daily exceeded", []issuance.SpendingControl{daily}, nil, State{Spend: map[string]Counter{"DAILY": {Window: issuance.Daily.WindowStart(now), Amount: 4001}}}, "5812", 1000, false, ReasonSpendingAmount, 0, nil},
		{"yesterday's spend does not count", []issuance.SpendingControl{daily}, nil, State{Spend: map[string]Counter{"DAILY": {Window: issuance.Daily.WindowStart(now.Add(-24 * time.Hour)), Amount: 5000}}}, "5812", 1000, false, ReasonApproved, 1000, nil},
		{"daily partial", []issuance.SpendingControl{daily}, nil, State{Spend: map[string]Counter{"DAILY": {Window: issuance.Daily.WindowStart(now), Amount: 4500}}}, "5812", 1000, true, ReasonPartialApproval, 500, nil},
		{"per transaction", []issuance.SpendingControl{perTxn}, nil, State{}, "5812", 3001, false, ReasonSpendingAmount, 0, nil},
		{"weekly count", []issuance.SpendingControl{weeklyCount}, nil, State{Spend: map[string]Counter{"WEEKLY": {Window: issuance.Weekly.WindowStart(now), Count: 2}}}, "5812", 1, true, ReasonSpendingCount, 0, nil},
		{"mcc-scoped control ignores other mccs", []issuance.SpendingControl{groceries}, nil, State{}, "5812", 1000, false, ReasonApproved, 1000, nil},
		{"mcc-scoped control applies", []issuance.SpendingControl{groceries}, nil, State{}, "5411", 1000, false, ReasonSpendingAmount, 0, nil},
		{"card limit", nil, ptr(int64(1500)), State{TotalSpent: 1000}, "5812", 1000, false, ReasonCardLimitExceeded, 0, nil},
		{"card limit partial", nil, ptr(int64(1500)), State{TotalSpent: 1000}, "5812", 1000, true, ReasonPartialApproval, 500, nil},
		{"card limit exhausted: no partial of zero", nil, ptr(int64(1000)), State{TotalSpent: 1000}, "5812", 1000, true, ReasonCardLimitExceeded, 0, nil},
		{"smallest limit wins", []issuance.SpendingControl{daily}, ptr(int64(700)), State{}, "5812", 1000, true, ReasonPartialApproval, 700, nil},
		{"balance covers it", nil, nil, State{}, "5812", 1000, false, ReasonApproved, 1000, ptr(int64(1000))},
		{"balance short", nil, nil, State{}, "5812", 1000, false, ReasonInsufficientFunds, 0, ptr(int64(999))},
		{"balance partial", nil, nil, State{}, "5812", 1000, true, ReasonPartialApproval, 400, ptr(int64(400))},
		{"empty balance: no partial of zero", nil, nil, State{}, "5812", 1000, true, ReasonInsufficientFunds, 0, ptr(int64(0))},
		{"overdrawn balance", nil, nil, State{}, "5812", 1, true, ReasonInsufficientFunds, 0, ptr(int64(-50))},
		{"a limit below the balance decides", nil, ptr(int64(300)), State{}, "5812", 1000, false, ReasonCardLimitExceeded, 0, ptr(int64(500))},
		{"the balance below a limit decides", nil, ptr(int64(800)), State{}, "5812", 1000, false, ReasonInsufficientFunds, 0, ptr(int64(500))},
		{"count limits come first", []issuance.SpendingControl{weeklyCount}, nil, State{Spend: map[string]Counter{"WEEKLY": {Window: issuance.Weekly.WindowStart(now), Count: 2}}}, "5812", 1, true, ReasonSpendingCount, 0, ptr(int64(0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCard().Card
			c.SpendingControls, c.CardLimit = tc.controls, tc.limit
			if tc.state.Spend == nil {
				tc.state.Spend = map[string]Counter{}
			}
			d, approved, applied := spendDecision(&c, tc.state, tc.mcc, tc.amount, tc.partial, tc.funds, now)
			if d.Reason != tc.want || approved != tc.approved {
				t.Fatalf("got %s/%d, want %s/%d", d.Reason, approved, tc.want, tc.approved)
			}
			if d.Approved() {
				next := tc.state.Clone()
				applySpend(&next, applied, approved)
				for _, a := range applied {
					if next.Spend[a.Key].Window != a.Window {
						t.Errorf("counter %s not in the current window", a.Key)
					}
				}
				if next.TotalSpent != tc.state.TotalSpent+approved {
					t.Errorf("total %d, want %d", next.TotalSpent, tc.state.TotalSpent+approved)
				}
				releaseSpend(&next, applied, approved, true)
				if next.TotalSpent != tc.state.TotalSpent {
					t.Errorf("release did not restore the total")
				}
			}
		})
	}
}

func TestStepPIN(t *testing.T) {
	acquirers := func(_ context.Context, acq string) (Acquirer, error) {
		switch acq {
		case "unknown":
			return Acquirer{}, ErrNotFound
		case "nozpk":
			return Acquirer{ID: acq}, nil
		case "format1":
			return Acquirer{ID: acq, ZPKRef: "zpk", PINFormats: []pinblock.Format{pinblock.Format0, pinblock.Format1, pinblock.Format3}}, nil
		}
		return Acquirer{ID: acq, ZPKRef: "zpk"}, nil
	}
	for _, tc := range []struct {
		name      string
		tries     int
		method    string
		ok        bool
		err       error
		acquirer  string
		want      Reason
		wantTries int
	}{
		{"right PIN resets the counter", 2, "PVV", true, nil, "123456", "", 0},
		{"wrong PIN", 0, "PVV", false, nil, "123456", ReasonPINInvalid, 1},
		{"third wrong PIN", 2, "PVV", false, nil, "123456", ReasonPINTriesExceeded, 3},
		{"tries exhausted: not even checked", 3, "PVV", true, nil, "123456", ReasonPINTriesExceeded, 3},
		{"malformed block counts as wrong", 0, "PVV", false, fmt.Errorf("x: %w", pinblock.ErrMalformed), "123456", ReasonPINInvalid, 1},
		{"no PIN set", 0, "", true, nil, "123456", ReasonPINInvalid, 1},
		{"unknown acquirer", 0, "PVV", true, nil, "unknown", ReasonSecurityViolation, 0},
		{"acquirer without ZPK", 0, "PVV", true, nil, "nozpk", ReasonSecurityViolation, 0},
		{"format the acquirer refuses: not a try", 1, "PVV", false, fmt.Errorf("x: %w", pinblock.ErrNotAccepted), "123456", ReasonPINFormatNotAllowed, 1},
		{"acquirer allowing format 1", 0, "PVV", true, nil, "format1", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := testCard()
			card.PINTries, card.PINMethod = tc.tries, tc.method
			req := testRequest()
			req.PINBlock, req.AcquirerID = "0123456789ABCDEF", tc.acquirer
			v := &fakeVerifier{pinOK: tc.ok, pinErr: tc.err}
			tx := newTxn(req, card, time.Now(), v, acquirers)
			d, err := stepPIN(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tc.want || tx.next.PINTries != tc.wantTries {
				t.Fatalf("got %s with %d tries, want %s with %d", d.Reason, tx.next.PINTries, tc.want, tc.wantTries)
			}
			// The HSM is told the acquirer's formats (default 0 and 3).
			want, _ := acquirers(context.Background(), tc.acquirer)
			if v.pinIn.ZPKRef != "" && fmt.Sprint(v.pinIn.Accept) != fmt.Sprint(want.AcceptedPINFormats()) {
				t.Fatalf("PIN block formats asked %v, want %v", v.pinIn.Accept, want.AcceptedPINFormats())
			}
		})
	}
	// An HSM failure is an error (96), not a decline.
	tx := newTxn(func() *Request { r := testRequest(); r.PINBlock = "0123456789ABCDEF"; return r }(), testCard(), time.Now(),
		&fakeVerifier{pinErr: errors.New("hsm down")}, acquirers)
	if _, err := stepPIN(context.Background(), tx); err == nil {
		t.Fatal("HSM failure did not return an error")
	}
}

func TestCardVerificationByEntryMode(t *testing.T) {
	track := "4000001234567899=29122011123412300000"
	for _, tc := range []struct {
		name string
		edit func(*Request)
		v    fakeVerifier
		want Reason
	}{
		{"ecommerce without CVV2", func(r *Request) {}, fakeVerifier{}, ""},
		{"ecommerce with good CVV2", func(r *Request) { r.CVV2 = "123" }, fakeVerifier{cvv2OK: true}, ""},
		{"ecommerce with bad CVV2", func(r *Request) { r.CVV2 = "123" }, fakeVerifier{}, ReasonCVV2Invalid},
		{"CVV2 not 3 digits", func(r *Request) { r.CVV2 = "12a" }, fakeVerifier{cvv2OK: true}, ReasonFormatError},
		{"magstripe good CVV", func(r *Request) { r.EntryMode, r.Track2 = "901", emvTrack(track) }, fakeVerifier{cvvOK: true}, ""},
		{"magstripe bad CVV", func(r *Request) { r.EntryMode, r.Track2 = "901", emvTrack(track) }, fakeVerifier{}, ReasonCVVInvalid},
		{"magstripe without track", func(r *Request) { r.EntryMode = "901" }, fakeVerifier{cvvOK: true}, ReasonFormatError},
		{"track of another PAN", func(r *Request) {
			r.EntryMode, r.Track2 = "901", emvTrack("4000001234567881=29122011123412300000")
		}, fakeVerifier{cvvOK: true}, ReasonFormatError},
		{"chip without field 55", func(r *Request) { r.EntryMode = "051" }, fakeVerifier{arqcOK: true}, ReasonFormatError},
		{"chip with garbage field 55", func(r *Request) { r.EntryMode, r.ICC = "051", []byte{0x9F, 0x26} }, fakeVerifier{arqcOK: true}, ReasonFormatError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRequest()
			tc.edit(r)
			v := tc.v
			tx := newTxn(r, testCard(), time.Now(), &v, nil)
			d, err := stepCardVerification(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tc.want {
				t.Fatalf("reason %q, want %q", d.Reason, tc.want)
			}
		})
	}
}

// TestChipBinding: only an ARQC for this request's amount and currency
// reaches the HSM (fake here: every cryptogram verifies).
func TestChipBinding(t *testing.T) {
	arqc, aac, tc := []byte{0x80}, []byte{0x00}, []byte{0x40}
	cvrAAC := []byte{0x06, 0x01, 0x0A, 0x03, 0x80, 0x00, 0x00} // Visa CVN 10, CVR: AAC in the first GENERATE AC
	for _, tc := range []struct {
		name string
		edit func(r *Request, icc map[tlv.Tag][]byte)
		want Reason
	}{
		{"ARQC for the request", nil, ""},
		{"AAC", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagCryptogramInformationData] = aac }, ReasonCryptogramTypeInvalid},
		{"TC", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagCryptogramInformationData] = tc }, ReasonCryptogramTypeInvalid},
		{"AAC relabelled ARQC (the CVR tells)", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagIssuerApplicationData] = cvrAAC }, ReasonCryptogramTypeInvalid},
		{"no 9F27", func(_ *Request, icc map[tlv.Tag][]byte) { delete(icc, tlv.TagCryptogramInformationData) }, ReasonFormatError},
		{"9F27 of 2 bytes", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagCryptogramInformationData] = []byte{0x80, 0} }, ReasonFormatError},
		{"field 4 above 9F02", func(r *Request, _ map[tlv.Tag][]byte) { r.Amount = 100000 }, ReasonCryptogramAmountMismatch},
		{"field 4 below 9F02", func(r *Request, _ map[tlv.Tag][]byte) { r.Amount = 10 }, ReasonCryptogramAmountMismatch},
		{"field 49 not 5F2A", func(r *Request, _ map[tlv.Tag][]byte) { r.Currency, r.BillingAmount = "978", 1000 }, ""},
		{"5F2A not field 49", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagCurrencyCode] = []byte{0x09, 0x78} }, ReasonCryptogramAmountMismatch},
		{"currency conversion: chip in the card's currency, 9F02 is field 6", func(r *Request, _ map[tlv.Tag][]byte) {
			r.Currency, r.Amount, r.BillingAmount = "978", 920, 1000
		}, ""},
		{"currency conversion: 9F02 is not field 6", func(r *Request, _ map[tlv.Tag][]byte) {
			r.Currency, r.Amount, r.BillingAmount = "978", 1000, 1100
		}, ReasonCryptogramAmountMismatch},
		{"currency conversion without field 6", func(r *Request, _ map[tlv.Tag][]byte) { r.Currency = "978" }, ReasonCryptogramAmountMismatch},
		{"cash-back within 9F02", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagAmountOther] = []byte{0, 0, 0, 0, 0x02, 0x00} }, ""},
		{"cash-back above 9F02", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagAmountOther] = []byte{0, 0, 0, 0, 0x20, 0x00} }, ReasonCryptogramAmountMismatch},
		{"9F02 not BCD", func(_ *Request, icc map[tlv.Tag][]byte) { icc[tlv.TagAmountAuthorised] = []byte{0, 0, 0, 0, 0x1A, 0} }, ReasonFormatError},
		{"5F2A missing", func(_ *Request, icc map[tlv.Tag][]byte) { delete(icc, tlv.TagCurrencyCode) }, ReasonFormatError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRequest()
			r.EntryMode = "051"
			icc := map[tlv.Tag][]byte{
				tlv.TagCryptogramInformationData: arqc,
				tlv.TagIssuerApplicationData:     {0x06, 0x01, 0x0A, 0x03, 0xA0, 0x00, 0x00},
				tlv.TagAmountAuthorised:          {0, 0, 0, 0, 0x10, 0x00},
				tlv.TagAmountOther:               {0, 0, 0, 0, 0, 0},
				tlv.TagCurrencyCode:              {0x08, 0x40},
				tlv.TagATC:                       {0x00, 0x01},
				tlv.TagApplicationCryptogram:     {1, 2, 3, 4, 5, 6, 7, 8},
			}
			if tc.edit != nil {
				tc.edit(r, icc)
			}
			var l tlv.List
			for tag, v := range icc {
				l = append(l, tlv.New(tag, v))
			}
			var err error
			if r.ICC, err = l.Encode(); err != nil {
				t.Fatal(err)
			}
			tx := newTxn(r, testCard(), time.Now(), &fakeVerifier{arqcOK: true}, nil)
			d, err := stepCardVerification(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tc.want {
				t.Fatalf("reason %q, want %q", d.Reason, tc.want)
			}
			if tc.want != "" && tx.arqc != nil {
				t.Errorf("declined %s after the cryptogram was verified", d.Reason)
			}
		})
	}
}

func TestParseTrack2(t *testing.T) {
	tr, err := parseTrack2("4000001234567899D29122011123412300000")
	if err != nil || tr.pan != "4000001234567899" || tr.expiry != "2912" || tr.serviceCode != "201" || tr.pvki != "1" || tr.pvv != "1234" || tr.cvv != "123" {
		t.Fatalf("parseTrack2 = %+v, %v", tr, err)
	}
	for _, bad := range []string{"", "4000001234567899", "4000001234567899=2912", "40000012345=29122011123412300000", "4000001234567899=2912201112341AB"} {
		if _, err := parseTrack2(bad); err == nil {
			t.Errorf("parseTrack2 accepted a malformed track")
		}
	}
}

func emvTrack(s string) emv.Track2 { return emv.Track2(s) }

// TestStepSpendingRefunds: a refund gives back at most what the card has
// spent, so it can never lift what the card may spend above its limit; one
// in another currency without field 6 cannot be converted (12).
func TestStepSpendingRefunds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    *int64
		spent    int64
		currency string
		billing  int64
		amount   int64
		want     Reason
		total    int64 // TotalSpent after the step
	}{
		{"within what was spent", ptr(int64(1000)), 800, "840", 0, 300, ReasonApproved, 500},
		{"all that was spent", ptr(int64(1000)), 800, "840", 0, 800, ReasonApproved, 0},
		{"more than was spent", ptr(int64(1000)), 800, "840", 0, 801, ReasonRefundExceedsSpent, 800},
		{"a million on a fresh card with a 1,000 limit", ptr(int64(1000)), 0, "840", 0, 1_000_000, ReasonRefundExceedsSpent, 0},
		{"card without a limit", nil, 0, "840", 0, 1, ReasonRefundExceedsSpent, 0},
		{"spent over the limit by an advice", ptr(int64(1000)), 1500, "840", 0, 1500, ReasonApproved, 0},
		{"another currency with field 6", ptr(int64(1000)), 800, "978", 700, 650, ReasonApproved, 100},
		{"another currency, field 6 over what was spent", ptr(int64(1000)), 800, "978", 900, 850, ReasonRefundExceedsSpent, 800},
		{"another currency without field 6", ptr(int64(1000)), 800, "978", 0, 300, ReasonInvalidTransaction, 800},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := testCard()
			card.CardLimit, card.TotalSpent = tc.limit, tc.spent
			req := testRequest()
			req.ProcessingCode, req.Currency, req.BillingAmount, req.Amount = "200000", tc.currency, tc.billing, tc.amount
			tx := newTxn(req, card, time.Now(), &fakeVerifier{}, nil)
			d, err := stepSpending(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tc.want || tx.next.TotalSpent != tc.total {
				t.Fatalf("got %s with %d spent, want %s with %d", d.Reason, tx.next.TotalSpent, tc.want, tc.total)
			}
			if !d.Approved() && (tx.dirty || tx.approved != 0) {
				t.Fatalf("a declined refund changed the card (dirty %v, approved %d)", tx.dirty, tx.approved)
			}
		})
	}
}

// TestReleaseNeverLiftsAboveTheLimit: a release after a refund that
// already gave the same amount back stops at zero, as the counters do.
func TestReleaseNeverLiftsAboveTheLimit(t *testing.T) {
	// A purchase of 600, refunded while still held: nothing counts.
	s := State{Spend: map[string]Counter{}, TotalSpent: 0}
	releaseSpend(&s, nil, 600, true)
	if s.TotalSpent != 0 {
		t.Fatalf("total spent %d after the release, want 0", s.TotalSpent)
	}
}

// TestCardNotPresentDecision: a key-entered or e-commerce request needs
// field 14, a CVV2 unless the card's policy is IF_PRESENT, and declines
// once the card's wrong CVV2s reached its limit (so do requests of other
// entry modes that carry a CVV2).
func TestCardNotPresentDecision(t *testing.T) {
	for _, tc := range []struct {
		name          string
		entry, expiry string
		cvv2          emv.CVV
		policy        string
		tries, max    int
		want          Reason
		pcode         string // field 3; a purchase when empty
	}{
		{"e-commerce with expiry and CVV2", "812", "2912", "123", "", 0, 0, "", ""},
		{"key entry with expiry and CVV2", "012", "2912", "123", "", 0, 0, "", ""},
		{"e-commerce without expiry", "812", "", "123", "", 0, 0, ReasonExpiryMissing, ""},
		{"key entry without expiry", "011", "", "123", "IF_PRESENT", 0, 0, ReasonExpiryMissing, ""},
		{"e-commerce without CVV2, no policy: required", "812", "2912", "", "", 0, 0, ReasonCVV2Missing, ""},
		{"e-commerce without CVV2, REQUIRED", "810", "2912", "", "REQUIRED", 0, 0, ReasonCVV2Missing, ""},
		{"key entry without CVV2, REQUIRED", "012", "2912", "", "REQUIRED", 0, 0, ReasonCVV2Missing, ""},
		{"e-commerce without CVV2, IF_PRESENT", "812", "2912", "", "IF_PRESENT", 0, 0, "", ""},
		{"without both: the expiry first", "812", "", "", "REQUIRED", 0, 0, ReasonExpiryMissing, ""},
		{"tries at the default limit (5)", "812", "2912", "123", "", 5, 0, ReasonCVV2TriesExceeded, ""},
		{"tries under the default limit", "812", "2912", "123", "", 4, 0, "", ""},
		{"tries at the product's limit", "812", "2912", "123", "", 2, 2, ReasonCVV2TriesExceeded, ""},
		{"tries exceeded, IF_PRESENT, no CVV2", "812", "2912", "", "IF_PRESENT", 5, 0, ReasonCVV2TriesExceeded, ""},
		{"tries exceeded, a wrong expiry is not looked at", "812", "2001", "123", "", 5, 0, ReasonCVV2TriesExceeded, ""},
		{"chip needs neither", "051", "", "", "REQUIRED", 0, 0, "", ""},
		{"magnetic stripe needs neither", "901", "", "", "REQUIRED", 0, 0, "", ""},
		{"chip with tries exceeded and no CVV2", "051", "", "", "", 5, 0, "", ""},
		{"chip with tries exceeded and a CVV2", "051", "", "123", "", 5, 0, ReasonCVV2TriesExceeded, ""},
		{"refund without CVV2, REQUIRED: a credit needs none", "812", "2912", "", "REQUIRED", 0, 0, "", "200000"},
		{"refund without expiry", "812", "", "", "REQUIRED", 0, 0, ReasonExpiryMissing, "200000"},
		{"refund on a locked card", "812", "2912", "", "REQUIRED", 5, 0, ReasonCVV2TriesExceeded, "200000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRequest()
			r.EntryMode, r.Expiry, r.CVV2 = tc.entry, tc.expiry, tc.cvv2
			if tc.pcode != "" {
				r.ProcessingCode = tc.pcode
			}
			card := testCard()
			card.CVV2Policy, card.CVV2MaxTries, card.CVV2Tries = tc.policy, tc.max, tc.tries
			tx := newTxn(r, card, time.Now(), &fakeVerifier{}, nil)
			d, err := stepCardNotPresent(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tc.want {
				t.Fatalf("reason %q, want %q", d.Reason, tc.want)
			}
			if tc.want != "" && d.Code != tc.want.Code() {
				t.Fatalf("code %s, want %s", d.Code, tc.want.Code())
			}
			if tx.dirty {
				t.Fatal("the card-not-present rules changed the card")
			}
		})
	}
}

// TestCVV2Tries: wrong CVV2s are counted like wrong PINs (the decline
// writes the count), the one that reaches the limit answers
// cvv2_tries_exceeded, and a right CVV2 resets the count.
func TestCVV2Tries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tries, max int
		ok         bool
		want       Reason
		wantTries  int
		dirty      bool
	}{
		{"first wrong CVV2", 0, 0, false, ReasonCVV2Invalid, 1, true},
		{"fourth wrong CVV2", 3, 0, false, ReasonCVV2Invalid, 4, true},
		{"fifth wrong CVV2 reaches the default limit", 4, 0, false, ReasonCVV2TriesExceeded, 5, true},
		{"second wrong CVV2 reaches a limit of 2", 1, 2, false, ReasonCVV2TriesExceeded, 2, true},
		{"right CVV2 resets the count", 3, 0, true, "", 0, true},
		{"right CVV2 on a clean card changes nothing", 0, 0, true, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card := testCard()
			card.CVV2Tries, card.CVV2MaxTries = tc.tries, tc.max
			r := testRequest()
			r.CVV2 = "123"
			tx := newTxn(r, card, time.Now(), &fakeVerifier{cvv2OK: tc.ok}, nil)
			d, err := stepCardVerification(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if d.Reason != tc.want || tx.next.CVV2Tries != tc.wantTries || tx.dirty != tc.dirty {
				t.Fatalf("got %q with %d tries (dirty %v), want %q with %d (dirty %v)", d.Reason, tx.next.CVV2Tries, tx.dirty, tc.want, tc.wantTries, tc.dirty)
			}
			if card.CVV2Tries != tc.tries {
				t.Fatal("the step changed the snapshot instead of the next state")
			}
		})
	}
	// A CVV2 that is not three digits is a format error, not a guess.
	r := testRequest()
	r.CVV2 = "12"
	tx := newTxn(r, testCard(), time.Now(), &fakeVerifier{}, nil)
	if d, _ := stepCardVerification(context.Background(), tx); d.Reason != ReasonFormatError || tx.next.CVV2Tries != 0 {
		t.Fatalf("a 2-digit CVV2: %s with %d tries, want format_error with 0", d.Reason, tx.next.CVV2Tries)
	}
}
