//go:build linux || windows

package session

import "netipc.local/netipc"

// DefaultMaxInFlight is the default pipelining depth of a client session.
const DefaultMaxInFlight = 64

// MaxInFlightLimit is the upper bound of a client's MaxInFlight.
const MaxInFlightLimit = 65536

// ClientFields points at the configuration fields every transport's
// ClientConfig has.
type ClientFields struct {
	SupportedProfiles, PreferredProfiles                               *uint32
	MaxRequestPayloadBytes, MaxRequestBatchItems                       *uint32
	MaxResponsePayloadBytes, MaxResponseBatchItems, ResponsePayloadCap *uint32
	MaxInFlight                                                        *int
}

// NormalizeClient applies the client defaults in place and checks the
// result; implemented are the profiles the transport runs.
func NormalizeClient(c ClientFields, implemented uint32) error {
	orU32(c.SupportedProfiles, netipc.ProfileBaseline)
	orU32(c.PreferredProfiles, *c.SupportedProfiles)
	orU32(c.MaxRequestPayloadBytes, netipc.MaxPayloadDefault)
	orU32(c.MaxRequestBatchItems, 1)
	orU32(c.MaxResponsePayloadBytes, netipc.MaxPayloadDefault)
	orU32(c.MaxResponseBatchItems, 1)
	orU32(c.ResponsePayloadCap, max(netipc.MaxPayloadCap, *c.MaxResponsePayloadBytes))
	if *c.MaxInFlight == 0 {
		*c.MaxInFlight = DefaultMaxInFlight
	}
	if err := CheckProfiles(*c.SupportedProfiles, implemented); err != nil {
		return err
	}
	if *c.ResponsePayloadCap < *c.MaxResponsePayloadBytes {
		return &netipc.ArgError{Reason: "ResponsePayloadCap is below MaxResponsePayloadBytes"}
	}
	if *c.MaxInFlight < 1 || *c.MaxInFlight > MaxInFlightLimit {
		return &netipc.ArgError{Reason: "MaxInFlight must be between 1 and MaxInFlightLimit"}
	}
	return nil
}

// NormalizeServer applies the server defaults in place (baseline
// profile, netipc.MaxPayloadDefault budgets) and checks the profiles.
func NormalizeServer(supported, preferred, maxRequestPayload, maxResponsePayload *uint32, implemented uint32) error {
	orU32(supported, netipc.ProfileBaseline)
	orU32(preferred, *supported)
	orU32(maxRequestPayload, netipc.MaxPayloadDefault)
	orU32(maxResponsePayload, netipc.MaxPayloadDefault)
	return CheckProfiles(*supported, implemented)
}

// CheckProfiles checks a supported-profiles mask against the profiles
// the transport implements.
func CheckProfiles(supported, implemented uint32) error {
	if supported == 0 {
		return &netipc.ArgError{Reason: "no supported profile"}
	}
	if supported&^implemented != 0 {
		return &netipc.ArgError{Reason: "supported profiles include one this implementation lacks"}
	}
	return nil
}

// orU32 sets *v to d when it is zero.
func orU32(v *uint32, d uint32) {
	if *v == 0 {
		*v = d
	}
}
