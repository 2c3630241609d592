//go:build linux

package uds_test

import (
	"fmt"
	"os"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/uds"
)

// Level 1: a listener whose handshakes run off the accept path, and a
// client session.
func Example() {
	dir, _ := os.MkdirTemp("", "netipc-example")
	defer os.RemoveAll(dir)
	ep, _ := transport.NewEndpoint(dir, "increment")

	l, err := uds.Listen(ep)
	if err != nil {
		panic(err)
	}
	defer l.Close()
	go func() {
		p, err := l.Accept(time.Time{}, nil) // never reads from the peer
		if err != nil {
			return
		}
		s, err := p.Handshake(uds.ServerConfig{AuthToken: 7}, time.Now().Add(5*time.Second), nil)
		if err != nil {
			return
		}
		defer s.Close()
		m, err := s.RecvRequest(time.Time{}, nil)
		if err != nil {
			return
		}
		v, _ := codec.DecodeIncrement(m.Payload)
		_ = s.SendResponse(m.Header.Code, m.Header.MessageID, codec.AppendIncrement(nil, v+1))
	}()

	c, err := uds.Connect(ep, uds.ClientConfig{AuthToken: 7}, time.Now().Add(5*time.Second), nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	m, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 41), time.Now().Add(5*time.Second), nil)
	if err != nil {
		panic(err)
	}
	v, _ := codec.DecodeIncrement(m.Payload)
	fmt.Println(v)
	// Output: 42
}
