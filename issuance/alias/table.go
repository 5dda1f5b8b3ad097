package alias

// Entry is one name a seed guide sends that is not cardhost's.
type Entry struct {
	// Native is cardhost's name for the field (or header); empty when
	// cardhost has no equivalent, and the request is then refused.
	Native string
	// Guides names the seed guides that send it.
	Guides string
	// Note is what the refusal of a field without a native name says:
	// what cardhost calls the thing or that it has none. For an alias it
	// says what the value must be.
	Note string
	// Convert is how the value sent under this name becomes the native
	// field's (nil: it is the same value). An entry without a native
	// name but with a conversion is accepted: the conversion consumes
	// the value (UQPay's cardholder_required_fields).
	Convert *Conversion
	// Dialect names native fields of the same body that the guide sends
	// in its own shapes, by JSON path ("spending_controls[].amount": each
	// element's amount). A body that uses this name is the guide's, and
	// those fields are converted; in any other body they are cardhost's
	// and validated as always. (UQPay's amounts are major units of its
	// card_currency: a body naming its currency card_currency is UQPay's.)
	Dialect map[string]*Conversion
}

// Bodies is the alias table of request bodies: for each body (see
// [Types]), the guides' field names that are not cardhost's, by name.
// docs/api.md "Guide field names" lists it with every field the guides
// send; a test keeps the two and the Go types in step.
var Bodies = map[string]map[string]Entry{
	// The card creation body (POST /v1/cards and each card_batch_info
	// item; no guide imports cards, so POST /v1/cards/import takes only
	// the address names).
	"card": {
		"card_currency": {Native: "currency", Guides: "UQPay", Dialect: map[string]*Conversion{
			"card_limit":                           MajorUnits,
			"spending_controls[].amount":           MajorUnits,
			"risk_controls.allow_3ds_transactions": YesNo,
			"auto_cancel_trigger":                  OneTimeTrigger,
		}},
		"card_product_id":                        {Native: "product_id", Guides: "UQPay", Note: "cardhost's product id (prd_...)"},
		"product_code":                           {Native: "product_id", Guides: "PintoPay", Note: "cardhost's product id (prd_...)"},
		"external_user_id":                       {Native: "cardholder_id", Guides: "PintoPay", Note: "cardhost's cardholder id (chd_..., POST /v1/cardholders)"},
		"cardholder_required_fields":             {Guides: "UQPay", Convert: CardholderFacts, Note: "checked against the cardholder's record, never stored: cardhost keeps KYC data on the cardholder (birth_date, nationality, phone; no gender), set with POST or PATCH /v1/cardholders/{id}; the product's required_cardholder_fields says which a card needs"},
		"name":                                   {Native: "nickname", Guides: "Pismo", Note: "the card's alias name, 1-50 characters"},
		"transaction_limit":                      {Native: "spending_controls", Guides: "Pismo", Convert: TransactionLimit, Note: "one PER_TRANSACTION spending control"},
		"embossing_group":                        {Guides: "Pismo", Note: "cardhost calls it embosser_id (an embosser's emb_... id; default the product's default_embosser_id)"},
		"contactless_enabled":                    {Guides: "Pismo", Note: "cardhost calls it risk_controls.channels.contactless"},
		"template_id":                            {Guides: "Pismo", Note: "a card takes its product's data_prep_template_id: make a product per template"},
		"brand":                                  {Guides: "Pismo", Note: "the network is the product's data prep template's network"},
		"mode_type":                              {Guides: "Pismo", Note: "cardhost has no combo (credit and debit) cards"},
		"abu_enabled":                            {Guides: "Pismo", Note: "cardhost has no automatic billing updater"},
		"generate_pvv":                           {Guides: "Pismo", Note: "the PIN method (PVV or IBM3624) is the data prep template's pin_method"},
		"status":                                 {Guides: "Pismo", Note: "cardhost has no UNNUMBERED cards: a card is made with its PAN; move an existing one with POST /v1/cards/import"},
		"atm_change_online_pin_when_script_sent": {Guides: "Pismo", Note: "cardhost sends no offline PIN change scripts"},
	},
	// A billing, shipping or cardholder address.
	"address": {
		"address_line1": {Native: "line1", Guides: "QPay"},
		"address_line2": {Native: "line2", Guides: "QPay"},
	},
}

// Types maps the Go request types (as reflect names them, package.Type)
// to their body in [Bodies]: every object of that type, at any depth of a
// request body, is rewritten with its body's aliases.
var Types = map[string]string{
	"issuance.CardRequest": "card",
	"issuance.Address":     "address",
}

// Headers is the alias table of request headers (canonical MIME names).
var Headers = map[string]Entry{
	"X-Idempotency-Key": {Native: "Idempotency-Key", Guides: "UQPay, Pismo", Note: "both headers with different values are refused (422 conflicting_fields)"},
	"X-Auth-Token":      {Guides: "UQPay", Note: "cardhost's API key goes in Authorization: Bearer <key> only, so that every proxy and log scrubber that hides Authorization hides it"},
	"X-Customer-Id":     {Guides: "Pismo", Note: "the API key names the tenant"},
}

// Slugs of the refusals Decode gives (docs/api.md "Errors").
const (
	SlugValidationFailed  = "validation_failed"
	SlugMalformedJSON     = "malformed_json"
	SlugConflictingFields = "conflicting_fields"
)
