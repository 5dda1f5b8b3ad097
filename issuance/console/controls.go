package console

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// The controls editor: a form whose field names are the API's JSON paths
// (card_limit, spending_controls[0].amount, risk_controls.blocked_mcc...),
// so that the API's field errors land next to their fields. The form
// replaces the card limit, the spending controls and the risk controls
// together, as one PATCH /v1/cards/{id} with the three fields would.

// channelNames are the risk controls' channels, in the form's order.
var channelNames = []string{"ecommerce", "atm", "contactless", "magstripe", "chip", "manual"}

// intervals are the spending controls' intervals, in the form's order.
var intervals = []issuance.Interval{issuance.PerTransaction, issuance.Daily, issuance.Weekly, issuance.Monthly, issuance.Yearly, issuance.AllTime}

// blankSpendingRows is how many empty spending-control rows the form adds.
const blankSpendingRows = 2

// controlsForm is the editor's state: what the card has, or what the
// operator sent, with the errors.
type controlsForm struct {
	CardLimit        string
	Spending         []spendingRow
	Allow3DS         string // "allowed" or "blocked"
	AllowedMCC       string
	BlockedMCC       string
	AllowedCountries string
	Channels         []channelRow
	Errors           []issuance.FieldError
}

type spendingRow struct {
	Index                       int
	Amount, Count, Interval, MC string
}

type channelRow struct {
	Name    string
	Allowed bool
}

// Intervals lists the interval choices.
func (f controlsForm) Intervals() []issuance.Interval { return intervals }

// ErrorsFor returns the errors of the field name and of its elements
// (risk_controls.allowed_mcc[1] belongs to risk_controls.allowed_mcc).
func (f controlsForm) ErrorsFor(name string) []issuance.FieldError {
	return fieldErrors(f.Errors, name)
}

// ErrorsAt returns the errors of exactly the field name.
func (f controlsForm) ErrorsAt(name string) []issuance.FieldError {
	var out []issuance.FieldError
	for _, e := range f.Errors {
		if e.Field == name {
			out = append(out, e)
		}
	}
	return out
}

func fieldErrors(all []issuance.FieldError, name string) []issuance.FieldError {
	var out []issuance.FieldError
	for _, e := range all {
		if e.Field == name || strings.HasPrefix(e.Field, name+"[") || strings.HasPrefix(e.Field, name+".") {
			out = append(out, e)
		}
	}
	return out
}

// formOfCard fills the editor from a card's controls.
func formOfCard(ctl issuance.CardControls) controlsForm {
	var f controlsForm
	if ctl.CardLimit != nil {
		f.CardLimit = strconv.FormatInt(*ctl.CardLimit, 10)
	}
	for i, sc := range ctl.SpendingControls {
		r := spendingRow{Index: i, Interval: string(sc.Interval), MC: strings.Join(sc.MCC, ", ")}
		if sc.Amount != nil {
			r.Amount = strconv.FormatInt(*sc.Amount, 10)
		}
		if sc.Count != nil {
			r.Count = strconv.Itoa(*sc.Count)
		}
		f.Spending = append(f.Spending, r)
	}
	rc := ctl.RiskControls
	f.Allow3DS = allowed(rc.Allow3DSTransactions)
	f.AllowedMCC, f.BlockedMCC = strings.Join(rc.AllowedMCC, ", "), strings.Join(rc.BlockedMCC, ", ")
	f.AllowedCountries = strings.Join(rc.AllowedCountries, ", ")
	for _, n := range channelNames {
		f.Channels = append(f.Channels, channelRow{Name: n, Allowed: allowed(*channelOf(&rc.Channels, n)) == "allowed"})
	}
	f.addBlankRows()
	return f
}

func (f *controlsForm) addBlankRows() {
	n := len(f.Spending)
	for i := 0; i < blankSpendingRows; i++ {
		f.Spending = append(f.Spending, spendingRow{Index: n + i})
	}
}

func allowed(b *bool) string {
	if b == nil || *b {
		return "allowed"
	}
	return "blocked"
}

// channelOf is the field of the named channel.
func channelOf(c *issuance.Channels, name string) **bool {
	switch name {
	case "ecommerce":
		return &c.Ecommerce
	case "atm":
		return &c.ATM
	case "contactless":
		return &c.Contactless
	case "magstripe":
		return &c.Magstripe
	case "chip":
		return &c.Chip
	default:
		return &c.Manual
	}
}

// maxSpendingRows bounds the rows read from a form (the API allows 20
// controls; a few more rows let the API's own error say so).
const maxSpendingRows = 32

// parseControls reads the editor's form into the card update and the
// form as sent. A field that is not a number gets its error here (the
// API would refuse its JSON); every other rule is the API's.
func parseControls(c *fiber.Ctx) (issuance.CardUpdate, controlsForm) {
	var f controlsForm
	var v issuance.Validator
	u := issuance.CardUpdate{}
	f.CardLimit = strings.TrimSpace(c.FormValue("card_limit"))
	if f.CardLimit == "" {
		u.RemoveCardLimit = true
	} else if n, err := strconv.ParseInt(f.CardLimit, 10, 64); err != nil {
		v.Add("card_limit", "invalid", "a whole number of minor units, or empty for no limit")
	} else {
		u.CardLimit = &n
	}
	controls := []issuance.SpendingControl{}
	for i := 0; i < maxSpendingRows; i++ {
		p := "spending_controls[" + strconv.Itoa(i) + "]"
		r := spendingRow{Index: i, Amount: strings.TrimSpace(c.FormValue(p + ".amount")), Count: strings.TrimSpace(c.FormValue(p + ".count")),
			Interval: strings.TrimSpace(c.FormValue(p + ".interval")), MC: strings.TrimSpace(c.FormValue(p + ".mcc"))}
		if r.Amount == "" && r.Count == "" && r.Interval == "" && r.MC == "" {
			continue // an empty row, or no such row
		}
		// Rows keep their place in the API's numbering: the sent controls,
		// in order, without the empty rows.
		idx := strconv.Itoa(len(controls))
		q := "spending_controls[" + idx + "]"
		sc := issuance.SpendingControl{Interval: issuance.Interval(r.Interval), MCC: splitList(r.MC)}
		if r.Amount != "" {
			if n, err := strconv.ParseInt(r.Amount, 10, 64); err != nil {
				v.Add(q+".amount", "invalid", "a whole number of minor units")
			} else {
				sc.Amount = &n
			}
		}
		if r.Count != "" {
			if n, err := strconv.Atoi(r.Count); err != nil {
				v.Add(q+".count", "invalid", "a whole number")
			} else {
				sc.Count = &n
			}
		}
		r.Index = len(controls)
		f.Spending = append(f.Spending, r)
		controls = append(controls, sc)
	}
	u.SpendingControls = &controls
	rc := issuance.RiskControls{AllowedMCC: splitList(c.FormValue("risk_controls.allowed_mcc")), BlockedMCC: splitList(c.FormValue("risk_controls.blocked_mcc")),
		AllowedCountries: splitList(strings.ToUpper(c.FormValue("risk_controls.allowed_countries")))}
	f.Allow3DS = c.FormValue("risk_controls.allow_3ds_transactions", "allowed")
	rc.Allow3DSTransactions = choice(f.Allow3DS)
	for _, n := range channelNames {
		val := c.FormValue("risk_controls.channels."+n, "allowed")
		*channelOf(&rc.Channels, n) = choice(val)
		f.Channels = append(f.Channels, channelRow{Name: n, Allowed: val != "blocked"})
	}
	f.AllowedMCC, f.BlockedMCC = c.FormValue("risk_controls.allowed_mcc"), c.FormValue("risk_controls.blocked_mcc")
	f.AllowedCountries = c.FormValue("risk_controls.allowed_countries")
	u.RiskControls = &rc
	if err := v.Err(); err != nil {
		f.Errors = fieldsOf(err)
	}
	f.addBlankRows()
	return u, f
}

// choice is the API's value of an allowed/blocked choice: nil (the
// default, allowed) or false.
func choice(v string) *bool {
	if v == "blocked" {
		b := false
		return &b
	}
	return nil
}

// splitList splits "5411, 5812 7011" into its items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// fieldsOf returns the field errors of a validation error.
func fieldsOf(err error) []issuance.FieldError {
	var e *issuance.Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
