package dataprep

import (
	"encoding/json"
	"fmt"

	"github.com/cardhost/cardhost/emv"
)

// RecordInput is everything a personalisation record is built from. The
// secrets arrive as emv secret types (from the HSM and the opened PAN).
type RecordInput struct {
	CardID      string
	CardType    string
	PAN         emv.PAN
	Expiry      string // YYMM
	PSN         string // "" means "00"
	ServiceCode string
	CVVs        emv.CVVSet
	// PVKI and PVV go into track 2 when the card's PIN is verified by
	// PVV (empty: zeros).
	PVKI, PVV   string
	PrintedName string
	// PIN is the sandbox simulator's PIN ("" for every real card).
	PIN       emv.PIN
	PINMethod string
	PINLength int
	Network   emv.Network // VISA, MASTERCARD or UNIONPAY
	CVN       int
	AID       string
	// Layout, EmbosserID and ShippingAddress are for card bureaus.
	Layout          string
	EmbosserID      string
	ShippingAddress json.RawMessage
	// ICCKeys are the chip keys exported under the transport key (nil: the
	// HSM adds them in clear inside the sealed record, or none).
	ICCKeys *emv.ICCKeys
}

// BuildRecord assembles a card's personalisation record: both tracks (CVV
// on the stripe, iCVV on the chip), CVV2, the chip's application data and
// the key blocks. The result holds clear card data.
func BuildRecord(in RecordInput) (Record, error) {
	psn := in.PSN
	if psn == "" {
		psn = "00"
	}
	pvki, pvv := "", ""
	if in.PINMethod == "PVV" && in.PVV != "" {
		pvki, pvv = in.PVKI, in.PVV
	}
	t2, err := Track2(in.PAN, in.Expiry, in.ServiceCode, pvki, pvv, in.CVVs.CVV)
	if err != nil {
		return Record{}, err
	}
	chip, err := Track2(in.PAN, in.Expiry, in.ServiceCode, pvki, pvv, in.CVVs.ICVV)
	if err != nil {
		return Record{}, err
	}
	cvn, err := in.Network.CVN(in.CVN)
	if err != nil {
		return Record{}, fmt.Errorf("building personalisation record: CVN: %w", err)
	}
	r := Record{
		Format:          RecordFormat,
		CardID:          in.CardID,
		CardType:        in.CardType,
		PAN:             in.PAN.Reveal(),
		Expiry:          in.Expiry,
		PSN:             psn,
		ServiceCode:     in.ServiceCode,
		Track2:          t2.Reveal(),
		Track2Chip:      chip.Reveal(),
		CVV2:            in.CVVs.CVV2.Reveal(),
		PrintedName:     in.PrintedName,
		PIN:             in.PIN.Reveal(),
		PINMethod:       in.PINMethod,
		PVKI:            in.PVKI,
		PINLength:       in.PINLength,
		Network:         string(in.Network),
		Scheme:          string(cvn.Scheme),
		CVN:             cvn.Number,
		CVNCode:         fmt.Sprintf("%02X", cvn.Code),
		IADFormat:       string(cvn.ACData),
		AID:             in.AID,
		Layout:          in.Layout,
		EmbosserID:      in.EmbosserID,
		ShippingAddress: in.ShippingAddress,
	}
	if k := in.ICCKeys; k != nil && k.AC.KeyBlock != "" {
		r.ICCKeyBlocks = &ICCKeyBlocks{AC: KeyBlock{k.AC.KeyBlock, k.AC.KCV}}
		if k.SMI.KeyBlock != "" {
			r.ICCKeyBlocks.SMI = &KeyBlock{k.SMI.KeyBlock, k.SMI.KCV}
		}
		if k.SMC.KeyBlock != "" {
			r.ICCKeyBlocks.SMC = &KeyBlock{k.SMC.KeyBlock, k.SMC.KCV}
		}
	}
	return r, nil
}
