package alias

import (
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/issuance/isocode"
)

// Conversion is how a value in a guide's shape becomes cardhost's: the
// decoder runs it, validating the value, before the strict decode. A value
// it cannot convert is refused (422 validation_failed) under the name the
// body sent it with. Name and Doc are what docs/api.md "Guide field names"
// says of it.
type Conversion struct {
	Name string
	Doc  string
	// apply converts obj[key] in place (replacing, deleting or moving
	// it); at names it as sent and as cardhost calls it.
	apply func(w *walker, obj map[string]any, key string, at paths)
}

// paths are a value's JSON path as the body sent it (errors name it) and
// as cardhost calls it (a deferred amount is set there).
type paths struct{ sent, native string }

// Amount is an amount a guide sent in major units (UQPay's 2100.02,
// Pismo's "500.00"). The decoder checks its syntax and leaves it out of the
// body; the request type converts it with [SetAmounts] once it knows the
// currency (the body's, else its product's).
type Amount struct {
	// Field is cardhost's JSON path of the amount: card_limit,
	// spending_controls[0].amount.
	Field string
	// Sent is the path the body sent it under (errors name it).
	Sent string
	// Decimal is the amount as sent: digits with an optional fraction.
	Decimal string
}

// Fact is a value a guide's body states about a record cardhost keeps
// elsewhere (UQPay's cardholder_required_fields about the cardholder).
// The request type checks it against the record with [CheckFacts].
type Fact struct {
	// Field is the path the body sent it under.
	Field string
	// Record is the record's field: nationality, birth_date, phone.
	Record string
	Value  string
}

// Deferred is what Decode cannot settle from the body alone: amounts in
// major units waiting for their currency, and facts to check against a
// record. Decode hands it to the request type (a [Receiver]).
type Deferred struct {
	Amounts []Amount
	Facts   []Fact
}

// Receiver is a request type that takes what Decode defers
// (issuance.CardRequest). Decode calls Receive once, after a successful
// strict decode, only when there is something deferred.
type Receiver interface {
	Receive(Deferred)
}

var decimalRE = regexp.MustCompile(`^(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?$`)

const decimalShape = "a decimal amount in major units with no sign or exponent, e.g. 2100.02"

// The conversions the table declares.
var (
	// MajorUnits is UQPay's amount: a JSON number in major units of the
	// card's currency (2100.02 USD is 210002 minor units).
	MajorUnits = &Conversion{Name: "major units", Doc: "a JSON number in major units of the card's currency, converted to minor units (2100.02 USD is 210002)", apply: majorUnits}
	// TransactionLimit is Pismo's per-transaction limit: a decimal
	// string in major units, which becomes one PER_TRANSACTION spending
	// control.
	TransactionLimit = &Conversion{Name: "per-transaction limit", Doc: `a decimal string in major units of the card's currency ("500.00"), which becomes spending_controls [{"amount": 50000, "interval": "PER_TRANSACTION"}]`, apply: transactionLimit}
	// YesNo is UQPay's boolean: "Y" true, "N" false.
	YesNo = &Conversion{Name: "Y/N", Doc: `"Y" is true, "N" false (a JSON boolean is kept)`, apply: yesNo}
	// OneTimeTrigger is UQPay's auto_cancel_trigger, which UQPay reads
	// only on ONE_TIME cards: checked, and dropped from a NORMAL card.
	OneTimeTrigger = &Conversion{Name: "ONE_TIME only", Doc: "ON_AUTH or ON_CAPTURE; kept on a ONE_TIME card, dropped from a NORMAL one (usage_type NORMAL or absent), whose trigger UQPay ignores", apply: oneTimeTrigger}
	// CardholderFacts is UQPay's cardholder_required_fields: each field
	// checked, and compared with the cardholder's record.
	CardholderFacts = &Conversion{Name: "cardholder facts", Doc: "an object of gender (MALE, FEMALE), nationality (ISO 3166-1 alpha-2), phone_number (4-15 digits, UQPay's national number) and date_of_birth (YYYY-MM-DD), each checked; nationality, date_of_birth and phone_number are compared with the cardholder's nationality, birth_date and phone where it has them (422 mismatch otherwise); nothing is stored on the card or the cardholder", apply: cardholderFacts}
)

func (w *walker) invalid(field, code, msg string) {
	w.none = append(w.none, FieldError{Field: field, Code: code, Message: msg})
}

func majorUnits(w *walker, obj map[string]any, key string, at paths) {
	switch v := obj[key].(type) {
	case nil:
		// null: as the native field's null
	case json.Number:
		if !decimalRE.MatchString(string(v)) {
			w.invalid(at.sent, "invalid", decimalShape)
			return
		}
		w.deferred.Amounts = append(w.deferred.Amounts, Amount{Field: at.native, Sent: at.sent, Decimal: string(v)})
		delete(obj, key)
	default:
		w.invalid(at.sent, "invalid_type", "must be a number: "+decimalShape)
	}
}

func transactionLimit(w *walker, obj map[string]any, key string, at paths) {
	switch v := obj[key].(type) {
	case nil:
		delete(obj, key) // Pismo: not set, the account's limit
	case string:
		if !decimalRE.MatchString(v) {
			w.invalid(at.sent, "invalid", decimalShape+` (a string, "500.00")`)
			return
		}
		obj[key] = []any{map[string]any{"interval": "PER_TRANSACTION"}}
		w.deferred.Amounts = append(w.deferred.Amounts, Amount{Field: at.native + "[0].amount", Sent: at.sent, Decimal: v})
	default:
		w.invalid(at.sent, "invalid_type", `must be a string: `+decimalShape+` ("500.00")`)
	}
}

func yesNo(w *walker, obj map[string]any, key string, at paths) {
	switch obj[key] {
	case "Y":
		obj[key] = true
	case "N":
		obj[key] = false
	default:
		if _, ok := obj[key].(bool); !ok && obj[key] != nil {
			w.invalid(at.sent, "invalid", `"Y" or "N" (or a boolean)`)
		}
	}
}

func oneTimeTrigger(w *walker, obj map[string]any, key string, at paths) {
	s, ok := obj[key].(string)
	if !ok {
		return // null or another type: the native field's answer
	}
	if s != "ON_AUTH" && s != "ON_CAPTURE" {
		w.invalid(at.sent, "invalid", "ON_AUTH or ON_CAPTURE")
		return
	}
	if u, ok := obj["usage_type"]; !ok || u == nil || u == "NORMAL" {
		delete(obj, key)
	}
}

var nationalPhoneRE = regexp.MustCompile(`^\+?[0-9]{4,15}$`)

func cardholderFacts(w *walker, obj map[string]any, key string, at paths) {
	m, ok := obj[key].(map[string]any)
	if !ok {
		if obj[key] != nil {
			w.invalid(at.sent, "invalid_type", "must be an object")
			return
		}
		delete(obj, key)
		return
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		field := at.sent + "." + k
		s, ok := m[k].(string)
		if !ok {
			w.invalid(field, "invalid_type", "must be a string")
			continue
		}
		switch k {
		case "gender":
			if s != "MALE" && s != "FEMALE" {
				w.invalid(field, "invalid", "MALE or FEMALE")
			}
		case "nationality":
			if !isocode.ValidCountry(s) {
				w.invalid(field, "invalid", "an ISO 3166-1 alpha-2 country code")
				continue
			}
			w.deferred.Facts = append(w.deferred.Facts, Fact{Field: field, Record: "nationality", Value: s})
		case "date_of_birth":
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				w.invalid(field, "invalid", "a date as YYYY-MM-DD")
				continue
			}
			w.deferred.Facts = append(w.deferred.Facts, Fact{Field: field, Record: "birth_date", Value: s})
		case "phone_number":
			if !nationalPhoneRE.MatchString(s) {
				w.invalid(field, "invalid", "4 to 15 digits (UQPay's number without its country code), or an E.164 number")
				continue
			}
			w.deferred.Facts = append(w.deferred.Facts, Fact{Field: field, Record: "phone", Value: s})
		default:
			w.invalid(field, "unknown", "unknown field: UQPay's cardholder_required_fields are gender, nationality, phone_number and date_of_birth")
		}
	}
	delete(obj, key)
}

// Minor returns the amount in the minor units of a currency with exp
// decimals. Money is never rounded: a non-zero digit past the currency's
// decimals (2100.005 USD) is refused, trailing zeros are not (500.000 USD
// is 50000). The error names the field as sent.
func (a Amount) Minor(currency string, exp int) (int64, *FieldError) {
	whole, frac, _ := strings.Cut(a.Decimal, ".")
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, &FieldError{Field: a.Sent, Code: "invalid", Message: "at most " + strconv.Itoa(exp) + " decimals in " + currency + ", its minor unit"}
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, &FieldError{Field: a.Sent, Code: "out_of_range", Message: "too large an amount"}
	}
	return n, nil
}

// SetAmounts converts amounts to the minor units of currency (an ISO 4217
// code: its exponent gives the decimals) and sets each at its Field in v,
// the pointer Decode decoded into (an int64 or *int64 field, reached
// through objects and array elements the body had). It returns what it
// refused. An unknown currency converts nothing: the request's validation
// names the currency.
func SetAmounts(v any, amounts []Amount, currency string) []FieldError {
	exp, ok := isocode.CurrencyMinorUnits(currency)
	if !ok {
		return nil
	}
	var out []FieldError
	for _, a := range amounts {
		n, fe := a.Minor(currency, exp)
		if fe != nil {
			out = append(out, *fe)
			continue
		}
		f, ok := fieldAt(reflect.ValueOf(v), a.Field)
		if !ok {
			out = append(out, FieldError{Field: a.Sent, Code: "unknown", Message: "unknown field"})
			continue
		}
		if f.Kind() == reflect.Pointer {
			f.Set(reflect.New(f.Type().Elem()))
			f = f.Elem()
		}
		f.SetInt(n)
	}
	return out
}

// fieldAt finds the settable int64 (or *int64) field at a JSON path
// (a.b[0].c) in v.
func fieldAt(v reflect.Value, path string) (reflect.Value, bool) {
	for _, seg := range strings.Split(path, ".") {
		name, idx := seg, -1
		if i := strings.IndexByte(seg, '['); i > 0 && strings.HasSuffix(seg, "]") {
			n, err := strconv.Atoi(seg[i+1 : len(seg)-1])
			if err != nil {
				return reflect.Value{}, false
			}
			name, idx = seg[:i], n
		}
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		f, ok := structField(v, name)
		if !ok {
			return reflect.Value{}, false
		}
		v = f
		if idx >= 0 {
			if v.Kind() != reflect.Slice || idx >= v.Len() {
				return reflect.Value{}, false
			}
			v = v.Index(idx)
		}
	}
	k := v.Kind()
	if k == reflect.Pointer {
		k = v.Type().Elem().Kind()
	}
	return v, k == reflect.Int64 && v.CanSet()
}

// structField is the field of struct v whose JSON name is name, embedded
// structs flattened as encoding/json does.
func structField(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if fv, ok := structField(v.Field(i), name); ok {
				return fv, true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// CheckFacts compares facts with a record, its values by field name (a
// field the record lacks or holds empty is not compared).
// A phone given without its country code (UQPay's national number) matches
// the end of the record's E.164 number. It returns a mismatch per fact
// that differs, naming the field as sent.
func CheckFacts(facts []Fact, record map[string]string) []FieldError {
	var out []FieldError
	for _, f := range facts {
		have := record[f.Record]
		if have == "" {
			continue
		}
		same := strings.EqualFold(have, f.Value)
		if f.Record == "phone" {
			h, g := strings.TrimPrefix(have, "+"), strings.TrimPrefix(f.Value, "+")
			same = h == g || (!strings.HasPrefix(f.Value, "+") && strings.HasSuffix(h, g))
		}
		if !same {
			out = append(out, FieldError{Field: f.Field, Code: "mismatch", Message: "differs from the cardholder's " + f.Record +
				": cardhost keeps KYC data on the cardholder (correct it with PATCH /v1/cardholders/{id})"})
		}
	}
	return out
}
