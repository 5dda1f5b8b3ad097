package host

import (
	"context"

	"github.com/cardhost/cardhost/issuance"
)

// mccATM is the MCC of automated cash disbursements.
const mccATM = "6011"

// channelsOf derives the channels a request uses: the channel of its entry
// mode (entrymode.go; a keyed entry with an ECI is e-commerce), plus atm for
// MCC 6011. It also reports whether an e-commerce request arrives 3-D
// Secure authenticated (a CAVV, or an ECI meaning "authenticated" for the
// card's network: Visa and UnionPay 05/06, Mastercard 02/01; UnionPay's
// 3-D Secure uses Visa's ECI values).
func channelsOf(r *Request, card *Card) ([]issuance.Channel, bool) {
	var chs []issuance.Channel
	if m, ok := entryModeOf(r.EntryMode); ok {
		ch := m.channel
		if ch == issuance.ChannelManual && r.ECI != "" {
			ch = issuance.ChannelEcommerce
		}
		chs = append(chs, ch)
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
	if len(chs) == 0 { // unreachable past stepFormat: a request of no channel approves nothing
		return Decline(ReasonEntryModeNotSupported)
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
