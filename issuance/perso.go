package issuance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/issuance/dataprep"
)

// Personalisation records (docs/perso.md): built from the card, its
// template and fresh HSM outputs (CVV set, ICC master keys) whenever one is
// needed — by the embossing worker for the embosser, and by the sandbox
// export for the terminal simulator — and sealed by the HSM under a
// transport key at once. A clear record exists only in memory.

// Default application identifiers by network (imported cards have no
// template to name one).
var defaultAID = map[Network]string{
	NetworkVisa:       "A0000000031010",
	NetworkMastercard: "A0000000041010",
	NetworkUnionPay:   "A000000333010101", // UnionPay debit/credit (PBOC / UICS)
}

// SealedRecord is a sealed personalisation record and what its recipient
// needs to open it.
type SealedRecord struct {
	CardID   string
	TenantID string
	// KEKRef names the transport key, KEKVersion its version and KCV its
	// check value.
	KEKRef     string
	KEKVersion int
	KCV        string
	// Format is dataprep.SealFormat.
	Format string
	Data   []byte
	// CVKVersion is the CVK version of the CVVs inside.
	CVKVersion int
	// CustomField is the card's embossing_custom_field, for the embosser.
	CustomField string
}

// sealPerso builds card c's personalisation record and has the HSM seal it
// under kekRef. For the embosser (export false) the chip keys travel as
// TR-31 key blocks under the same key; for the sandbox export they are
// inserted in clear by the HSM inside the sealed record, with the sandbox
// PIN when one was set through the simulator.
func (s *Service) sealPerso(ctx context.Context, c *Card, kekRef string, export bool) (SealedRecord, error) {
	var tpl Template
	if c.TemplateID != "" {
		t, err := s.d.Catalog.Template(ctx, c.TenantID, c.TemplateID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return SealedRecord{}, fmt.Errorf("reading data prep template: %w", err)
		}
		tpl = t
	}
	aid := tpl.AID
	if aid == "" {
		aid = defaultAID[c.Network]
	}
	cvn, err := c.Network.CVN(c.CVN)
	if err != nil {
		return SealedRecord{}, fmt.Errorf("card %s: %w", c.ID, err)
	}
	pan, err := s.OpenPAN(ctx, c)
	if err != nil {
		return SealedRecord{}, err
	}
	cvvs, err := s.d.Vault.GenerateCVVSet(ctx, c.CVKRef, pan, c.Expiry, c.ServiceCode)
	if err != nil {
		return SealedRecord{}, fmt.Errorf("generating CVV set: %w", err)
	}
	icc := emv.ICCKeyRequest{IMKAC: c.IMKACRef, IMKSMI: tpl.IMKSMIRef, IMKSMC: tpl.IMKSMCRef, PAN: pan, PSN: c.PSN, MKD: cvn.MKD, KEKRef: kekRef}
	in := dataprep.RecordInput{
		CardID: c.ID, CardType: string(c.Type), PAN: pan, Expiry: c.Expiry, PSN: c.PSN, ServiceCode: c.ServiceCode,
		CVVs: cvvs, PVKI: c.PVKI, PVV: c.PINVerify, PrintedName: c.PrintedName, PINMethod: c.PINMethod, PINLength: c.PINLength,
		Network: c.Network, CVN: c.CVN, AID: aid, EmbosserID: c.EmbosserID,
	}
	var clearICC *emv.ICCKeyRequest
	if export {
		clearICC = &icc
		sealedPIN, err := s.d.Cards.SandboxPIN(ctx, c.TenantID, c.ID)
		if err != nil {
			return SealedRecord{}, fmt.Errorf("reading sandbox PIN: %w", err)
		}
		if sealedPIN != nil {
			if in.PIN, err = s.d.Vault.OpenPIN(ctx, s.d.Keys.PANDEK, c.TenantID, sandboxPINBinding(c.ID), sealedPIN); err != nil {
				return SealedRecord{}, fmt.Errorf("opening sandbox PIN: %w", err)
			}
		}
	} else {
		keys, err := s.d.Vault.DeriveICCKeys(ctx, icc)
		if err != nil {
			return SealedRecord{}, fmt.Errorf("deriving ICC keys: %w", err)
		}
		in.ICCKeys = &keys
		if c.ShippingAddress != nil {
			in.ShippingAddress, _ = json.Marshal(c.ShippingAddress)
		}
		if c.LayoutID != "" {
			if l, err := s.d.Catalog.Layout(ctx, c.TenantID, c.LayoutID); err == nil {
				in.Layout = l.Layout
			}
		}
	}
	rec, err := dataprep.BuildRecord(in)
	if err != nil {
		return SealedRecord{}, fmt.Errorf("building personalisation record of card %s: %w", c.ID, err)
	}
	plain, err := rec.Marshal()
	if err != nil {
		return SealedRecord{}, err
	}
	defer emv.SecretBytes(plain).Wipe()
	sealed, kcv, err := s.d.Vault.SealRecord(ctx, kekRef, []byte(c.ID), plain, clearICC)
	if err != nil {
		return SealedRecord{}, fmt.Errorf("sealing personalisation record: %w", err)
	}
	return SealedRecord{CardID: c.ID, TenantID: c.TenantID, KEKRef: kekRef, KEKVersion: dataprep.SealedKEKVersion(sealed),
		KCV: kcv, Format: dataprep.SealFormat, Data: sealed, CVKVersion: cvvs.KeyVersion, CustomField: c.EmbossingCustomField}, nil
}

// ExportPerso returns a card's personalisation record sealed under the
// transport key of its embosser (in sandbox mode the tenant's transport
// key), for the terminal simulator to act as the card (POST
// /v1/simulator/cards/{id}/perso). Sandbox only; audited. Rejections:
// sandbox_only, transport_key_not_found; ErrNotFound.
func (s *Service) ExportPerso(ctx context.Context, a Actor, tenantID, cardID string) (SealedRecord, error) {
	if !a.Sandbox {
		return SealedRecord{}, Errorf(SlugSandboxOnly, "the personalisation export exists only in sandbox mode")
	}
	c, err := s.d.Cards.Card(ctx, tenantID, cardID)
	if err != nil {
		return SealedRecord{}, err
	}
	kek, err := s.transportKey(ctx, &c)
	if err != nil {
		return SealedRecord{}, err
	}
	rec, err := s.sealPerso(ctx, &c, kek, true)
	if err != nil {
		return SealedRecord{}, err
	}
	if err := s.d.Cards.RecordAudit(ctx, *a.audit(AuditPersoExport, &c, s)); err != nil {
		return SealedRecord{}, fmt.Errorf("auditing personalisation export: %w", err)
	}
	return rec, nil
}

// transportKey returns the transport key a card's records are sealed
// under: its embosser's, else its product's default embosser's.
func (s *Service) transportKey(ctx context.Context, c *Card) (string, error) {
	ids := []string{c.EmbosserID}
	if p, err := s.d.Catalog.Product(ctx, c.TenantID, c.ProductID); err == nil {
		ids = append(ids, p.DefaultEmbosserID)
	}
	for _, id := range ids {
		if id == "" {
			continue
		}
		e, err := s.d.Catalog.Embosser(ctx, c.TenantID, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("reading embosser: %w", err)
		}
		if e.KEKRef != "" {
			return e.KEKRef, nil
		}
	}
	return "", Errorf(SlugNoTransportKey, "card %s has no embosser with a transport key", c.ID)
}
