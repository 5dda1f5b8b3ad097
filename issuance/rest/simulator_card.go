package rest

import (
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// The sandbox card simulator (OffBlocks' simulator): the embosser's answer
// (issue or fail), the personalisation export the terminal simulator uses
// to become the card, and a PIN set from a clear test PIN.

func init() { extraRoutes = append(extraRoutes, (*Server).registerSimulatorCardRoutes) }

// persoView is a sealed personalisation record (docs/perso.md).
type persoView struct {
	CardID       string `json:"card_id"`
	KeyReference string `json:"key_reference" doc:"the transport key (KEK) the record is sealed under: the tenant's sandbox transport key"`
	KeyVersion   int    `json:"key_version"`
	KCV          string `json:"kcv" doc:"check value of the transport key (AES-CMAC, 6 hex)"`
	Format       string `json:"format" doc:"cardhost-sealed-v1+aes-256-gcm (docs/perso.md)"`
	Record       string `json:"record" doc:"the sealed record, base64: 01 ‖ KEK version (4) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)"`
}

func (s *Server) registerSimulatorCardRoutes() {
	svc := func() *issuance.Service { return s.deps.Service }
	for _, m := range []struct {
		action, id, sum string
		issue           bool
	}{
		{"issue", "simulateCardIssue", "Simulate the embosser issuing a card: PROVISIONED -> ACTIVE (card.activated, order.completed)", true},
		{"fail", "simulateCardFail", "Simulate the embosser failing a card: embossing_status FAILED, order failed (order.failed)", false},
	} {
		s.handle(fiber.MethodPatch, "/v1/simulator/cards/:id/"+m.action, operation{ID: m.id, Summary: m.sum, Tag: "simulator",
			SandboxOnly: true, Idempotent: true, Status: fiber.StatusAccepted, Response: cardView{}},
			func(c *fiber.Ctx) error {
				id, err := cardIDParam(c)
				if err != nil {
					return err
				}
				card, err := svc().SimulateEmbossing(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id, m.issue)
				if err != nil {
					return err
				}
				return c.Status(fiber.StatusAccepted).JSON(viewCard(&card))
			})
	}
	// Not idempotent on purpose: nothing changes, and each export is audited.
	s.handle(fiber.MethodPost, "/v1/simulator/cards/:id/perso", operation{ID: "exportCardPerso", Summary: "Export the card's personalisation record sealed under the tenant's sandbox transport key (audited)", Tag: "simulator",
		SandboxOnly: true, Status: fiber.StatusOK, Response: persoView{}},
		func(c *fiber.Ctx) error {
			id, err := cardIDParam(c)
			if err != nil {
				return err
			}
			r, err := svc().ExportPerso(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id)
			if err != nil {
				return err
			}
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.JSON(persoView{CardID: r.CardID, KeyReference: r.KEKRef, KeyVersion: r.KEKVersion, KCV: r.KCV, Format: r.Format,
				Record: base64.StdEncoding.EncodeToString(r.Data)})
		})
	// Not idempotent on purpose: the idempotency table would keep a hash
	// of the body, from which a 4-digit PIN is found at once.
	s.handle(fiber.MethodPost, "/v1/simulator/cards/:id/pin", operation{ID: "simulateCardPIN", Summary: "Set the card's PIN from a clear test PIN (sandbox; card.pin_changed; kept sealed for the personalisation export)", Tag: "simulator",
		SandboxOnly: true, Status: fiber.StatusOK, Request: issuance.SimulatorPINRequest{}, Response: cardView{}},
		func(c *fiber.Ctx) error {
			id, err := cardIDParam(c)
			if err != nil {
				return err
			}
			var r issuance.SimulatorPINRequest
			if err := decodeJSON(c, &r); err != nil {
				return err
			}
			card, err := svc().SimulatorSetPIN(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id, r)
			if err != nil {
				return err
			}
			return c.JSON(viewCard(&card))
		})
}
