package rest

import (
	"encoding/base64"

	"github.com/gofiber/fiber/v2"

	"github.com/cardhost/cardhost/issuance"
)

// The sandbox card simulator (OffBlocks' simulator): the embosser's answer
// (issue or fail), the personalisation export the terminal simulator uses
// to become the card, and a PIN set from a clear test PIN.

// persoView is a sealed personalisation record (docs/perso.md).
type persoView struct {
	CardID       string `json:"card_id"`
	KeyReference string `json:"key_reference" doc:"the transport key (KEK) the record is sealed under: the tenant's sandbox transport key"`
	KeyVersion   int    `json:"key_version"`
	KCV          string `json:"kcv" doc:"check value of the transport key (AES-CMAC, 6 hex)"`
	Format       string `json:"format" doc:"cardhost-sealed-v1+aes-256-gcm (docs/perso.md)"`
	Record       string `json:"record" doc:"the sealed record, base64: 01 ‖ KEK version (4) ‖ nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)"`
}

// simulateEmbossing answers as the embosser would: issue or fail the card.
func (s *Server) simulateEmbossing(issue bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := cardIDParam(c)
		if err != nil {
			return err
		}
		card, err := s.deps.Service.SimulateEmbossing(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id, issue)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusAccepted).JSON(viewCard(card))
	}
}

func persoOf(r issuance.SealedRecord) persoView {
	return persoView{CardID: r.CardID, KeyReference: r.KEKRef, KeyVersion: r.KEKVersion, KCV: r.KCV, Format: r.Format,
		Record: base64.StdEncoding.EncodeToString(r.Data)}
}

func (s *Server) simulateCardPIN(c *fiber.Ctx, id string, r issuance.SimulatorPINRequest) (issuance.Card, error) {
	return s.deps.Service.SimulatorSetPIN(c.UserContext(), s.actorOf(c), tenantOf(c).ID, id, r)
}
