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
