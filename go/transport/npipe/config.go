//go:build windows

package npipe

import (
	"netipc.local/netipc"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/transport/winshm"
	"netipc.local/netipc/wire"
)

// ImplementedProfiles are the profiles this implementation runs: the
// Named Pipe baseline, SHM_HYBRID and SHM_BUSYWAIT.
const ImplementedProfiles = netipc.ProfileBaseline | winshm.Profiles

// ShmProfiles are the profile bits that select the Win SHM data plane.
const ShmProfiles = winshm.Profiles

// DefaultPacketSize is the packet size proposed when none is configured,
// and the size of the pipe buffers.
const DefaultPacketSize = 65536

// DefaultBufferSize is the in/out buffer size of each pipe instance.
const DefaultBufferSize = DefaultPacketSize

// DefaultMaxInFlight is the default pipelining depth of a client session.
const DefaultMaxInFlight = session.DefaultMaxInFlight

// MaxInFlightLimit is the upper bound of ClientConfig.MaxInFlight.
const MaxInFlightLimit = session.MaxInFlightLimit

// ClientConfig is what a client proposes in its HELLO, and its local
// ceilings. Zero fields take the defaults noted on each field (see
// DefaultClientConfig).
type ClientConfig struct {
	// SupportedProfiles is the bitmask of profiles the client supports
	// (0 = baseline only).
	SupportedProfiles uint32
	// PreferredProfiles is the bitmask of profiles the client prefers
	// (0 = SupportedProfiles).
	PreferredProfiles uint32
	// MaxRequestPayloadBytes is the proposed request payload ceiling (0 =
	// netipc.MaxPayloadDefault). A server with a smaller budget rejects
	// the handshake with LIMIT_EXCEEDED.
	MaxRequestPayloadBytes uint32
	// MaxRequestBatchItems is the proposed batch-item ceiling (0 = 1).
	MaxRequestBatchItems uint32
	// MaxResponsePayloadBytes is the response payload hint (0 =
	// netipc.MaxPayloadDefault); servers choose the final budget.
	MaxResponsePayloadBytes uint32
	// MaxResponseBatchItems is the response batch-item hint (0 = 1).
	MaxResponseBatchItems uint32
	// ResponsePayloadCap is the largest response budget the client
	// accepts (0 = netipc.MaxPayloadCap); a HELLO_ACK granting more is
	// refused with ErrLimitExceeded.
	ResponsePayloadCap uint32
	// AuthToken is the caller-supplied authentication token.
	AuthToken uint64
	// PacketSize is the packet size to propose (0 = DefaultPacketSize).
	PacketSize uint32
	// MaxInFlight is the pipelining depth (0 = DefaultMaxInFlight).
	MaxInFlight int
	// Shm holds the Win SHM data plane options.
	Shm winshm.Config
}

// normalized returns the configuration with defaults applied, or an error
// if it is inconsistent.
func (c ClientConfig) normalized() (ClientConfig, error) {
	err := session.NormalizeClient(session.ClientFields{
		SupportedProfiles: &c.SupportedProfiles, PreferredProfiles: &c.PreferredProfiles,
		MaxRequestPayloadBytes: &c.MaxRequestPayloadBytes, MaxRequestBatchItems: &c.MaxRequestBatchItems,
		MaxResponsePayloadBytes: &c.MaxResponsePayloadBytes, MaxResponseBatchItems: &c.MaxResponseBatchItems,
		ResponsePayloadCap: &c.ResponsePayloadCap, MaxInFlight: &c.MaxInFlight,
	}, ImplementedProfiles)
	return c, err
}

// ServerConfig is what a server offers in each handshake. Level 2 passes
// its current (learned) budgets here, so a later session can be offered
// more than the first. Zero fields take defaults (baseline profile,
// netipc.MaxPayloadDefault budgets, automatic packet size).
type ServerConfig struct {
	// SupportedProfiles is the bitmask of profiles the server supports.
	SupportedProfiles uint32
	// PreferredProfiles is the bitmask of profiles the server prefers
	// (0 = SupportedProfiles).
	PreferredProfiles uint32
	// MaxRequestPayloadBytes is the current request payload budget: a
	// HELLO proposing more is rejected with LIMIT_EXCEEDED.
	MaxRequestPayloadBytes uint32
	// MaxResponsePayloadBytes is the current response payload budget,
	// granted as is.
	MaxResponsePayloadBytes uint32
	// PacketSize is the packet size (0 = DefaultPacketSize).
	PacketSize uint32
	// AuthToken is the token clients must present.
	AuthToken uint64
	// Shm holds the Win SHM data plane options.
	Shm winshm.Config
	// OnReject, when set, is called with the status and the decoded HELLO
	// before a negotiation rejection is sent (Level 2 learns a larger
	// request budget from it, so the client's reconnect is accepted).
	OnReject func(status uint16, hello wire.Hello)
}

func (c ServerConfig) normalized() (ServerConfig, error) {
	err := session.NormalizeServer(&c.SupportedProfiles, &c.PreferredProfiles,
		&c.MaxRequestPayloadBytes, &c.MaxResponsePayloadBytes, ImplementedProfiles)
	return c, err
}

// Offer is the negotiation offer for a connection whose effective packet
// size is packetSize.
func (c ServerConfig) Offer(packetSize uint32) wire.ServerOffer {
	return wire.ServerOffer{
		SupportedProfiles: c.SupportedProfiles, PreferredProfiles: c.PreferredProfiles,
		MaxRequestPayloadBytes: c.MaxRequestPayloadBytes, MaxResponsePayloadBytes: c.MaxResponsePayloadBytes,
		PacketSize: packetSize, AuthToken: c.AuthToken,
	}
}

// proposedPacketSize is the configured packet size, or the default.
func proposedPacketSize(configured uint32) uint32 {
	if configured == 0 {
		return DefaultPacketSize
	}
	return configured
}

// ProfileBusyWait is profile bit 2 under its Windows name, SHM_BUSYWAIT.
const ProfileBusyWait = winshm.ProfileBusyWait
