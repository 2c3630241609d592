package netipc_test

import (
	"errors"
	"fmt"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// Errors carry a sentinel for errors.Is and a rich value for errors.As.
func Example_errors() {
	_, err := codec.DecodeIncrement([]byte{1, 2, 3})
	var de *netipc.DecodeError
	fmt.Println(errors.Is(err, netipc.ErrProtocol), errors.As(err, &de), de.Kind)

	err = &netipc.StatusError{Status: netipc.StatusAuthFailed}
	fmt.Println(errors.Is(err, netipc.ErrAuthFailed), errors.Is(err, netipc.ErrPeerStatus))
	// Output:
	// true true truncated
	// true true
}
