package rest

import (
	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/webhook"
	"github.com/cardhost/cardhost/kafka"
)

// Webhook endpoints and the Events API (docs/webhooks.md), over
// webhook.Service.

// endpointWithSecret answers a creation or a rotation: the endpoint and
// its new secret, shown once.
type endpointWithSecret struct {
	webhook.Endpoint
	Secret string `json:"secret,omitempty" doc:"whsec_ + base64: the signing secret, shown only in this answer, never in a replay of it"`
}

type endpointList page[webhook.Endpoint]

type eventList page[kafka.Event]

// eventFilterQuery documents the event list's filters.
var eventFilterQuery = []queryParam{
	{Name: "type", Type: "string", Doc: "an event type (card.frozen) or a group (card.*)"},
	{Name: "card_id", Type: "string", Doc: "the events of this card"},
	{Name: "created_after", Type: "string", Doc: "RFC 3339 time: events at or after it"},
	{Name: "created_before", Type: "string", Doc: "RFC 3339 time: events before it"},
}

// eventFilterOf reads the event list's filters.
func eventFilterOf(c *fiber.Ctx, p issuance.PageRequest) (webhook.EventFilter, error) {
	var v issuance.Validator
	f := webhook.EventFilter{PageRequest: p, Type: c.Query("type"), CardID: c.Query("card_id"),
		CreatedAfter: timeQuery(c, "created_after", &v), CreatedBefore: timeQuery(c, "created_before", &v)}
	return f, v.Err()
}

// withSecret answers an endpoint with its new secret, keeping the answer
// without the secret for an idempotent replay.
func withSecret(c *fiber.Ctx, status int, e webhook.Endpoint, secret interface{ Reveal() string }) error {
	if err := keepForReplay(c, endpointWithSecret{Endpoint: e}); err != nil {
		return err
	}
	return c.Status(status).JSON(endpointWithSecret{Endpoint: e, Secret: secret.Reveal()})
}

func (s *Server) createWebhookEndpoint(c *fiber.Ctx) error {
	var req webhook.EndpointRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, secret, err := s.deps.Webhooks.CreateEndpoint(c.UserContext(), tenantOf(c).ID, req)
	if err != nil {
		return err
	}
	return withSecret(c, fiber.StatusCreated, e, secret)
}

func (s *Server) rotateWebhookSecret(c *fiber.Ctx) error {
	e, secret, err := s.deps.Webhooks.RotateSecret(c.UserContext(), tenantOf(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return withSecret(c, fiber.StatusOK, e, secret)
}

func (s *Server) updateWebhookEndpoint(c *fiber.Ctx) error {
	var p webhook.EndpointPatch
	if err := decodeJSON(c, &p); err != nil {
		return err
	}
	e, err := s.deps.Webhooks.UpdateEndpoint(c.UserContext(), tenantOf(c).ID, c.Params("id"), p)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func (s *Server) deleteWebhookEndpoint(c *fiber.Ctx) error {
	if err := s.deps.Webhooks.DeleteEndpoint(c.UserContext(), tenantOf(c).ID, c.Params("id")); err != nil {
		return err
	}
	c.Status(fiber.StatusNoContent)
	return nil
}

func (s *Server) recoverWebhookEndpoint(c *fiber.Ctx) error {
	var r webhook.RecoverRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	out, err := s.deps.Webhooks.Recover(c.UserContext(), tenantOf(c).ID, c.Params("id"), r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(out)
}

func (s *Server) redeliverEvent(c *fiber.Ctx) error {
	var r webhook.RedeliverRequest
	if len(c.Body()) > 0 { // the body is optional: none means every subscribed endpoint
		if err := decodeJSON(c, &r); err != nil {
			return err
		}
	}
	out, err := s.deps.Webhooks.Redeliver(c.UserContext(), tenantOf(c).ID, c.Params("id"), r)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(out)
}

// decisionWithSecret answers the PUT that creates a decision endpoint:
// the endpoint and its signing secret, shown once.
type decisionWithSecret struct {
	webhook.DecisionEndpoint
	Secret string `json:"secret,omitempty" doc:"whsec_ + base64: the signing secret of decision requests, shown only in the answer of the PUT that created the endpoint, never in a replay of it"`
}

func (s *Server) putDecision(c *fiber.Ctx) error {
	var req webhook.DecisionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, secret, err := s.deps.Webhooks.PutDecision(c.UserContext(), tenantOf(c).ID, req)
	if err != nil {
		return err
	}
	if s.deps.DecisionsChanged != nil {
		s.deps.DecisionsChanged(c.UserContext())
	}
	if err := keepForReplay(c, decisionWithSecret{DecisionEndpoint: e}); err != nil {
		return err
	}
	out := decisionWithSecret{DecisionEndpoint: e}
	if secret != nil {
		out.Secret = secret.Reveal()
	}
	return c.JSON(out)
}

func (s *Server) getDecision(c *fiber.Ctx) error {
	e, err := s.deps.Webhooks.Decision(c.UserContext(), tenantOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func (s *Server) deleteDecision(c *fiber.Ctx) error {
	if err := s.deps.Webhooks.DeleteDecision(c.UserContext(), tenantOf(c).ID); err != nil {
		return err
	}
	if s.deps.DecisionsChanged != nil {
		s.deps.DecisionsChanged(c.UserContext())
	}
	c.Status(fiber.StatusNoContent)
	return nil
}

// webhookRoutes are the routes of webhook endpoints and events (nil when
// no webhook service is wired).
func (s *Server) webhookRoutes() []route {
	w := s.deps.Webhooks
	if w == nil {
		return nil
	}
	return []route{
		// Idempotent, but the secret is shown once: the idempotency table
		// keeps the answer without it, and a replay answers that.
		{post, "/v1/webhook-endpoints", s.createWebhookEndpoint, operation{ID: "createWebhookEndpoint", Tag: "webhooks", Idempotent: true, SecretOnce: true,
			Summary: "Register a webhook endpoint for event types; the whsec_ signing secret is shown once", Request: webhook.EndpointRequest{}, Response: endpointWithSecret{}}},
		{get, "/v1/webhook-endpoints", listHandler(w, noFilter, (*webhook.Service).Endpoints, same), operation{ID: "listWebhookEndpoints", Tag: "webhooks",
			Summary: "List the tenant's webhook endpoints, newest first (never their secrets)", Response: endpointList{}, Query: pageQueryParams}},
		{get, "/v1/webhook-endpoints/:id", getHandler(w, (*webhook.Service).Endpoint, same), operation{ID: "getWebhookEndpoint", Tag: "webhooks",
			Summary: "Get a webhook endpoint", Response: webhook.Endpoint{}}},
		{patch, "/v1/webhook-endpoints/:id", s.updateWebhookEndpoint, operation{ID: "updateWebhookEndpoint", Tag: "webhooks",
			Summary: "Change a webhook endpoint's URL, event types or description, or disable or enable it", Request: webhook.EndpointPatch{}, Response: webhook.Endpoint{}}},
		{del, "/v1/webhook-endpoints/:id", s.deleteWebhookEndpoint, operation{ID: "deleteWebhookEndpoint", Tag: "webhooks",
			Summary: "Delete a webhook endpoint and its pending deliveries", Status: fiber.StatusNoContent}},
		{post, "/v1/webhook-endpoints/:id/rotate-secret", s.rotateWebhookSecret, operation{ID: "rotateWebhookSecret", Tag: "webhooks", Idempotent: true, SecretOnce: true, Status: fiber.StatusOK,
			Summary: "Give the endpoint a new signing secret, shown once; the old one keeps signing beside it for 24 h", Response: endpointWithSecret{}}},
		{post, "/v1/webhook-endpoints/:id/recover", s.recoverWebhookEndpoint, operation{ID: "recoverWebhookEndpoint", Tag: "webhooks", Idempotent: true, Status: fiber.StatusAccepted,
			Summary: "Send the endpoint again every event of its types since a time that it has not received", Request: webhook.RecoverRequest{}, Response: webhook.Recovery{}}},

		{get, "/v1/events", listHandler(w, eventFilterOf, (*webhook.Service).Events, same), operation{ID: "listEvents", Tag: "events",
			Summary: "List the tenant's events of the last 30 days, newest first", Response: eventList{},
			Query: append(append([]queryParam{}, pageQueryParams...), eventFilterQuery...)}},
		{get, "/v1/events/:id", getHandler(w, (*webhook.Service).Event, same), operation{ID: "getEvent", Tag: "events",
			Summary: "Get an event (CloudEvents JSON, as webhooks deliver it)", Response: kafka.Event{}}},
		{get, "/v1/events/:id/attempts", getHandler(w, (*webhook.Service).Attempts, same), operation{ID: "listEventAttempts", Tag: "events",
			Summary: "Every delivery attempt of an event: endpoint, time, status code, duration, error", Response: webhook.AttemptList{}}},
		{post, "/v1/events/:id/redeliver", s.redeliverEvent, operation{ID: "redeliverEvent", Tag: "events", Idempotent: true, Status: fiber.StatusAccepted,
			Summary: "Deliver an event again to one endpoint, or to every enabled endpoint subscribed to its type", Request: webhook.RedeliverRequest{}, Response: webhook.Redelivery{}}},

		// The first PUT answers the signing secret once (a replay answers
		// without it); later PUTs keep it.
		{put, "/v1/authorization-decision", s.putDecision, operation{ID: "putAuthorizationDecision", Tag: "webhooks", Idempotent: true, SecretOnce: true, Status: fiber.StatusOK,
			Summary: "Set the endpoint the host asks to approve each authorization in real time; the first PUT answers its whsec_ secret once", Request: webhook.DecisionRequest{}, Response: decisionWithSecret{}}},
		{get, "/v1/authorization-decision", s.getDecision, operation{ID: "getAuthorizationDecision", Tag: "webhooks",
			Summary: "Get the tenant's authorization decision endpoint (never its secret)", Response: webhook.DecisionEndpoint{}}},
		{del, "/v1/authorization-decision", s.deleteDecision, operation{ID: "deleteAuthorizationDecision", Tag: "webhooks",
			Summary: "Remove the authorization decision endpoint: the host decides alone again", Status: fiber.StatusNoContent}},
	}
}
