package shmturn

import (
	"errors"
	"testing"

	"netipc.local/netipc"
)

func TestCheckSendAndRecvFollowTheTurn(t *testing.T) {
	poison := errors.New("poisoned")
	cases := []struct {
		name       string
		s          State
		send, recv error
	}{
		{"idle client", State{Client: true}, nil, netipc.ErrInvalidState},
		{"client waiting", State{Client: true, InFlight: true}, netipc.ViolationShmBusy, nil},
		{"idle server", State{}, netipc.ErrInvalidState, nil},
		{"server answering", State{InFlight: true}, nil, netipc.ErrInvalidState},
		{"closed", State{Client: true, Closed: true}, netipc.ErrClosed, netipc.ErrClosed},
		{"poisoned first", State{Client: true, Closed: true, Poisoned: poison}, poison, poison},
	}
	for _, c := range cases {
		if err := CheckSend(c.s, 64, 64); !is(err, c.send) {
			t.Errorf("%s: send: want %v, got %v", c.name, c.send, err)
		}
		if err := CheckRecv(c.s); !is(err, c.recv) {
			t.Errorf("%s: recv: want %v, got %v", c.name, c.recv, err)
		}
	}
}

func TestCheckSendSizeNamesTheDirection(t *testing.T) {
	var le *netipc.LimitError
	err := CheckSend(State{Client: true}, 100, 64)
	if !errors.As(err, &le) || le.Limit != netipc.LimitRequestPayload || le.Max != 32 || le.Actual != 68 {
		t.Fatal(err)
	}
	err = CheckSend(State{InFlight: true}, 65, 64)
	if !errors.As(err, &le) || le.Limit != netipc.LimitResponsePayload || le.Actual != 33 {
		t.Fatal(err)
	}
}

func is(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}
