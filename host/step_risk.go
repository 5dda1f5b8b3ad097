package host

import (
	"context"

	"github.com/cardhost/cardhost/issuance"
)

// Entry modes (field 22 positions 1-2).
const (
	entryManual      = "01"
	entryChip        = "05"
	entryContactless = "07"
	entryFallback    = "80"
	entryEcommerce   = "81"
	entryMagstripe   = "90"
	entryContactMag  = "91" // contactless magnetic-stripe mode
)

// mccATM is the MCC of automated cash disbursements.
const mccATM = "6011"

// channelsOf derives the channels a request uses: one from the entry mode
// (chip, contactless, magstripe, manual, ecommerce — a keyed entry with an
// ECI is e-commerce), plus atm for MCC 6011. It also reports whether an
// e-commerce request arrives 3-D Secure authenticated (a CAVV, or an ECI
// meaning "authenticated" for the card's network: Visa 05/06, Mastercard
// 02/01).
func channelsOf(r *Request, card *Card) ([]issuance.Channel, bool) {
	var chs []issuance.Channel
	mode := ""
	if len(r.EntryMode) >= 2 {
		mode = r.EntryMode[:2]
	}
	switch mode {
	case entryChip:
		chs = append(chs, issuance.ChannelChip)
	case entryContactless, entryContactMag:
		chs = append(chs, issuance.ChannelContactless)
	case entryFallback, entryMagstripe:
		chs = append(chs, issuance.ChannelMagstripe)
	case entryEcommerce:
		chs = append(chs, issuance.ChannelEcommerce)
	case entryManual:
		if r.ECI != "" {
			chs = append(chs, issuance.ChannelEcommerce)
		} else {
			chs = append(chs, issuance.ChannelManual)
		}
	}
	if r.MCC == mccATM {
		chs = append(chs, issuance.ChannelATM)
	}
	ecom := false
	for _, c := range chs {
		ecom = ecom || c == issuance.ChannelEcommerce
	}
	if !ecom {
		return chs, false
	}
	authenticated := r.CAVV != ""
	network := issuance.NetworkVisa
	if card != nil {
		network = card.Network
	}
	switch {
	case network == issuance.NetworkMastercard && (r.ECI == "02" || r.ECI == "01"):
		authenticated = true
	case network != issuance.NetworkMastercard && (r.ECI == "05" || r.ECI == "06"):
		authenticated = true
	}
	return chs, authenticated
}

// stepRiskControls applies the card's risk controls: blocked and allowed
// MCCs, channels, acquirer country and 3-D Secure.
func stepRiskControls(_ context.Context, t *txn) (Decision, error) {
	return riskDecision(t.card.RiskControls, t.req, t.channels, t.ecommerce3DS), nil
}

func riskDecision(rc issuance.RiskControls, r *Request, chs []issuance.Channel, authenticated3DS bool) Decision {
	if !rc.AllowsMCC(r.MCC) {
		return Decline(ReasonMCCBlocked)
	}
	for _, ch := range chs {
		if !rc.AllowsChannel(ch) {
			return Decline(ReasonChannelNotAllowed)
		}
	}
	if r.Country != "" && !rc.AllowsCountry(r.Country) || r.Country == "" && len(rc.AllowedCountries) > 0 {
		return Decline(ReasonCountryNotAllowed)
	}
	if authenticated3DS && !rc.Allows3DS() {
		return Decline(Reason3DSNotAllowed)
	}
	return Decision{}
}

// stepOneTime declines a one-time card that was already used (its
// cancellation may not have reached this snapshot's status yet).
func stepOneTime(_ context.Context, t *txn) (Decision, error) {
	c := t.card
	if c.UsageType == issuance.UsageOneTime && c.UsedAt != nil {
		return Decline(ReasonOneTimeCardUsed), nil
	}
	return Decision{}, nil
}
