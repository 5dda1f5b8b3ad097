package iso

// ResponseCode is an ISO 8583 field 39 response code (two characters).
type ResponseCode string

// The response codes cardhost answers with (DESIGN.md, "Response codes").
const (
	Approved                  ResponseCode = "00"
	PartialApproval           ResponseCode = "10"
	DoNotHonor                ResponseCode = "05"
	InvalidTransaction        ResponseCode = "12"
	InvalidAmount             ResponseCode = "13"
	InvalidCardNumber         ResponseCode = "14"
	FormatError               ResponseCode = "30"
	LostCard                  ResponseCode = "41"
	StolenCard                ResponseCode = "43"
	InsufficientFunds         ResponseCode = "51"
	ExpiredCard               ResponseCode = "54"
	IncorrectPIN              ResponseCode = "55"
	NotPermittedToCardholder  ResponseCode = "57"
	NotPermittedToTerminal    ResponseCode = "58"
	SuspectedFraud            ResponseCode = "59"
	ExceedsAmountLimit        ResponseCode = "61"
	RestrictedCard            ResponseCode = "62"
	SecurityViolation         ResponseCode = "63"
	ExceedsFrequencyLimit     ResponseCode = "65"
	PINTriesExceeded          ResponseCode = "75"
	CryptographicFailure      ResponseCode = "82"
	DuplicateTransmission     ResponseCode = "94"
	SystemMalfunction         ResponseCode = "96"
	IssuerOrSwitchInoperative ResponseCode = "91"
)

// responseCodes is the response-code table: one row per code, mirroring
// DESIGN.md. Meaning is the text shown in logs, docs and termsim reports.
var responseCodes = map[ResponseCode]struct {
	Meaning  string
	Approval bool
}{
	Approved:                  {"approved", true},
	PartialApproval:           {"partial approval", true},
	DoNotHonor:                {"do not honor", false},
	InvalidTransaction:        {"invalid transaction", false},
	InvalidAmount:             {"invalid amount", false},
	InvalidCardNumber:         {"invalid card number", false},
	FormatError:               {"format error", false},
	LostCard:                  {"lost card, pick up", false},
	StolenCard:                {"stolen card, pick up", false},
	InsufficientFunds:         {"insufficient funds", false},
	ExpiredCard:               {"expired card", false},
	IncorrectPIN:              {"incorrect PIN", false},
	NotPermittedToCardholder:  {"transaction not permitted to cardholder", false},
	NotPermittedToTerminal:    {"transaction not permitted to terminal", false},
	SuspectedFraud:            {"suspected fraud", false},
	ExceedsAmountLimit:        {"exceeds withdrawal amount limit", false},
	RestrictedCard:            {"restricted card", false},
	SecurityViolation:         {"security violation", false},
	ExceedsFrequencyLimit:     {"exceeds withdrawal frequency limit", false},
	PINTriesExceeded:          {"allowable number of PIN tries exceeded", false},
	CryptographicFailure:      {"CVV or cryptogram failure", false},
	IssuerOrSwitchInoperative: {"issuer or switch inoperative", false},
	DuplicateTransmission:     {"duplicate transmission", false},
	SystemMalfunction:         {"system malfunction", false},
}

// Known reports whether c is in cardhost's response-code table.
func (c ResponseCode) Known() bool { _, ok := responseCodes[c]; return ok }

// Approved reports whether c approves the transaction (00 or 10).
func (c ResponseCode) Approved() bool { return responseCodes[c].Approval }

// Meaning returns the code's description, or "unknown response code".
func (c ResponseCode) Meaning() string {
	if r, ok := responseCodes[c]; ok {
		return r.Meaning
	}
	return "unknown response code"
}

// String returns the two-character code.
func (c ResponseCode) String() string { return string(c) }

// ResponseCodes returns every code in the table, for docs and tests.
func ResponseCodes() []ResponseCode {
	out := make([]ResponseCode, 0, len(responseCodes))
	for c := range responseCodes {
		out = append(out, c)
	}
	return out
}
