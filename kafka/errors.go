package kafka

import "errors"

// Sentinel errors. Compare with errors.Is; the wrapping error says which type,
// field or header was wrong (never a payload value).
var (
	// ErrUnknownType is returned for an event type that is not in the
	// catalogue.
	ErrUnknownType = errors.New("kafka: unknown event type")
	// ErrPayloadType is returned when the payload given to NewEvent is not
	// the catalogue's payload struct for the event type.
	ErrPayloadType = errors.New("kafka: payload type does not match the event type")
	// ErrInvalidEvent is returned for an event that breaks the CloudEvents
	// envelope or the catalogue's rules: a missing attribute, a subject or
	// tenant that disagrees with the payload, a missing payload field, a
	// record without the CloudEvents headers.
	ErrInvalidEvent = errors.New("kafka: invalid event")
)
