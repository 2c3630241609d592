//go:build linux || windows

package session

import (
	"errors"
	"testing"

	"netipc.local/netipc"
)

type clientCfg struct {
	sup, pref, reqPayload, reqItems, respPayload, respItems, respCap uint32
	inFlight                                                         int
}

func (c *clientCfg) fields() ClientFields {
	return ClientFields{SupportedProfiles: &c.sup, PreferredProfiles: &c.pref,
		MaxRequestPayloadBytes: &c.reqPayload, MaxRequestBatchItems: &c.reqItems,
		MaxResponsePayloadBytes: &c.respPayload, MaxResponseBatchItems: &c.respItems,
		ResponsePayloadCap: &c.respCap, MaxInFlight: &c.inFlight}
}

func TestNormalizeClientDefaults(t *testing.T) {
	var c clientCfg
	if err := NormalizeClient(c.fields(), netipc.ProfileBaseline); err != nil {
		t.Fatal(err)
	}
	want := clientCfg{netipc.ProfileBaseline, netipc.ProfileBaseline, netipc.MaxPayloadDefault, 1,
		netipc.MaxPayloadDefault, 1, netipc.MaxPayloadCap, DefaultMaxInFlight}
	if c != want {
		t.Fatalf("%+v", c)
	}
	c = clientCfg{respPayload: netipc.MaxPayloadCap + 1}
	if err := NormalizeClient(c.fields(), netipc.ProfileBaseline); err != nil || c.respCap != netipc.MaxPayloadCap+1 {
		t.Fatal(err, c.respCap)
	}
}

func TestNormalizeClientRejections(t *testing.T) {
	for name, c := range map[string]clientCfg{
		"profile not implemented": {sup: netipc.ProfileShmHybrid},
		"cap below the hint":      {respPayload: 10, respCap: 5},
		"in flight negative":      {inFlight: -1},
		"in flight over limit":    {inFlight: MaxInFlightLimit + 1},
	} {
		if err := NormalizeClient(c.fields(), netipc.ProfileBaseline); !errors.Is(err, netipc.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNormalizeServer(t *testing.T) {
	var sup, pref, req, resp uint32
	if err := NormalizeServer(&sup, &pref, &req, &resp, netipc.ProfileBaseline); err != nil {
		t.Fatal(err)
	}
	if sup != netipc.ProfileBaseline || pref != sup || req != netipc.MaxPayloadDefault || resp != netipc.MaxPayloadDefault {
		t.Fatal(sup, pref, req, resp)
	}
	sup = netipc.ProfileBaseline | netipc.ProfileShmHybrid
	if err := NormalizeServer(&sup, &pref, &req, &resp, netipc.ProfileBaseline); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
	if err := CheckProfiles(0, netipc.ProfileBaseline); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
}
