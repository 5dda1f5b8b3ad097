package iso

import "github.com/cardhost/cardhost/iso/digit"

// Message type indicators cardhost handles (ISO 8583:1987: version 0,
// class, function, origin). A repeat has origin digit 1 and is answered as
// its base message.
const (
	MTIAuthorizationRequest       = "0100"
	MTIAuthorizationRequestRepeat = "0101"
	MTIAuthorizationResponse      = "0110"
	MTIAuthorizationAdvice        = "0120"
	MTIAuthorizationAdviceRepeat  = "0121"
	MTIAuthorizationAdviceResp    = "0130"
	MTIFinancialRequest           = "0200"
	MTIFinancialRequestRepeat     = "0201"
	MTIFinancialResponse          = "0210"
	MTIFinancialAdvice            = "0220"
	MTIFinancialAdviceRepeat      = "0221"
	MTIFinancialAdviceResp        = "0230"
	MTIReversalRequest            = "0400"
	MTIReversalRequestRepeat      = "0401"
	MTIReversalResponse           = "0410"
	MTIReversalAdvice             = "0420"
	MTIReversalAdviceRepeat       = "0421"
	MTIReversalAdviceResp         = "0430"
	MTINetworkRequest             = "0800"
	MTINetworkRequestRepeat       = "0801"
	MTINetworkResponse            = "0810"
)

// Network management information codes (field 70).
const (
	NetworkSignOn  = "001"
	NetworkSignOff = "002"
	NetworkEcho    = "301"
)

// ValidMTI reports whether mti is four digits: readable, whether or not
// cardhost handles it.
func ValidMTI(mti string) bool {
	return len(mti) == mtiLength && digit.All(mti)
}

// IsRepeat reports whether mti is a repeat (odd origin digit: 0101, 0121,
// 0221, 0401, 0421, ...).
func IsRepeat(mti string) bool {
	return ValidMTI(mti) && (mti[3]-'0')%2 == 1
}

// BaseMTI returns the message a repeat repeats (0101 -> 0100, 0421 ->
// 0420); other MTIs are returned unchanged.
func BaseMTI(mti string) string {
	if !IsRepeat(mti) {
		return mti
	}
	return mti[:3] + string(mti[3]-1)
}

// IsResponse reports whether mti is an answer (odd function digit: 0110,
// 0130, 0810, ...), to which nothing responds.
func IsResponse(mti string) bool {
	return ValidMTI(mti) && (mti[2]-'0')%2 == 1
}

// ResponseMTI returns the MTI answering mti: the function digit plus one,
// the origin digit of the base message (0100 -> 0110, 0101 -> 0110, 0420 ->
// 0430, 0800 -> 0810). It reports false for unreadable MTIs and for
// answers.
func ResponseMTI(mti string) (string, bool) {
	if !ValidMTI(mti) || IsResponse(mti) {
		return "", false
	}
	base := BaseMTI(mti)
	return base[:2] + string(base[2]+1) + base[3:], true
}
