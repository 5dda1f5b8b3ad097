package catalog

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
)

func catalogHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// minAccountDigits is the fewest random account digits a template must
// leave between its IIN and the check digit.
const minAccountDigits = 6

// checkText validates a free-text field's length in characters.
func catalogText(v *issuance.Validator, field, s string, required bool, max int) {
	if required && strings.TrimSpace(s) == "" {
		v.Add(field, "required", "must not be empty")
		return
	}
	v.Check(utf8.RuneCountInString(s) <= max, field, "too_long", "at most "+strconv.Itoa(max)+" characters")
}

// normalizeTemplate applies defaults and canonical case.
func normalizeTemplate(t *issuance.Template) {
	t.Name = strings.TrimSpace(t.Name)
	t.Network = issuance.Network(strings.ToUpper(strings.TrimSpace(string(t.Network))))
	t.IIN = strings.TrimSpace(t.IIN)
	t.AID = strings.ToUpper(strings.TrimSpace(t.AID))
	t.ServiceCode = strings.TrimSpace(t.ServiceCode)
	t.PINMethod = strings.ToUpper(strings.TrimSpace(t.PINMethod))
	if t.PANLength == 0 {
		t.PANLength = 16
	}
	if t.PINMethod == "" && t.PVKRef != "" {
		t.PINMethod = issuance.PINMethodPVV
	}
	if t.PINMethod == issuance.PINMethodPVV && t.PVKI == "" {
		t.PVKI = "1"
	}
}

// ValidateTemplate checks a template's own fields (not its key
// references, which need the HSM key directory: see Service.CreateTemplate).
// It expects a normalized template.
func ValidateTemplate(v *issuance.Validator, t issuance.Template) {
	catalogText(v, "name", t.Name, true, 200)
	catalogText(v, "description", t.Description, false, 1000)
	if !t.Network.Valid() {
		v.Add("network", "invalid", "one of "+emv.NetworkList())
	}
	switch {
	case !digit.All(t.IIN) || len(t.IIN) < 6 || len(t.IIN) > 8:
		v.Add("iin", "invalid", "6 to 8 digits")
	case t.Network.Valid() && !t.Network.InRange(t.IIN):
		v.Add("iin", "invalid", "not in the network's range (Visa 4; Mastercard 51-55, 2221-2720; UnionPay 62)")
	}
	switch {
	case t.PANLength < 13 || t.PANLength > 19:
		v.Add("pan_length", "out_of_range", "13 to 19 digits")
	case t.PANLength-len(t.IIN)-1 < minAccountDigits:
		v.Add("pan_length", "out_of_range", "must leave at least "+strconv.Itoa(minAccountDigits)+" account digits between the IIN and the check digit")
	}
	if t.Network.Valid() {
		if _, err := t.Network.CVN(t.CVN); err != nil {
			v.Add("cvn", "unsupported", "not a supported CVN for this network ("+emv.CVNList()+")")
		}
	}
	switch {
	case len(t.AID) < 10 || len(t.AID) > 32 || len(t.AID)%2 != 0 || !catalogHex(t.AID):
		v.Add("aid", "invalid", "5 to 16 bytes as hex (10 to 32 characters)")
	case t.Network.Valid() && !strings.HasPrefix(t.AID, t.Network.RID()):
		v.Add("aid", "invalid", "must start with the network's RID "+t.Network.RID())
	}
	if !digit.All(t.ServiceCode) || len(t.ServiceCode) != 3 || !strings.ContainsRune("125679", rune(t.ServiceCode[0])) {
		v.Add("service_code", "invalid", "3 digits, the first one of 1, 2, 5, 6, 7, 9 (ISO/IEC 7813)")
	}
	switch t.PINMethod {
	case issuance.PINMethodNone:
	case issuance.PINMethodPVV:
		v.Check(len(t.PVKI) == 1 && t.PVKI >= "1" && t.PVKI <= "6", "pvki", "invalid", "one digit, 1 to 6")
		v.Check(t.PVKRef != "", "pvk_key_reference", "required", "a PIN method needs a PVK")
	case issuance.PINMethodIBM3624:
		v.Check(t.PVKI == "", "pvki", "invalid", "only the PVV method has a PVKI")
		v.Check(t.PVKRef != "", "pvk_key_reference", "required", "a PIN method needs a PVK")
	default:
		v.Add("pin_method", "invalid", "one of PVV, IBM3624")
	}
}

// checkKeyRef records a field error unless ref names an active HSM key of
// type want that the tenant may use (its own, a shared one, or its
// parent's). Keys of another tenant are reported exactly as missing ones.
func (s *Service) checkKeyRef(ctx context.Context, v *issuance.Validator, tenantID, field, ref string, want emv.KeyType, required bool) error {
	if ref == "" {
		v.Check(!required, field, "required", "a "+string(want)+" key reference is required")
		return nil
	}
	k, err := s.d.Catalog.HSMKey(ctx, ref)
	usable := false
	if err == nil {
		usable, err = s.d.KeyUsable(ctx, k, tenantID)
	}
	switch {
	case errors.Is(err, issuance.ErrNotFound) || (err == nil && !usable):
		v.Add(field, "not_found", "no active HSM key with this reference for this tenant")
	case err != nil:
		return err
	case k.Type != want:
		v.Add(field, "wrong_type", "must be a "+string(want)+" key, not "+string(k.Type))
	}
	return nil
}

// CreateTemplate validates and stores a data prep template for a tenant:
// IIN in the network's range, a CVN of the emv registry for that network,
// an AID under the network's RID, and key references of the right types
// that exist in the HSM and belong to the tenant (or are shared); then the
// IIN in one of the tenant's BIN ranges (422 iin_outside_bin_ranges).
func (s *Service) CreateTemplate(ctx context.Context, tenantID string, t issuance.Template) (issuance.Template, error) {
	normalizeTemplate(&t)
	var v issuance.Validator
	ValidateTemplate(&v, t)
	for _, k := range []struct {
		field, ref string
		typ        emv.KeyType
		required   bool
	}{
		{"imk_ac_key_reference", t.IMKACRef, emv.KeyIMKAC, true},
		{"imk_smi_key_reference", t.IMKSMIRef, emv.KeyIMKSMI, false},
		{"imk_smc_key_reference", t.IMKSMCRef, emv.KeyIMKSMC, false},
		{"cvk_key_reference", t.CVKRef, emv.KeyCVK, true},
		{"pvk_key_reference", t.PVKRef, emv.KeyPVK, false},
	} {
		if err := s.checkKeyRef(ctx, &v, tenantID, k.field, k.ref, k.typ, k.required); err != nil {
			return issuance.Template{}, err
		}
	}
	if err := v.Err(); err != nil {
		return issuance.Template{}, err
	}
	if err := s.checkIIN(ctx, tenantID, t.IIN); err != nil {
		return issuance.Template{}, err
	}
	now := s.now()
	t.ID, t.TenantID, t.CreatedAt = issuance.NewID(issuance.TemplateIDPrefix, now), tenantID, now
	return stored(t, s.d.Catalog.CreateTemplate(ctx, t))
}

// Template returns one of a tenant's templates (ErrNotFound otherwise).
func (s *Service) Template(ctx context.Context, tenantID, id string) (issuance.Template, error) {
	return get(ctx, tenantID, id, issuance.TemplateIDPrefix, s.d.Catalog.Template)
}

// Templates lists a tenant's templates, newest first.
func (s *Service) Templates(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Template, bool, error) {
	return list(ctx, tenantID, p, issuance.TemplateIDPrefix, p, nil, s.d.Catalog.Templates)
}

// CreateEmbosser validates and stores an embosser: only the built-in
// LOOPBACK type exists, and its transport key must be a KEK the tenant may
// use.
func (s *Service) CreateEmbosser(ctx context.Context, tenantID string, e issuance.Embosser) (issuance.Embosser, error) {
	e.Name = strings.TrimSpace(e.Name)
	e.Type = strings.ToUpper(strings.TrimSpace(e.Type))
	if e.Type == "" {
		e.Type = issuance.EmbosserLoopback
	}
	var v issuance.Validator
	catalogText(&v, "name", e.Name, true, 200)
	v.Check(e.Type == issuance.EmbosserLoopback, "type", "invalid", "only LOOPBACK is supported")
	if err := s.checkKeyRef(ctx, &v, tenantID, "transport_key_reference", e.KEKRef, emv.KeyKEK, true); err != nil {
		return issuance.Embosser{}, err
	}
	if err := v.Err(); err != nil {
		return issuance.Embosser{}, err
	}
	now := s.now()
	e.ID, e.TenantID, e.CreatedAt = issuance.NewID(issuance.EmbosserIDPrefix, now), tenantID, now
	return stored(e, s.d.Catalog.CreateEmbosser(ctx, e))
}

// Embosser returns one of a tenant's embossers (ErrNotFound otherwise).
func (s *Service) Embosser(ctx context.Context, tenantID, id string) (issuance.Embosser, error) {
	return get(ctx, tenantID, id, issuance.EmbosserIDPrefix, s.d.Catalog.Embosser)
}

// Embossers lists a tenant's embossers, newest first.
func (s *Service) Embossers(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Embosser, bool, error) {
	return list(ctx, tenantID, p, issuance.EmbosserIDPrefix, p, nil, s.d.Catalog.Embossers)
}

// validLayoutIdentifier: 1-64 characters of letters, digits, '.', '_', '-'
// (an identifier agreed with the embosser, e.g. "standard-blue-v1").
func validLayoutIdentifier(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// CreateLayout validates and stores a card layout. The layout identifier is
// what the embosser knows the artwork by; the name defaults to it.
func (s *Service) CreateLayout(ctx context.Context, tenantID string, l issuance.Layout) (issuance.Layout, error) {
	l.Layout = strings.TrimSpace(l.Layout)
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" {
		l.Name = l.Layout
	}
	var v issuance.Validator
	v.Check(validLayoutIdentifier(l.Layout), "layout", "invalid", "1 to 64 letters, digits, '.', '_' or '-'")
	catalogText(&v, "name", l.Name, false, 200)
	catalogText(&v, "description", l.Description, false, 1000)
	if err := v.Err(); err != nil {
		return issuance.Layout{}, err
	}
	now := s.now()
	l.ID, l.TenantID, l.CreatedAt = issuance.NewID(issuance.LayoutIDPrefix, now), tenantID, now
	return stored(l, s.d.Catalog.CreateLayout(ctx, l))
}

// Layout returns one of a tenant's layouts (ErrNotFound otherwise).
func (s *Service) Layout(ctx context.Context, tenantID, id string) (issuance.Layout, error) {
	return get(ctx, tenantID, id, issuance.LayoutIDPrefix, s.d.Catalog.Layout)
}

// Layouts lists a tenant's layouts, newest first.
func (s *Service) Layouts(ctx context.Context, tenantID string, p issuance.PageRequest) ([]issuance.Layout, bool, error) {
	return list(ctx, tenantID, p, issuance.LayoutIDPrefix, p, nil, s.d.Catalog.Layouts)
}
