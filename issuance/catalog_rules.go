package issuance

// Catalog rules the card domain itself needs (the catalog's service and
// validation are package issuance/catalog's).

// Id prefixes of catalog objects (NewID, ValidID).
const (
	TemplateIDPrefix    = "tpl"
	EmbosserIDPrefix    = "emb"
	LayoutIDPrefix      = "lay"
	ProductIDPrefix     = "prd"
	CardholderIDPrefix  = "chd"
	CertificateIDPrefix = "crt"
)

// Cardholder fields a product may require before a card is issued.
const (
	CardholderFieldEmail       = "email"
	CardholderFieldPhone       = "phone"
	CardholderFieldBirthDate   = "birth_date"
	CardholderFieldAddress     = "address"
	CardholderFieldNationality = "nationality"
)

// Product validity bounds and default, in months.
const (
	DefaultValidityMonths = 36
	MaxValidityMonths     = 120
)

// Valid reports whether s is a known product status.
func (s ProductStatus) Valid() bool { return s == ProductActive || s == ProductInactive }

// MissingCardholderFields returns the fields the product requires that the
// cardholder lacks, in the product's order.
func (p Product) MissingCardholderFields(c Cardholder) []string {
	var out []string
	for _, f := range p.RequiredCardholderFields {
		var have bool
		switch f {
		case CardholderFieldEmail:
			have = c.Email != ""
		case CardholderFieldPhone:
			have = c.Phone != ""
		case CardholderFieldBirthDate:
			have = c.BirthDate != ""
		case CardholderFieldAddress:
			have = c.Address != nil
		case CardholderFieldNationality:
			have = c.Nationality != ""
		}
		if !have {
			out = append(out, f)
		}
	}
	return out
}

// Valid reports whether s is a known KYC status.
func (s KYCStatus) Valid() bool { return s == KYCPending || s == KYCVerified || s == KYCRejected }
