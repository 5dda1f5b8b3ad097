package issuance

// Status is a card's lifecycle status (DESIGN.md "Card domain").
type Status string

// Card statuses.
const (
	StatusProvisioned Status = "PROVISIONED" // created, awaiting embossing/activation
	StatusActive      Status = "ACTIVE"
	StatusFrozen      Status = "FROZEN"   // reversible
	StatusBlocked     Status = "BLOCKED"  // permanent; reason lost, stolen, fraud, other
	StatusCanceled    Status = "CANCELED" // by the issuer, a one-time trigger or expiry_at
	StatusExpired     Status = "EXPIRED"  // past the printed expiry
	// StatusInoperative (Pismo's name): the card's validity_period_hours
	// ran out (TEMPORARY cards and cards given a validity).
	StatusInoperative Status = "INOPERATIVE"
)

// transitions is the status transition table, row by row as in DESIGN.md.
// Anything not listed answers 409 invalid_status_transition.
var transitions = map[Status][]Status{
	StatusProvisioned: {StatusActive, StatusCanceled, StatusInoperative},
	StatusActive:      {StatusFrozen, StatusBlocked, StatusCanceled, StatusExpired, StatusInoperative},
	StatusFrozen:      {StatusActive, StatusBlocked, StatusCanceled, StatusExpired, StatusInoperative},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusProvisioned, StatusActive, StatusFrozen, StatusBlocked, StatusCanceled, StatusExpired, StatusInoperative:
		return true
	}
	return false
}

// CanTransition reports whether a card may move from s to next.
func (s Status) CanTransition(next Status) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// Terminal reports whether no transition leaves s.
func (s Status) Terminal() bool { return len(transitions[s]) == 0 }

// Block reasons (BLOCKED cards); the authorization host declines lost and
// stolen cards with 41 and 43, other blocked cards with 62.
const (
	BlockReasonLost   = "lost"
	BlockReasonStolen = "stolen"
	BlockReasonFraud  = "fraud"
	BlockReasonOther  = "other"
)

// ValidBlockReason reports whether r is a block reason.
func ValidBlockReason(r string) bool {
	switch r {
	case BlockReasonLost, BlockReasonStolen, BlockReasonFraud, BlockReasonOther:
		return true
	}
	return false
}
