package iso

import (
	"strings"

	"github.com/cardhost/cardhost/iso/digit"
)

// institutionIDLen is the width of the acquirer and forwarding institution
// ids inside field 90.
const institutionIDLen = 11

// OriginalData is field 90 (n42): what a reversal (or capture) refers to.
type OriginalData struct {
	// MTI is the original message's MTI (4 digits).
	MTI string `json:"mti"`
	// STAN is the original field 11 (6 digits).
	STAN string `json:"stan"`
	// TransmissionTime is the original field 7 (MMDDhhmmss).
	TransmissionTime string `json:"transmission_time"`
	// AcquirerID is the original field 32, right-justified and zero-filled
	// to 11 digits (see PadInstitutionID).
	AcquirerID string `json:"acquirer_id"`
	// ForwardingID is the forwarding institution id (11 digits, zeros when
	// none).
	ForwardingID string `json:"forwarding_id"`
}

// ParseOriginalData decodes field 90: MTI (4) + STAN (6) + transmission
// date-time (10) + acquirer id (11) + forwarding institution id (11).
func ParseOriginalData(s string) (OriginalData, error) {
	if len(s) != 42 {
		return OriginalData{}, &FieldError{Field: FieldOriginalData, Err: ErrLength}
	}
	if !digit.All(s) {
		return OriginalData{}, &FieldError{Field: FieldOriginalData, Err: ErrCharset}
	}
	o := OriginalData{
		MTI:              s[0:4],
		STAN:             s[4:10],
		TransmissionTime: s[10:20],
		AcquirerID:       s[20:31],
		ForwardingID:     s[31:42],
	}
	if !validMMDDhhmmss(o.TransmissionTime) {
		return OriginalData{}, &FieldError{Field: FieldOriginalData, Err: ErrInvalidValue}
	}
	return o, nil
}

// Encode returns field 90's value. Institution ids shorter than 11 digits
// are zero-filled on the left; an empty ForwardingID becomes zeros.
func (o OriginalData) Encode() (string, error) {
	acq, fwd := PadInstitutionID(o.AcquirerID), PadInstitutionID(o.ForwardingID)
	s := o.MTI + o.STAN + o.TransmissionTime + acq + fwd
	if len(o.MTI) != 4 || len(o.STAN) != 6 || len(o.TransmissionTime) != 10 ||
		len(acq) != institutionIDLen || len(fwd) != institutionIDLen {
		return "", &FieldError{Field: FieldOriginalData, Err: ErrLength}
	}
	if !digit.All(s) {
		return "", &FieldError{Field: FieldOriginalData, Err: ErrCharset}
	}
	if !validMMDDhhmmss(o.TransmissionTime) {
		return "", &FieldError{Field: FieldOriginalData, Err: ErrInvalidValue}
	}
	return s, nil
}

// PadInstitutionID right-justifies an institution id (field 32 or 33) in
// 11 digits, zero-filled, as field 90 carries it. Ids of 11 characters or
// more are returned unchanged.
func PadInstitutionID(id string) string {
	if len(id) >= institutionIDLen {
		return id
	}
	return strings.Repeat("0", institutionIDLen-len(id)) + id
}
