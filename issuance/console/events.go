package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// Events and webhook deliveries: the tenant's events of the retention
// period (the Events API's list and filters), each event's delivery
// attempts, and redelivery, through the webhook service the API uses.

// eventsPage is the event list, its filters and the tenant's endpoints.
type eventsPage struct {
	Type, CardID string
	Events       []kafka.Event
	More         bool
	Next         string
	Endpoints    []webhook.Endpoint
	Errors       []issuance.FieldError
}

// ErrorsFor returns the filters' errors on field name.
func (p eventsPage) ErrorsFor(name string) []issuance.FieldError { return fieldErrors(p.Errors, name) }

func (co *Console) events(c *fiber.Ctx) error {
	s := sessionOf(c)
	ctx := c.UserContext()
	p := eventsPage{Type: strings.TrimSpace(c.Query("type")), CardID: strings.TrimSpace(c.Query("card_id"))}
	var err error
	if p.Endpoints, _, err = co.deps.Webhooks.Endpoints(ctx, s.Tenant.ID, issuance.PageRequest{Limit: webhook.MaxEndpoints}); err != nil {
		return co.fail(c, err)
	}
	p.Events, p.More, err = co.deps.Webhooks.Events(ctx, s.Tenant.ID, webhook.EventFilter{PageRequest: issuance.PageRequest{Limit: 50, StartingAfter: c.Query("starting_after")},
		Type: p.Type, CardID: p.CardID})
	if err != nil {
		if p.Errors = fieldsOf(err); p.Errors == nil {
			return co.fail(c, err)
		}
		return co.render(c, co.deps.API.StatusOf(err), "events", p)
	}
	if p.More && len(p.Events) > 0 {
		v := url.Values{}
		if p.Type != "" {
			v.Set("type", p.Type)
		}
		if p.CardID != "" {
			v.Set("card_id", p.CardID)
		}
		v.Set("starting_after", p.Events[len(p.Events)-1].ID)
		p.Next = v.Encode()
	}
	return co.render(c, fiber.StatusOK, "events", p)
}

// eventPage is one event, its data, its attempts and the redelivery form.
type eventPage struct {
	Event     kafka.Event
	Data      string // the payload, indented
	Attempts  []webhook.Attempt
	Endpoints []webhook.Endpoint // those subscribed to the event's type
	Done      []string           // endpoints a redelivery is pending for
	Redone    bool
	Error     string
}

func (co *Console) event(c *fiber.Ctx) error {
	p, err := co.loadEvent(c, c.Params("id"))
	if err != nil {
		return co.fail(c, err)
	}
	if c.Query("redelivered") != "" {
		p.Redone = true
		for _, id := range strings.Split(c.Query("redelivered"), ",") {
			if id != "" && id != "none" {
				p.Done = append(p.Done, id)
			}
		}
	}
	return co.render(c, fiber.StatusOK, "event", p)
}

func (co *Console) loadEvent(c *fiber.Ctx, id string) (*eventPage, error) {
	s := sessionOf(c)
	ctx := c.UserContext()
	ev, err := co.deps.Webhooks.Event(ctx, s.Tenant.ID, id)
	if err != nil {
		return nil, err
	}
	p := &eventPage{Event: ev, Data: string(ev.Data)}
	var b bytes.Buffer
	if json.Indent(&b, ev.Data, "", "  ") == nil {
		p.Data = b.String()
	}
	attempts, err := co.deps.Webhooks.Attempts(ctx, s.Tenant.ID, id)
	if err != nil {
		return nil, err
	}
	p.Attempts = attempts.Data
	all, _, err := co.deps.Webhooks.Endpoints(ctx, s.Tenant.ID, issuance.PageRequest{Limit: webhook.MaxEndpoints})
	if err != nil {
		return nil, err
	}
	for _, e := range all {
		if e.Subscribes(ev.Type) {
			p.Endpoints = append(p.Endpoints, e)
		}
	}
	return p, nil
}

// redeliver sends an event again, to one endpoint or to every enabled
// endpoint subscribed to its type, through the service call of POST
// /v1/events/{id}/redeliver.
func (co *Console) redeliver(c *fiber.Ctx) error {
	s := sessionOf(c)
	id := c.Params("id")
	r, err := co.deps.Webhooks.Redeliver(c.UserContext(), s.Tenant.ID, id, webhook.RedeliverRequest{EndpointID: strings.TrimSpace(c.FormValue("endpoint_id"))})
	if err != nil {
		var ie *issuance.Error
		if errors.Is(err, issuance.ErrNotFound) || !errors.As(err, &ie) {
			return co.fail(c, err)
		}
		p, lerr := co.loadEvent(c, id)
		if lerr != nil {
			return co.fail(c, lerr)
		}
		p.Error = ie.Message
		return co.render(c, co.deps.API.StatusOf(err), "event", p)
	}
	done := strings.Join(r.EndpointIDs, ",")
	if done == "" {
		done = "none"
	}
	return c.Redirect(Prefix+"/events/"+url.PathEscape(id)+"?redelivered="+url.QueryEscape(done), fiber.StatusSeeOther)
}
