package kafka_test

import (
	"fmt"
	"time"

	"github.com/cardhost/cardhost/kafka"
)

// A card was frozen: build the event inside the transaction that froze it,
// and see the Kafka record the relay will publish.
func ExampleNewEvent() {
	now := time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	ev, err := kafka.NewEvent(kafka.TypeCardFrozen, "crd_1", "ten_acme", kafka.CardData{
		ID: "crd_1", TenantID: "ten_acme", Status: "FROZEN", PreviousStatus: "ACTIVE", Last4: "4242",
	}, now)
	if err != nil {
		panic(err)
	}
	m, err := ev.Message()
	if err != nil {
		panic(err)
	}
	fmt.Printf("key %s\n", m.Key)
	for _, h := range m.Headers {
		if h.Key != kafka.HeaderID { // random
			fmt.Printf("%s: %s\n", h.Key, h.Value)
		}
	}
	p, _ := ev.Payload()
	card := p.(kafka.CardData)
	fmt.Println(card.PreviousStatus, "->", card.Status)
	// Output:
	// key crd_1
	// ce_specversion: 1.0
	// ce_source: /cardhost/issuance
	// ce_type: card.frozen
	// ce_subject: crd_1
	// ce_time: 2026-03-14T09:26:53.589793Z
	// ce_tenantid: ten_acme
	// content-type: application/json
	// ACTIVE -> FROZEN
}
