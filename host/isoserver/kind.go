package isoserver

import (
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// kinds maps a base MTI to what it asks the host to do (DESIGN.md, "ISO
// 8583 interface"). Repeats (0101, 0121, 0221, 0401, 0421) map through
// their base MTI; an MTI not listed is host.KindUnknown, which the engine
// answers with 12 (invalid transaction).
var kinds = map[string]host.Kind{
	iso.MTIAuthorizationRequest: host.KindAuthorization,
	iso.MTIFinancialRequest:     host.KindFinancial,
	iso.MTIAuthorizationAdvice:  host.KindAdvice,
	iso.MTIFinancialAdvice:      host.KindCapture,
	iso.MTIReversalRequest:      host.KindReversal,
	iso.MTIReversalAdvice:       host.KindReversalAdvice,
}

// kindOf returns the kind of a request MTI.
func kindOf(mti string) host.Kind {
	return kinds[iso.BaseMTI(mti)]
}
