package issuance

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Interval is the window a spending control counts over. Windows are
// calendar windows in UTC: a DAILY control resets at 00:00 UTC, WEEKLY on
// Monday 00:00 UTC (ISO 8601 weeks), MONTHLY on the 1st, YEARLY on 1 January.
// PER_TRANSACTION limits each authorization alone; ALL_TIME never resets.
type Interval string

// Spending control intervals.
const (
	PerTransaction Interval = "PER_TRANSACTION"
	Daily          Interval = "DAILY"
	Weekly         Interval = "WEEKLY"
	Monthly        Interval = "MONTHLY"
	Yearly         Interval = "YEARLY"
	AllTime        Interval = "ALL_TIME"
)

// Valid reports whether i is a known interval.
func (i Interval) Valid() bool {
	switch i {
	case PerTransaction, Daily, Weekly, Monthly, Yearly, AllTime:
		return true
	}
	return false
}

// WindowStart returns the start of the window that contains t (UTC). For
// ALL_TIME it is the zero time; PER_TRANSACTION has no window and returns t.
func (i Interval) WindowStart(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch i {
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case Weekly:
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case Yearly:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case AllTime:
		return time.Time{}
	}
	return t
}

// SpendingControl limits the amount and/or the number of approved
// authorizations over an interval, optionally only for some MCCs.
type SpendingControl struct {
	// Amount is the most that may be spent in the window, in the card's
	// currency minor units (nil: no amount limit).
	Amount *int64 `json:"amount,omitempty" doc:"most that may be spent per interval, minor units of the card currency"`
	// Count is the most approvals in the window (nil: no count limit).
	Count    *int     `json:"count,omitempty" doc:"most approved authorizations per interval"`
	Interval Interval `json:"interval" required:"true" enum:"PER_TRANSACTION,DAILY,WEEKLY,MONTHLY,YEARLY,ALL_TIME"`
	// MCC scopes the control to these merchant category codes (empty: all).
	MCC []string `json:"mcc,omitempty" doc:"only authorizations with one of these MCCs count and are limited"`
}

// Applies reports whether the control covers a transaction with this MCC.
func (c SpendingControl) Applies(mcc string) bool {
	return len(c.MCC) == 0 || slices.Contains(c.MCC, mcc)
}

// Key identifies the control's counter: its interval and MCC scope. Two
// controls with the same key share one counter.
func (c SpendingControl) Key() string {
	if len(c.MCC) == 0 {
		return string(c.Interval)
	}
	m := slices.Clone(c.MCC)
	sort.Strings(m)
	return string(c.Interval) + ":" + strings.Join(m, ",")
}

// Channel is how a card is used at the point of interaction, derived by the
// authorization host from the POS entry mode, the ECI and the MCC.
type Channel string

// Channels risk controls can switch off. Every channel is allowed unless
// switched off, so a card with every channel off approves nothing.
const (
	ChannelEcommerce   Channel = "ecommerce"
	ChannelATM         Channel = "atm"
	ChannelContactless Channel = "contactless"
	ChannelMagstripe   Channel = "magstripe"
	ChannelChip        Channel = "chip"
	ChannelManual      Channel = "manual"
)

// Channels switches channels on or off; nil means allowed.
type Channels struct {
	Ecommerce   *bool `json:"ecommerce,omitempty"`
	ATM         *bool `json:"atm,omitempty"`
	Contactless *bool `json:"contactless,omitempty"`
	Magstripe   *bool `json:"magstripe,omitempty"`
	Chip        *bool `json:"chip,omitempty"`
	Manual      *bool `json:"manual,omitempty" doc:"manual key entry (field 22 01 without an ECI)"`
}

// RiskControls restrict where and how a card may be used.
type RiskControls struct {
	// Allow3DSTransactions false declines e-commerce authorizations that
	// arrive 3-D Secure authenticated (ECI 05/06 Visa, 02/01 Mastercard, or a
	// CAVV). nil means allowed.
	Allow3DSTransactions *bool `json:"allow_3ds_transactions,omitempty" doc:"false declines 3-D Secure authenticated e-commerce (3ds_not_allowed)"`
	// AllowedMCC, when not empty, is the only MCCs allowed.
	AllowedMCC []string `json:"allowed_mcc,omitempty"`
	// BlockedMCC are always declined (mcc_blocked).
	BlockedMCC []string `json:"blocked_mcc,omitempty"`
	// AllowedCountries, when not empty, are the only acquirer countries
	// allowed: ISO 3166-1 alpha-2 codes in the API ("US").
	AllowedCountries []string `json:"allowed_countries,omitempty" doc:"ISO 3166-1 alpha-2 codes; empty allows all"`
	Channels         Channels `json:"channels,omitempty"`
}

// AllowsMCC reports whether an MCC passes the allowed and blocked lists.
func (r RiskControls) AllowsMCC(mcc string) bool {
	if slices.Contains(r.BlockedMCC, mcc) {
		return false
	}
	return len(r.AllowedMCC) == 0 || slices.Contains(r.AllowedMCC, mcc)
}

// AllowsCountry reports whether an acquirer country (ISO 3166-1 numeric, as
// in ISO 8583 field 19) is allowed.
func (r RiskControls) AllowsCountry(numeric string) bool {
	if len(r.AllowedCountries) == 0 {
		return true
	}
	for _, a := range r.AllowedCountries {
		if n, ok := CountryNumeric(a); ok && n == numeric {
			return true
		}
	}
	return false
}

// AllowsChannel reports whether a channel is switched on.
func (r RiskControls) AllowsChannel(ch Channel) bool {
	var p *bool
	switch ch {
	case ChannelEcommerce:
		p = r.Channels.Ecommerce
	case ChannelATM:
		p = r.Channels.ATM
	case ChannelContactless:
		p = r.Channels.Contactless
	case ChannelMagstripe:
		p = r.Channels.Magstripe
	case ChannelChip:
		p = r.Channels.Chip
	case ChannelManual:
		p = r.Channels.Manual
	}
	return p == nil || *p
}

// Allows3DS reports whether 3-D Secure authenticated e-commerce is allowed.
func (r RiskControls) Allows3DS() bool {
	return r.Allow3DSTransactions == nil || *r.Allow3DSTransactions
}

// ValidMCC reports whether s is a four-digit merchant category code.
func ValidMCC(s string) bool {
	if len(s) != 4 {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}

// Validate checks spending controls; path prefixes field names.
func ValidateSpendingControls(v *Validator, path string, cs []SpendingControl) {
	if len(cs) > 20 {
		v.Add(path, "too_many", "at most 20 spending controls")
	}
	for i, c := range cs {
		p := path + "[" + strconv.Itoa(i) + "]"
		v.Check(c.Interval.Valid(), p+".interval", "invalid", "one of PER_TRANSACTION, DAILY, WEEKLY, MONTHLY, YEARLY, ALL_TIME")
		v.Check(c.Amount != nil || c.Count != nil, p, "required", "a spending control needs an amount, a count or both")
		if c.Amount != nil {
			v.Check(*c.Amount > 0 && *c.Amount <= MaxAmount, p+".amount", "out_of_range", "a positive amount of minor units up to 999999999999")
		}
		if c.Count != nil {
			v.Check(*c.Count > 0, p+".count", "out_of_range", "a positive count")
			v.Check(c.Interval != PerTransaction, p+".count", "invalid", "a count limit needs an interval longer than one transaction")
		}
		for j, m := range c.MCC {
			v.Check(ValidMCC(m), p+".mcc["+strconv.Itoa(j)+"]", "invalid", "a four-digit MCC")
		}
	}
}

// ValidateRiskControls checks risk controls; path prefixes field names.
func ValidateRiskControls(v *Validator, path string, r RiskControls) {
	for i, m := range r.AllowedMCC {
		v.Check(ValidMCC(m), path+".allowed_mcc["+strconv.Itoa(i)+"]", "invalid", "a four-digit MCC")
	}
	for i, m := range r.BlockedMCC {
		v.Check(ValidMCC(m), path+".blocked_mcc["+strconv.Itoa(i)+"]", "invalid", "a four-digit MCC")
	}
	for i, c := range r.AllowedCountries {
		_, ok := CountryNumeric(c)
		v.Check(ok, path+".allowed_countries["+strconv.Itoa(i)+"]", "invalid", "an ISO 3166-1 alpha-2 country code")
	}
}

// MaxAmount is the largest amount ISO 8583 field 4 can carry (12 digits).
const MaxAmount int64 = 999_999_999_999
