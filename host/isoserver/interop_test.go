package isoserver

import (
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"

	"github.com/cardhost/cardhost/iso"
)

// TestInteropWithMoovConnection: an acquirer built on moov-io's
// iso8583-connection client, with the published spec and the 2-byte
// length header, talks to the host as the interface specification says.
func TestInteropWithMoovConnection(t *testing.T) {
	ts := startServer(t, Config{}, approveAll())
	c, err := connection.New(ts.addr, iso.Spec, iso.ReadLength, iso.WriteLength, connection.SendTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	echo := iso.NewMessage(iso.MTINetworkRequest)
	for id, v := range map[int]string{iso.FieldTransmissionTime: iso.FormatTransmissionTime(time.Now().UTC()), iso.FieldSTAN: "000101", iso.FieldNetworkCode: iso.NetworkEcho} {
		if err := echo.Field(id, v); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.Send(echo)
	if err != nil {
		t.Fatalf("echo through iso8583-connection: %v", err)
	}
	if mti, _ := resp.GetMTI(); mti != "0810" {
		t.Fatalf("answer MTI %s, want 0810", mti)
	}
	if code, _ := resp.GetString(iso.FieldResponseCode); code != "00" {
		t.Fatalf("echo answered %s", code)
	}

	auth := iso.NewMessage(iso.MTIAuthorizationRequest)
	for id, v := range map[int]string{
		iso.FieldPAN: "4000001234567899", iso.FieldProcessingCode: "000000", iso.FieldAmount: "000000001000",
		iso.FieldTransmissionTime: iso.FormatTransmissionTime(time.Now().UTC()), iso.FieldSTAN: "000102",
		iso.FieldMCC: "5411", iso.FieldEntryMode: "812", iso.FieldAcquirerID: "123456", iso.FieldRRN: "000000000102",
		iso.FieldTerminal: "TERM0001", iso.FieldMerchant: "MERCHANT0000001", iso.FieldCurrency: "840",
	} {
		if err := auth.Field(id, v); err != nil {
			t.Fatal(err)
		}
	}
	resp, err = c.Send(auth)
	if err != nil {
		t.Fatalf("0100 through iso8583-connection: %v", err)
	}
	if mti, _ := resp.GetMTI(); mti != "0110" {
		t.Fatalf("answer MTI %s, want 0110", mti)
	}
	if stan, _ := resp.GetString(iso.FieldSTAN); stan != "000102" {
		t.Fatalf("answer STAN %s", stan)
	}
}
