package catalog

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
)

// MinCardholderAge is the youngest a cardholder may be, in years.
const MinCardholderAge = 18

// validCardholderName: 1-100 characters of letters (any script), spaces,
// hyphens, apostrophes and dots, starting with a letter.
func validCardholderName(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > 100 {
		return false
	}
	for i, r := range s {
		if i == 0 && !unicode.IsLetter(r) {
			return false
		}
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Mn, r) && r != ' ' && r != '-' && r != '\'' && r != '.' {
			return false
		}
	}
	return true
}

// validCardholderPhone checks an E.164 number: '+', a non-zero digit, 7 to 15 digits
// in all.
func validCardholderPhone(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return digit.All(s[1:])
}

// validCardholderEmail accepts a bare address (no display name), at most 254
// characters, with a dot in the domain.
func validCardholderEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}

// cardholderAge returns the full years between birth and now.
func cardholderAge(birth, now time.Time) int {
	y := now.Year() - birth.Year()
	if now.Month() < birth.Month() || (now.Month() == birth.Month() && now.Day() < birth.Day()) {
		y--
	}
	return y
}

// validateAddress checks a postal address; path prefixes field names.
func validateCardholderAddress(v *issuance.Validator, path string, a issuance.Address) {
	catalogText(v, path+".line1", a.Line1, true, 200)
	catalogText(v, path+".line2", a.Line2, false, 200)
	catalogText(v, path+".name", a.Name, false, 100)
	catalogText(v, path+".city", a.City, true, 100)
	catalogText(v, path+".state", a.State, false, 100)
	catalogText(v, path+".postal_code", a.PostalCode, false, 20)
	v.Check(issuance.ValidCountry(a.Country), path+".country", "invalid", "an ISO 3166-1 alpha-2 country code")
}

// normalizeCardholder trims and upper-cases codes.
func normalizeCardholder(c *issuance.Cardholder) {
	c.FirstName = strings.TrimSpace(c.FirstName)
	c.LastName = strings.TrimSpace(c.LastName)
	c.Email = strings.TrimSpace(c.Email)
	c.Phone = strings.TrimSpace(c.Phone)
	c.BirthDate = strings.TrimSpace(c.BirthDate)
	c.Nationality = strings.ToUpper(strings.TrimSpace(c.Nationality))
	if c.Address != nil {
		a := *c.Address
		a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
		a.Line1, a.City = strings.TrimSpace(a.Line1), strings.TrimSpace(a.City)
		c.Address = &a
	}
}

// ValidateCardholder checks a cardholder's fields at time now: names,
// e-mail, E.164 phone, an adult birth date (YYYY-MM-DD, not before 1900),
// ISO 3166-1 nationality and address.
func ValidateCardholder(v *issuance.Validator, c issuance.Cardholder, now time.Time) {
	v.Check(validCardholderName(c.FirstName), "first_name", "invalid", "1 to 100 letters, spaces, hyphens, apostrophes or dots")
	v.Check(validCardholderName(c.LastName), "last_name", "invalid", "1 to 100 letters, spaces, hyphens, apostrophes or dots")
	v.Check(c.Email == "" || validCardholderEmail(c.Email), "email", "invalid", "an e-mail address such as ana@example.com")
	v.Check(c.Phone == "" || validCardholderPhone(c.Phone), "phone", "invalid", "an E.164 number such as +5511912345678")
	if c.BirthDate != "" {
		b, err := time.Parse(time.DateOnly, c.BirthDate)
		switch {
		case err != nil:
			v.Add("birth_date", "invalid", "a date as YYYY-MM-DD")
		case b.Year() < 1900:
			v.Add("birth_date", "out_of_range", "not before 1900")
		case cardholderAge(b, now) < MinCardholderAge:
			v.Add("birth_date", "underage", "the cardholder must be an adult (18 or older)")
		}
	}
	v.Check(c.Nationality == "" || issuance.ValidCountry(c.Nationality), "nationality", "invalid", "an ISO 3166-1 alpha-2 country code")
	if c.Address != nil {
		validateCardholderAddress(v, "address", *c.Address)
	}
}

// CreateCardholder validates and stores a cardholder; KYC starts PENDING.
func (s *Service) CreateCardholder(ctx context.Context, tenantID string, c issuance.Cardholder) (issuance.Cardholder, error) {
	normalizeCardholder(&c)
	now := s.now()
	var v issuance.Validator
	ValidateCardholder(&v, c, now)
	if err := v.Err(); err != nil {
		return issuance.Cardholder{}, err
	}
	c.ID, c.TenantID, c.KYCStatus, c.CreatedAt, c.UpdatedAt = issuance.NewID(issuance.CardholderIDPrefix, now), tenantID, issuance.KYCPending, now, now
	return stored(c, s.d.Catalog.CreateCardholder(ctx, c))
}

// Cardholder returns one of a tenant's cardholders (ErrNotFound otherwise).
func (s *Service) Cardholder(ctx context.Context, tenantID, id string) (issuance.Cardholder, error) {
	return get(ctx, tenantID, id, issuance.CardholderIDPrefix, s.d.Catalog.Cardholder)
}

// Cardholders lists a tenant's cardholders, newest first, optionally by
// KYC status.
func (s *Service) Cardholders(ctx context.Context, tenantID string, f issuance.CardholderFilter) ([]issuance.Cardholder, bool, error) {
	return list(ctx, tenantID, f.PageRequest, issuance.CardholderIDPrefix, f, func(v *issuance.Validator) {
		v.Check(f.KYCStatus == "" || f.KYCStatus.Valid(), "kyc_status", "invalid", "one of PENDING, VERIFIED, REJECTED")
	}, s.d.Catalog.Cardholders)
}

// CardholderUpdate is a partial change to a cardholder (PATCH): nil fields
// stay as they are; an empty string clears an optional field (email, phone,
// birth_date, nationality). Changing the name, birth date or nationality of
// a VERIFIED cardholder sends KYC back to PENDING: the verification was of
// the old identity.
type CardholderUpdate struct {
	FirstName   *string
	LastName    *string
	Email       *string
	Phone       *string
	BirthDate   *string
	Nationality *string
	Address     *issuance.Address
	// RemoveAddress clears the address.
	RemoveAddress bool
}

// UpdateCardholder applies a partial change to a cardholder.
func (s *Service) UpdateCardholder(ctx context.Context, tenantID, id string, u CardholderUpdate) (issuance.Cardholder, error) {
	if !issuance.ValidID(issuance.CardholderIDPrefix, id) {
		return issuance.Cardholder{}, issuance.ErrNotFound
	}
	if u.RemoveAddress && u.Address != nil {
		return issuance.Cardholder{}, &issuance.Error{Slug: issuance.SlugValidationFailed, Message: "the request has invalid fields",
			Fields: []issuance.FieldError{{Field: "address", Code: "invalid", Message: "either an address or null"}}}
	}
	now := s.now()
	return s.d.Catalog.UpdateCardholder(ctx, tenantID, id, func(c *issuance.Cardholder) error {
		before := *c
		issuance.Patch(&c.FirstName, u.FirstName)
		issuance.Patch(&c.LastName, u.LastName)
		issuance.Patch(&c.Email, u.Email)
		issuance.Patch(&c.Phone, u.Phone)
		issuance.Patch(&c.BirthDate, u.BirthDate)
		issuance.Patch(&c.Nationality, u.Nationality)
		if u.Address != nil {
			c.Address = u.Address
		}
		if u.RemoveAddress {
			c.Address = nil
		}
		normalizeCardholder(c)
		var v issuance.Validator
		ValidateCardholder(&v, *c, now)
		if err := v.Err(); err != nil {
			return err
		}
		identityChanged := c.FirstName != before.FirstName || c.LastName != before.LastName ||
			c.BirthDate != before.BirthDate || c.Nationality != before.Nationality
		if c.KYCStatus == issuance.KYCVerified && identityChanged {
			c.KYCStatus = issuance.KYCPending
		}
		c.UpdatedAt = now
		return nil
	})
}

// SetCardholderKYC moves a cardholder's KYC status (the sandbox simulator's
// verify and reject calls; a real KYC provider would call it too). Setting
// the status it already has changes nothing.
func (s *Service) SetCardholderKYC(ctx context.Context, tenantID, id string, status issuance.KYCStatus) (issuance.Cardholder, error) {
	if !issuance.ValidID(issuance.CardholderIDPrefix, id) {
		return issuance.Cardholder{}, issuance.ErrNotFound
	}
	if status != issuance.KYCVerified && status != issuance.KYCRejected {
		return issuance.Cardholder{}, issuance.Errorf(issuance.SlugValidationFailed, "a KYC decision is VERIFIED or REJECTED")
	}
	now := s.now()
	return s.d.Catalog.UpdateCardholder(ctx, tenantID, id, func(c *issuance.Cardholder) error {
		if c.KYCStatus != status {
			c.KYCStatus, c.UpdatedAt = status, now
		}
		return nil
	})
}
