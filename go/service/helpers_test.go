//go:build linux || windows

package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"netipc.local/netipc"
)

const token = 0xBE4C400000C0FFEE

// started returns a function that checks a server constructor's result
// and stops the server at cleanup: started(t)(NewXxxServer(...)).
func started(t testing.TB) func(*Server, error) *Server {
	return func(s *Server, err error) *Server {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Stop() })
		return s
	}
}

func refreshReady(t testing.TB, c interface {
	Refresh() bool
	Ready() bool
	State() ClientState
}) {
	t.Helper()
	c.Refresh()
	if !c.Ready() {
		t.Fatalf("not ready: %v", c.State())
	}
}

func wantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want %v, got %v", target, err)
	}
}

// srvCfgFor serves the baseline and profile, preferring profile.
func srvCfgFor(dir, service string, profile uint32) ServerConfig {
	return ServerConfig{RunDir: dir, Service: service, AuthToken: token,
		SupportedProfiles: netipc.ProfileBaseline | profile, PreferredProfiles: profile}
}

func cliCfgFor(profile uint32) ClientConfig {
	return ClientConfig{AuthToken: token, SupportedProfiles: netipc.ProfileBaseline | profile, PreferredProfiles: profile}
}

type statusReporter interface{ Status() ClientStatus }

func wantProfile(t testing.TB, c statusReporter, profile uint32) {
	t.Helper()
	st := c.Status()
	if st.SelectedProfile != profile || st.ShmAttached != (profile != netipc.ProfileBaseline) {
		t.Fatalf("%+v", st)
	}
}

// Call timeouts, aborts and contexts over each profile of the platform
// (testProfiles).
func TestTimeoutAbortAndContext(t *testing.T) {
	for _, p := range testProfiles {
		t.Run(p.name, func(t *testing.T) {
			dir := testRunDir(t)
			release := make(chan struct{})
			defer close(release)
			started(t)(NewIncrementServer(srvCfgFor(dir, "slow", p.profile), func(v uint64) (uint64, error) {
				if v == 0 {
					select {
					case <-release:
					case <-time.After(10 * time.Second):
					}
				}
				return v + 1, nil
			}))
			c, _ := NewIncrementClient(dir, "slow", cliCfgFor(p.profile))
			defer c.Close()
			refreshReady(t, c)
			wantProfile(t, c, p.profile)
			c.SetCallTimeout(50 * time.Millisecond)
			_, err := c.Call(0)
			wantIs(t, err, netipc.ErrTimeout)
			if c.State() != StateBroken || c.Status().Retries != 0 {
				t.Fatal("timeout must break the session without retry", c.State())
			}
			c.SetCallTimeout(0)
			refreshReady(t, c)
			go func() { time.Sleep(30 * time.Millisecond); c.Abort() }()
			_, err = c.Call(0)
			wantIs(t, err, netipc.ErrAborted)
			_, err = c.Call(1) // sticky
			wantIs(t, err, netipc.ErrAborted)
			c.ClearAbort()
			refreshReady(t, c)
			ctx, cancel := context.WithCancel(context.Background())
			go func() { time.Sleep(30 * time.Millisecond); cancel() }()
			_, err = c.CallContext(ctx, 0)
			wantIs(t, err, netipc.ErrAborted)
			wantIs(t, err, context.Canceled)
			refreshReady(t, c)
			if got, err := c.Call(7); err != nil || got != 8 {
				t.Fatal("a context cancellation must not stick", err)
			}
			dctx, dcancel := context.WithTimeout(context.Background(), 40*time.Millisecond)
			defer dcancel()
			_, err = c.CallContext(dctx, 0)
			wantIs(t, err, netipc.ErrTimeout)
			wantIs(t, err, context.DeadlineExceeded)
		})
	}
}
