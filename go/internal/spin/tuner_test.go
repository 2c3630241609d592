package spin

import (
	"testing"
	"time"
)

func TestTuner(t *testing.T) {
	tu := New(20 * time.Microsecond)
	if tu.NextBudget() != tu.Max() {
		t.Fatal("a fresh tuner starts at the full budget")
	}
	for range 100 {
		_ = tu.NextBudget()
		tu.Record(2000, true)
	}
	if tu.Budget() < 3500 || tu.Budget() > 4500 {
		t.Fatal(tu.Budget())
	}
	for range 100 {
		_ = tu.NextBudget()
		tu.Record(int64(time.Second), false)
	}
	if tu.Budget() != int64(MinSpin) {
		t.Fatal(tu.Budget())
	}
	probes := 0
	for range ProbeEvery * 3 {
		if tu.NextBudget() == tu.Max() {
			probes++
			tu.Record(int64(time.Second), false)
		}
	}
	if probes != 3 {
		t.Fatal(probes)
	}
	// A probe that catches a short wait restores a spin budget.
	for tu.NextBudget() != tu.Max() {
		tu.Record(int64(time.Second), false)
	}
	tu.Record(1000, true)
	if tu.Budget() != 2000 {
		t.Fatal(tu.Budget())
	}
	off := New(0)
	if off.NextBudget() != 0 {
		t.Fatal("disabled spin")
	}
}

// Spins that keep failing even though waits are short (the peer needs
// this core) collapse the budget.
func TestTunerFailures(t *testing.T) {
	tu := New(50 * time.Microsecond)
	for range 100 {
		_ = tu.NextBudget()
		tu.Record(1000, false)
	}
	if tu.Budget() != int64(MinSpin) {
		t.Fatal(tu.Budget())
	}
}

// A scaled tuner spins for that multiple of the average wait, up to max.
func TestTunerScaled(t *testing.T) {
	tu := NewScaled(50*time.Microsecond, 8)
	for range 200 {
		_ = tu.NextBudget()
		tu.Record(3000, true)
	}
	if tu.Budget() < 23000 || tu.Budget() > 25000 {
		t.Fatal(tu.Budget())
	}
	for range 200 {
		_ = tu.NextBudget()
		tu.Record(10000, true)
	}
	if tu.Budget() != tu.Max() {
		t.Fatal(tu.Budget())
	}
	for range 100 {
		_ = tu.NextBudget()
		tu.Record(int64(time.Second), false)
	}
	if tu.Budget() != int64(MinSpin) {
		t.Fatal(tu.Budget())
	}
}
