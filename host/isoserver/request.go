package isoserver

import (
	"strings"
	"time"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// fields are an unpacked message's fields, read without locking per field.
type fields map[int]field.Field

func fieldsOf(m *iso8583.Message) fields {
	if m == nil {
		return nil
	}
	return m.GetFields()
}

// str returns text field id ("" when absent).
func (f fields) str(id int) string {
	if v, ok := f[id].(*field.String); ok {
		return v.Value()
	}
	return ""
}

// has reports whether field id is present.
func (f fields) has(id int) bool {
	_, ok := f[id]
	return ok
}

// decodeRequest turns an unpacked request into a host.Request. The codec
// has already checked every field's length and character set; this checks
// the layouts of fields 7, 48, 90 and 95. Errors are *iso.FieldError
// values naming the field (answered with 30).
func decodeRequest(f fields, mti string, received time.Time) (*host.Request, error) {
	r := &host.Request{
		MTI:              mti,
		Kind:             kindOf(mti),
		PAN:              emv.PAN(f.str(iso.FieldPAN)),
		ProcessingCode:   f.str(iso.FieldProcessingCode),
		TransmissionTime: f.str(iso.FieldTransmissionTime),
		STAN:             f.str(iso.FieldSTAN),
		LocalTime:        f.str(iso.FieldLocalTime),
		LocalDate:        f.str(iso.FieldLocalDate),
		Expiry:           f.str(iso.FieldExpiry),
		MCC:              f.str(iso.FieldMCC),
		Country:          f.str(iso.FieldAcquirerCountry),
		EntryMode:        f.str(iso.FieldEntryMode),
		PSN:              f.str(iso.FieldPANSequence),
		AcquirerID:       f.str(iso.FieldAcquirerID),
		Track2:           emv.Track2(f.str(iso.FieldTrack2)),
		RRN:              f.str(iso.FieldRRN),
		Terminal:         f.str(iso.FieldTerminal),
		Merchant:         f.str(iso.FieldMerchant),
		Acceptor:         f.str(iso.FieldAcceptor),
		Currency:         f.str(iso.FieldCurrency),
		PINBlock:         emv.PINBlock(strings.ToUpper(f.str(iso.FieldPINBlock))),
	}
	if r.Kind == host.KindAdvice {
		r.AdviceResponseCode = f.str(iso.FieldResponseCode)
		r.AdviceApprovalCode = f.str(iso.FieldApprovalCode)
	}
	var ok bool
	if v := f.str(iso.FieldAmount); v != "" {
		if r.Amount, ok = iso.ParseAmount(v); !ok {
			return nil, &iso.FieldError{Field: iso.FieldAmount, Err: iso.ErrInvalidValue}
		}
	}
	if v := f.str(iso.FieldBillingAmount); v != "" {
		if r.BillingAmount, ok = iso.ParseAmount(v); !ok {
			return nil, &iso.FieldError{Field: iso.FieldBillingAmount, Err: iso.ErrInvalidValue}
		}
	}
	if r.TransmissionTime != "" {
		if _, err := iso.ParseTransmissionTime(r.TransmissionTime, received); err != nil {
			return nil, err
		}
	}
	if v := f.str(iso.FieldPrivateData); v != "" {
		pd, err := iso.ParsePrivateData(v)
		if err != nil {
			return nil, err
		}
		cvv2, _ := pd.Get(iso.ElementCVV2)
		r.CVV2 = emv.CVV(cvv2)
		r.ECI, _ = pd.Get(iso.ElementECI)
		cavv, _ := pd.Get(iso.ElementCAVV)
		r.CAVV = strings.ToUpper(cavv)
		partial, _ := pd.Get(iso.ElementPartialApproval)
		r.PartialSupported = partial == "Y"
	}
	if v, ok := f[iso.FieldICC].(*field.Binary); ok {
		r.ICC = v.Value()
	}
	if v := f.str(iso.FieldOriginalData); v != "" {
		o, err := iso.ParseOriginalData(v)
		if err != nil {
			return nil, err
		}
		r.Original = &host.OriginalData{
			MTI:              o.MTI,
			STAN:             o.STAN,
			TransmissionTime: o.TransmissionTime,
			AcquirerID:       o.AcquirerID,
			ForwardingID:     o.ForwardingID,
		}
	}
	if v := f.str(iso.FieldReplacementAmounts); v != "" {
		ra, err := iso.ParseReplacementAmounts(v)
		if err != nil {
			return nil, err
		}
		r.Replacement = &ra.Actual
	}
	return r, nil
}
