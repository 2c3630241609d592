package transport

import (
	"testing"
	"time"
)

func TestDeadline(t *testing.T) {
	var none Deadline
	if !none.Time().IsZero() {
		t.Fatal("the zero Deadline has no end")
	}
	at := time.Now().Add(time.Minute)
	fixed := DeadlineAt(at)
	if !fixed.Time().Equal(at) {
		t.Fatal("DeadlineAt keeps its time")
	}
	before := time.Now()
	d := Within(time.Hour)
	first := d.Time()
	after := time.Now()
	if first.Before(before.Add(time.Hour)) || first.After(after.Add(time.Hour)) {
		t.Fatalf("Within(1h) fixed at %v, not an hour after the first Time", first)
	}
	if !d.Time().Equal(first) {
		t.Fatal("a fixed deadline does not move")
	}
}

// SetAt and SetWithin are DeadlineAt and Within in place, whatever the
// Deadline held before.
func TestDeadlineSetters(t *testing.T) {
	at := time.Now().Add(time.Minute)
	d := Within(time.Hour)
	d.SetAt(at)
	if d != DeadlineAt(at) || !d.Time().Equal(at) {
		t.Fatalf("SetAt: %+v", d)
	}
	d.SetWithin(time.Second)
	if d != Within(time.Second) {
		t.Fatalf("SetWithin over a fixed deadline: %+v", d)
	}
	before := time.Now()
	if got := d.Time(); got.Before(before.Add(time.Second)) {
		t.Fatalf("SetWithin(1s) fixed at %v", got)
	}
}
