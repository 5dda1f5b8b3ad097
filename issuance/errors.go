package issuance

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a business rejection of an API request: a machine-readable slug,
// a human message and, for validation failures, per-field errors. The REST
// adapter turns it into RFC 9457 problem details through one table keyed by
// slug. Error never carries card data: messages name fields, not values.
type Error struct {
	Slug    string
	Message string
	Fields  []FieldError
}

// FieldError is one invalid field of a request.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "spending_controls[0].amount".
	Field string `json:"field"`
	// Code is a short machine code: "required", "invalid", "too_long", ...
	Code string `json:"code"`
	// Message explains the rule that was broken.
	Message string `json:"message"`
}

// Error implements error.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Slug + ": " + e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Code
	}
	return e.Slug + ": " + e.Message + " (" + strings.Join(parts, ", ") + ")"
}

// Errorf returns an *Error with the slug and a formatted message.
func Errorf(slug, format string, args ...any) *Error {
	return &Error{Slug: slug, Message: fmt.Sprintf(format, args...)}
}

// SlugOf returns the slug of err when it is (or wraps) an *Error, else "".
func SlugOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Slug
	}
	return ""
}

// Slugs used across the API (DESIGN.md "REST API" and the seed platforms'
// error tables). Each slug has one HTTP status in the REST adapter's table.
const (
	SlugValidationFailed        = "validation_failed"
	SlugNotFound                = "not_found"
	SlugUnauthorized            = "unauthorized"
	SlugForbidden               = "forbidden"
	SlugInvalidStatusTransition = "invalid_status_transition"
	SlugReferenceIDTaken        = "reference_id_taken"
	SlugIdempotencyKeyReused    = "idempotency_key_reused"
	SlugIdempotencyInProgress   = "idempotency_request_in_progress"
	SlugProductNotFound         = "product_not_found"
	SlugProductNotActive        = "product_not_active"
	SlugCardholderNotFound      = "cardholder_not_found"
	SlugCardholderNotReady      = "cardholder_not_ready"
	SlugCardNotFound            = "card_not_found"
	SlugInsufficientFunds       = "insufficient_funds"
	SlugConflict                = "conflict"
	SlugSandboxOnly             = "sandbox_only"
	// SlugScopeNotHeld refuses a new API key with a scope that the key
	// asking for it does not hold.
	SlugScopeNotHeld = "scope_not_held"
)

// Validator collects field errors; the zero value is ready to use.
type Validator struct{ fields []FieldError }

// Add records a field error.
func (v *Validator) Add(field, code, message string) {
	v.fields = append(v.fields, FieldError{Field: field, Code: code, Message: message})
}

// Check records a field error when ok is false.
func (v *Validator) Check(ok bool, field, code, message string) {
	if !ok {
		v.Add(field, code, message)
	}
}

// Err returns a validation_failed *Error when fields were recorded, else nil.
func (v *Validator) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Slug: SlugValidationFailed, Message: "the request has invalid fields", Fields: v.fields}
}

// Sentinel errors that stores return and callers branch on.
var (
	// ErrNotFound: no such object for this tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule was broken (duplicate reference id...).
	ErrConflict = errors.New("conflict")
)

// Patch copies *src into *dst when src is not nil: how a PATCH request
// applies a field it carries and keeps one it omits.
func Patch[T any](dst, src *T) {
	if src != nil {
		*dst = *src
	}
}
