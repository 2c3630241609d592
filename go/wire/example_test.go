package wire_test

import (
	"fmt"

	"netipc.local/netipc"
	"netipc.local/netipc/wire"
)

// The server side of a handshake is a pure function of the HELLO bytes.
func ExampleNegotiate() {
	hello := wire.Hello{
		SupportedProfiles: netipc.ProfileBaseline, PreferredProfiles: netipc.ProfileBaseline,
		MaxRequestPayloadBytes: 4096, MaxRequestBatchItems: 1, MaxResponsePayloadBytes: 65536,
		MaxResponseBatchItems: 1, AuthToken: 0xBE4C400000C0FFEE, PacketSize: 128,
	}.Encode()
	offer := wire.ServerOffer{
		SupportedProfiles: netipc.ProfileBaseline, PreferredProfiles: netipc.ProfileBaseline,
		MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 65536, PacketSize: 65536,
		AuthToken: 0xBE4C400000C0FFEE,
	}
	n := wire.Negotiate(hello[:], offer, 2)
	fmt.Println(n.Decision == wire.Accept, n.Ack.AgreedPacketSize, n.Ack.SessionID)
	// Output: true 128 2
}

// A batch payload: directory plus 8-byte aligned items, zero-copy access.
func ExampleBatchBuilder() {
	b := wire.NewBatchBuilder(nil, 2)
	_ = b.Add([]byte("first"))
	_ = b.Add([]byte("second"))
	payload, _ := b.Finish()

	v, err := wire.DecodeBatch(payload, 2)
	if err != nil {
		panic(err)
	}
	item, _ := v.Item(1)
	fmt.Println(len(payload), string(item))
	// Output: 32 second
}
