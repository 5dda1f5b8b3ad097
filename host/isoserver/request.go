package isoserver

import (
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/iso"
)

// decodeRequest turns an unpacked request into a host.Request. The codec
// has already checked every field's length and character set; this checks
// the layouts of fields 7, 48, 90 and 95. Errors are *iso.FieldError
// values naming the field (answered with 30).
//
// The request's text values are substrings of f's one copy of the frame
// (not of the pooled read buffer): whatever keeps one of them keeps that
// copy, card data included, so nothing may hold them beyond the request's
// decision and commit. Field 55 is copied.
func decodeRequest(f *iso.FieldValues, mti string, received time.Time) (*host.Request, error) {
	r := &host.Request{
		MTI:              mti,
		Kind:             kindOf(mti),
		PAN:              emv.PAN(f.Get(iso.FieldPAN)),
		ProcessingCode:   f.Get(iso.FieldProcessingCode),
		TransmissionTime: f.Get(iso.FieldTransmissionTime),
		STAN:             f.Get(iso.FieldSTAN),
		LocalTime:        f.Get(iso.FieldLocalTime),
		LocalDate:        f.Get(iso.FieldLocalDate),
		Expiry:           f.Get(iso.FieldExpiry),
		MCC:              f.Get(iso.FieldMCC),
		Country:          f.Get(iso.FieldAcquirerCountry),
		EntryMode:        f.Get(iso.FieldEntryMode),
		PSN:              f.Get(iso.FieldPANSequence),
		AcquirerID:       f.Get(iso.FieldAcquirerID),
		Track2:           emv.Track2(f.Get(iso.FieldTrack2)),
		RRN:              f.Get(iso.FieldRRN),
		Terminal:         f.Get(iso.FieldTerminal),
		Merchant:         f.Get(iso.FieldMerchant),
		Acceptor:         f.Get(iso.FieldAcceptor),
		Currency:         f.Get(iso.FieldCurrency),
		PINBlock:         emv.PINBlock(strings.ToUpper(f.Get(iso.FieldPINBlock))),
	}
	if r.Kind == host.KindAdvice {
		r.AdviceResponseCode = f.Get(iso.FieldResponseCode)
		r.AdviceApprovalCode = f.Get(iso.FieldApprovalCode)
	}
	var ok bool
	if v := f.Get(iso.FieldAmount); v != "" {
		if r.Amount, ok = iso.ParseAmount(v); !ok {
			return nil, &iso.FieldError{Field: iso.FieldAmount, Err: iso.ErrInvalidValue}
		}
	}
	if v := f.Get(iso.FieldBillingAmount); v != "" {
		if r.BillingAmount, ok = iso.ParseAmount(v); !ok {
			return nil, &iso.FieldError{Field: iso.FieldBillingAmount, Err: iso.ErrInvalidValue}
		}
	}
	if r.TransmissionTime != "" {
		if _, err := iso.ParseTransmissionTime(r.TransmissionTime, received); err != nil {
			return nil, err
		}
	}
	if v := f.Get(iso.FieldPrivateData); v != "" {
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
	if f.Has(iso.FieldICC) {
		r.ICC = f.Bytes(iso.FieldICC) // a copy: the request outlives the frame
	}
	if v := f.Get(iso.FieldOriginalData); v != "" {
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
	if v := f.Get(iso.FieldReplacementAmounts); v != "" {
		ra, err := iso.ParseReplacementAmounts(v)
		if err != nil {
			return nil, err
		}
		r.Replacement = &ra.Actual
	}
	return r, nil
}
