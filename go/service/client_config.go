package service

import (
	"time"

	"netipc.local/netipc"
)

// ClientConfig configures one Level 2 client context. Zero-valued fields
// resolve to the named defaults of this package, so a small system can
// choose small buffers and a large one larger buffers.
type ClientConfig struct {
	// AuthToken is presented in the handshake.
	AuthToken uint64
	// SupportedProfiles: 0 = every profile this implementation runs
	// (baseline and SHM_HYBRID).
	SupportedProfiles uint32
	// PreferredProfiles: 0 = SHM_HYBRID.
	PreferredProfiles uint32
	// RequestPayloadBytes is the request payload proposal; 0 = derived
	// from the method schema (the next power of two of a full batch of
	// fixed-size items, or DefaultDynamicRequestPayload for variable-size
	// requests). Never below the method's smallest request.
	RequestPayloadBytes uint32
	// ResponsePayloadBytes is the response payload hint; 0 = the method
	// default. Overflow recovery doubles it.
	ResponsePayloadBytes uint32
	// MaxPayloadBytes caps automatic growth in both directions and is the
	// largest response budget accepted from a server; 0 =
	// netipc.MaxPayloadCap.
	MaxPayloadBytes uint32
	// BatchItems is the intended batch size of batch calls; 0 =
	// DefaultBatchItems (ignored by non-batch methods).
	BatchItems uint32
	// CallTimeout bounds one logical call; 0 = DefaultCallTimeout.
	CallTimeout time.Duration
	// ConnectTimeout bounds one connection attempt; 0 =
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// LookupMaxItems caps the keys of one lookup call; 0 =
	// DefaultLookupMaxItems.
	LookupMaxItems uint32
	// LookupMaxSubcalls caps the Level 1 requests of one lookup call; 0 =
	// DefaultLookupMaxSubcalls.
	LookupMaxSubcalls uint32
	// LookupMaxResponseBytes caps the stitched bytes of one lookup result;
	// 0 = DefaultLookupMaxResponseBytes.
	LookupMaxResponseBytes uint64
	// PacketSize is the packet size to propose; 0 = automatic.
	PacketSize uint32
	// Shm holds the SHM data plane options.
	Shm shmConfig
}

// schema says how a method's requests are sized (library logic, not
// configuration).
type schema struct {
	code            uint16
	batch           bool
	minRequest      int
	fixedItem       int // 0: variable-size requests
	responseDefault uint32
}

func fixedSchema(code uint16, request int) schema {
	return schema{code: code, minRequest: request, fixedItem: request, responseDefault: ServiceResponsePayloadDefault}
}

func dynamicSchema(code uint16, minRequest int) schema {
	return schema{code: code, minRequest: minRequest, responseDefault: ServiceResponsePayloadDefault}
}

func (s schema) withBatch() schema { s.batch = true; return s }

// resolved is a configuration resolved against a method schema.
type resolved struct {
	code                   uint16
	authToken              uint64
	supported, preferred   uint32
	requestBase            uint32
	requestProposal        uint32
	responseHint           uint32
	cap                    uint32
	batchItems             uint32
	callTimeout            time.Duration
	connectTimeout         time.Duration
	lookupMaxItems         uint32
	lookupMaxSubcalls      uint32
	lookupMaxResponseBytes uint64
	packetSize             uint32
	shm                    shmConfig
}

func nz32(v, d uint32) uint32 {
	if v == 0 {
		return d
	}
	return v
}

func nz64(v, d uint64) uint64 {
	if v == 0 {
		return d
	}
	return v
}

func nzDur(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

func (c ClientConfig) resolve(s schema) (resolved, error) {
	supported := nz32(c.SupportedProfiles, implementedProfiles)
	if supported&^implementedProfiles != 0 {
		return resolved{}, &netipc.ArgError{Reason: "supported profiles include one this implementation lacks"}
	}
	batch := uint32(1)
	if s.batch {
		batch = nz32(c.BatchItems, DefaultBatchItems)
	}
	base := growPow2(uint64(s.minRequest), MinRequestProposal, 0xFFFFFFFF)
	ceiling := nz32(c.MaxPayloadBytes, netipc.MaxPayloadCap)
	var proposal uint32
	switch {
	case c.RequestPayloadBytes != 0:
		proposal = max(c.RequestPayloadBytes, base)
	case s.fixedItem != 0 && batch > 1:
		per := uint64(netipc.DirEntrySize + (s.fixedItem+7)&^7)
		proposal = growPow2(uint64(batch)*per, MinRequestProposal, max(ceiling, base))
	case s.fixedItem != 0:
		proposal = base
	default:
		proposal = max(DefaultDynamicRequestPayload, base)
	}
	hint := c.ResponsePayloadBytes
	if hint == 0 {
		hint = s.responseDefault
		if s.fixedItem != 0 {
			hint = max(hint, proposal)
		}
	}
	ceiling = max(ceiling, proposal, hint)
	return resolved{
		code: s.code, authToken: c.AuthToken, supported: supported,
		preferred:   nz32(c.PreferredProfiles, netipc.ProfileShmHybrid),
		requestBase: base, requestProposal: proposal, responseHint: hint, cap: ceiling, batchItems: batch,
		callTimeout:            nzDur(c.CallTimeout, DefaultCallTimeout),
		connectTimeout:         nzDur(c.ConnectTimeout, DefaultConnectTimeout),
		lookupMaxItems:         nz32(c.LookupMaxItems, DefaultLookupMaxItems),
		lookupMaxSubcalls:      nz32(c.LookupMaxSubcalls, DefaultLookupMaxSubcalls),
		lookupMaxResponseBytes: nz64(c.LookupMaxResponseBytes, DefaultLookupMaxResponseBytes),
		packetSize:             c.PacketSize, shm: c.Shm,
	}, nil
}
