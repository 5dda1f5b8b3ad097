package terminal

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), closed); err == nil {
		t.Error("Dial to a closed port succeeded")
	}
	for name, opt := range map[string]Option{
		"zero connect timeout":     ConnectTimeout(0),
		"negative request timeout": RequestTimeout(-time.Second),
		"nil clock":                WithClock(nil),
	} {
		if _, err := Dial(context.Background(), closed, opt); !errors.Is(err, errOption) {
			t.Errorf("%s: Dial = %v, want errOption", name, err)
		}
	}
}

func TestNextSTAN(t *testing.T) {
	c := &Client{}
	c.stan.Store(maxSTAN - 2)
	var got []string
	for range 4 {
		got = append(got, c.NextSTAN())
	}
	want := []string{"999999", "000001", "000002", "000003"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("STANs %v, want %v", got, want)
		}
	}
}
