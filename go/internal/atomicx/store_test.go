package atomicx

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestStoresWriteTheWholeWord(t *testing.T) {
	var w32 [3]uint32
	StoreRel32(&w32[1], 0xdeadbeef)
	if w32 != [3]uint32{0, 0xdeadbeef, 0} {
		t.Fatalf("StoreRel32 wrote %#x", w32)
	}
	var w64 [3]uint64
	StoreRel64(&w64[1], 0x0123456789abcdef)
	if w64 != [3]uint64{0, 0x0123456789abcdef, 0} {
		t.Fatalf("StoreRel64 wrote %#x", w64)
	}
}

// A reader that observes the sequence word sees the plain data writes made
// before it (message passing through a release store and an acquire load).
// The data accesses are plain on purpose (that is what a publication
// does), which the race detector cannot pair with an assembly store: the
// test is skipped under -race (see race_test.go).
func TestReleaseOrdersEarlierWrites(t *testing.T) {
	if raceEnabled {
		t.Skip("plain data accesses paired by an assembly store")
	}
	const rounds = 200000
	var data [8]uint64
	var seq uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for want := uint64(1); want <= rounds; want++ {
			for atomic.LoadUint64(&seq) != want {
			}
			for i := range data {
				if got := data[i]; got != want {
					t.Errorf("round %d: data[%d] = %d", want, i, got)
					return
				}
			}
			StoreRel64(&seq, want+rounds) // hand the turn back
		}
	}()
	for r := uint64(1); r <= rounds; r++ {
		for i := range data {
			data[i] = r
		}
		StoreRel64(&seq, r)
		for atomic.LoadUint64(&seq) != r+rounds {
		}
	}
	wg.Wait()
}
