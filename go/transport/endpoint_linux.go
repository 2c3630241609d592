//go:build linux

package transport

import "netipc.local/netipc"

// checkPlatform rejects a socket path that does not fit sockaddr_un.
func (e Endpoint) checkPlatform() error {
	if len(e.SocketPath()) >= SunPathMax {
		return &netipc.ArgError{Reason: "socket path too long for sun_path"}
	}
	return nil
}
