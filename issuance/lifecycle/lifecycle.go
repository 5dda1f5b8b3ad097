package lifecycle

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cardhost/cardhost/issuance/dataprep"
)

// Fields are a card's lifecycle fields, embedded in issuance.Card and
// stored as one JSON object (the cards.lifecycle column). The zero value
// is a card with none of them.
type Fields struct {
	// ValidityPeriodHours is how long the card is valid from its creation
	// (0: no validity). Once valid_until has passed the card is
	// INOPERATIVE.
	ValidityPeriodHours int `json:"validity_period_hours,omitempty"`
	// ValidUntil is creation + ValidityPeriodHours (nil: no validity).
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	// CVVRotationHours is the dynamic CVV2's rotation interval in hours
	// (0: the CVV2 rotates only when the rotate call asks).
	CVVRotationHours int `json:"cvv_rotation_interval_hours,omitempty"`
	// Dynamic says the card's CVV2 is dynamic (a rotation interval was
	// set, or the rotate call was used once).
	Dynamic bool `json:"dynamic_cvv2,omitempty"`
	// CVVRotation is the rotation counter at CVVRotatedAt; the counter in
	// force at a later time adds the intervals passed since (Counter).
	CVVRotation int64 `json:"cvv_rotation,omitempty"`
	// CVVRotatedAt is when the counter was last set (nil: the card's
	// creation).
	CVVRotatedAt *time.Time `json:"cvv_rotated_at,omitempty"`
	// EmbossingCustomField goes to the embosser with the card's record.
	EmbossingCustomField string `json:"embossing_custom_field,omitempty"`
	// ActivationRequired keeps a plastic PROVISIONED after its embosser
	// made it (its order's issue_status activating) until the issuer
	// activates it.
	ActivationRequired bool `json:"activation_required,omitempty"`
	// Replaces is the card this one reissues; ReplacedBy the card that
	// reissued this one.
	Replaces   string `json:"replaces,omitempty"`
	ReplacedBy string `json:"replaced_by,omitempty"`
	// Nickname is the card's alias name (Pismo's name), shown to the
	// cardholder; it needs no column of its own.
	Nickname string `json:"nickname,omitempty"`
}

// Request holds the lifecycle fields of a card creation (Pismo's names),
// embedded in issuance.CardRequest.
type Request struct {
	Nickname                 string `json:"nickname,omitempty" example:"Vacation card" doc:"the card's alias name, shown to the cardholder: 1-50 characters (no control characters, no surrounding spaces); Pismo's name"`
	ValidityPeriodHours      int    `json:"validity_period_hours,omitempty" doc:"the card becomes INOPERATIVE this many hours after its creation (1-87600); TEMPORARY cards default to 24"`
	CVVRotationIntervalHours int    `json:"cvv_rotation_interval_hours,omitempty" doc:"dynamic CVV2: a new CVV2 every this many hours (1-4320); 0 or absent: a static CVV2 (POST /v1/cards/{id}/cvv2/rotate makes it dynamic)"`
	ExpirationDate           string `json:"expiration_date,omitempty" example:"2803" doc:"printed expiry YYMM instead of the product's validity_months: from the month after this one up to the product's validity"`
	EmbossingCustomField     string `json:"embossing_custom_field,omitempty" doc:"PLASTIC cards: free text for the embosser (1-1000 printable ASCII characters), carried to the embossing file"`
	ActivationRequired       bool   `json:"activation_required,omitempty" doc:"PLASTIC cards: once the embosser made the plastic the card stays PROVISIONED (order issue_status activating) until POST /v1/cards/{id}/activate; default false: active when made"`
}

// Limits of the lifecycle fields.
const (
	// DefaultTemporaryHours is a TEMPORARY card's validity when none is
	// given (Pismo: "typically 24 hours").
	DefaultTemporaryHours = 24
	// MaxValidityHours bounds validity_period_hours (ten years).
	MaxValidityHours = 87600
	// MaxRotationHours bounds cvv_rotation_interval_hours (Pismo's 4320).
	MaxRotationHours = 4320
	// MaxCustomField bounds embossing_custom_field (Pismo's 1000).
	MaxCustomField = 1000
	// MaxNickname bounds nickname, in characters (Pismo's 50).
	MaxNickname = 50
	// CVVGrace is how long after a rotation the previous dynamic CVV2
	// still verifies (a cardholder who read it just before).
	CVVGrace = 10 * time.Minute
)

// PolicyDynamic is the cvv2_policy of a card whose CVV2 rotates: a
// card-not-present request needs the CVV2 in force (as with REQUIRED).
const PolicyDynamic = "DYNAMIC"

// Status reason of a card whose validity ran out (INOPERATIVE), and of a
// card closed by its reissue.
const (
	ReasonValidityEnded = "validity_period"
	ReasonReissued      = "reissued"
)

// Problem is one field problem (issuance.Validator.Add's arguments).
type Problem func(field, code, message string)

// Check validates r's syntax and reports each problem through add (the
// rules that need the card's type and product are issuance's).
func (r *Request) Check(add Problem) {
	if r.ValidityPeriodHours < 0 || r.ValidityPeriodHours > MaxValidityHours {
		add("validity_period_hours", "out_of_range", "1 to "+strconv.Itoa(MaxValidityHours)+" hours")
	}
	if r.CVVRotationIntervalHours < 0 || r.CVVRotationIntervalHours > MaxRotationHours {
		add("cvv_rotation_interval_hours", "out_of_range", "0 (no rotation) to "+strconv.Itoa(MaxRotationHours)+" hours")
	}
	if r.ExpirationDate != "" && !dataprep.ValidExpiry(r.ExpirationDate) {
		add("expiration_date", "invalid", "a YYMM month, e.g. 2803")
	}
	if r.EmbossingCustomField != "" {
		if code, msg := CheckCustomField(r.EmbossingCustomField); code != "" {
			add("embossing_custom_field", code, msg)
		}
	}
	if r.Nickname != "" && !validNickname(r.Nickname) {
		add("nickname", "invalid", "1 to "+strconv.Itoa(MaxNickname)+" characters, no control characters, no surrounding spaces")
	}
}

// validNickname: 1-50 characters of valid UTF-8, none a control
// character, without surrounding spaces.
func validNickname(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNickname || strings.TrimSpace(s) != s || s == "" {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// CheckCustomField checks an embossing custom field: 1-1000 printable
// ASCII characters (0x20-0x7E), the set every embosser file format
// carries. It returns a problem code and message ("" when valid).
func CheckCustomField(s string) (code, message string) {
	if len(s) > MaxCustomField {
		return "too_long", "at most " + strconv.Itoa(MaxCustomField) + " characters"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "invalid", "printable ASCII characters only (0x20-0x7E)"
		}
	}
	return "", ""
}

// Validity returns the validity of a new card of type typ created at now
// with hours requested (0: none): TEMPORARY cards default to
// DefaultTemporaryHours. It returns 0 and nil for a card without one.
func Validity(typ string, hours int, now time.Time) (int, *time.Time) {
	if hours == 0 && typ == "TEMPORARY" {
		hours = DefaultTemporaryHours
	}
	if hours <= 0 {
		return 0, nil
	}
	t := now.UTC().Add(time.Duration(hours) * time.Hour)
	return hours, &t
}

// Ended reports whether the validity of f has run out at now.
func (f *Fields) Ended(now time.Time) bool {
	return f.ValidUntil != nil && !now.Before(*f.ValidUntil)
}

// Plan is a new card's lifecycle, decided by Request.Plan.
type Plan struct {
	Fields
	// Expiry is the printed expiry (YYMM): expiration_date, or the
	// product's validity from now.
	Expiry string
	// ExpiryAt is the time the authorization host checks: the requested
	// expiry_at, or valid_until when that comes first.
	ExpiryAt *time.Time
	// CVV2Policy is the product's, or PolicyDynamic for a rotating CVV2.
	CVV2Policy string
}

// Plan decides the lifecycle of a card of type typ created at now in a
// product whose validity is months and CVV2 policy policy, with expiryAt
// requested (nil: none). It reports the problems of the request through
// add; an error means the product's validity is out of range.
func (r *Request) Plan(typ string, now time.Time, months int, expiryAt *time.Time, policy string, add Problem) (Plan, error) {
	p := Plan{ExpiryAt: expiryAt, CVV2Policy: policy, Fields: Fields{EmbossingCustomField: r.EmbossingCustomField,
		CVVRotationHours: r.CVVRotationIntervalHours, Dynamic: r.CVVRotationIntervalHours > 0, ActivationRequired: r.ActivationRequired,
		Nickname: r.Nickname}}
	lo, hi, err := ExpirationBounds(now, months)
	if err != nil {
		return p, err
	}
	p.Expiry = hi
	if r.ExpirationDate != "" && dataprep.ValidExpiry(r.ExpirationDate) {
		if !ExpirationInBounds(r.ExpirationDate, lo, hi) {
			add("expiration_date", "out_of_range", "from "+lo+" to "+hi+" (the product's validity_months)")
		}
		p.Expiry = r.ExpirationDate
	}
	if typ != "PLASTIC" && r.EmbossingCustomField != "" {
		add("embossing_custom_field", "not_supported", "only PLASTIC cards go to an embosser")
	}
	if typ != "PLASTIC" && r.ActivationRequired {
		add("activation_required", "not_supported", "only PLASTIC cards wait for activation")
	}
	p.ValidityPeriodHours, p.ValidUntil = Validity(typ, r.ValidityPeriodHours, now)
	if u := p.ValidUntil; u != nil {
		if end, err := dataprep.ExpiryEnd(p.Expiry); err == nil && !u.Before(end) {
			add("validity_period_hours", "out_of_range", "the validity must end before the printed expiry ("+dataprep.ExpiryDisplay(p.Expiry)+")")
		}
		if p.ExpiryAt == nil || u.Before(*p.ExpiryAt) {
			p.ExpiryAt = u // the host declines a card past expiry_at
		}
	}
	if p.Dynamic {
		p.CVV2Policy = PolicyDynamic
	}
	return p, nil
}
