package terminal

import (
	"context"
	"time"

	"github.com/cardhost/cardhost/iso"
)

// Echo sends an 0800 echo test (field 70 = 301) and returns the round-trip
// time. An answer other than 0810 with response code 00 is a
// *ResponseError; no answer in time matches ErrTimeout.
func (c *Client) Echo(ctx context.Context) (time.Duration, error) {
	m := iso.NewMessage(iso.MTINetworkRequest)
	_ = m.Field(iso.FieldTransmissionTime, iso.FormatTransmissionTime(c.opts.Now()))
	_ = m.Field(iso.FieldSTAN, c.NextSTAN())
	_ = m.Field(iso.FieldNetworkCode, iso.NetworkEcho)

	start := time.Now()
	r, err := c.Send(ctx, m)
	rtt := time.Since(start)
	if err != nil {
		return 0, err
	}
	mti, _ := r.GetMTI()
	code, _ := r.GetString(iso.FieldResponseCode)
	if mti != iso.MTINetworkResponse || iso.ResponseCode(code) != iso.Approved {
		return rtt, &ResponseError{MTI: mti, Code: iso.ResponseCode(code)}
	}
	return rtt, nil
}
