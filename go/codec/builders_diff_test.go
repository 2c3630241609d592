package codec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Differential tests: the builders write exactly the bytes, return
// exactly the statuses and fail with exactly the errors of the reference
// builders (refbuilders_test.go), whatever the budgets, statuses, strings
// and labels, valid or not, and with labels given as []Label or LabelSet.

func errStr(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%T %v", err, err)
}

type diffGen struct{ r *rand.Rand }

// str returns a short string; bad sometimes puts a NUL in it.
func (g diffGen) str(maxLen int, bad bool) []byte {
	n := g.r.IntN(maxLen + 1)
	s := make([]byte, n)
	for i := range s {
		s[i] = byte('a' + g.r.IntN(26))
	}
	if bad && n > 0 && g.r.IntN(12) == 0 {
		s[g.r.IntN(n)] = 0
	}
	return s
}

func (g diffGen) labels(bad bool) []Label {
	var ls []Label
	switch g.r.IntN(6) {
	case 0, 1:
		return nil
	case 2:
		ls = make([]Label, 1)
	case 3:
		ls = make([]Label, 2)
	default:
		ls = make([]Label, 1+g.r.IntN(4))
	}
	for i := range ls {
		ls[i] = Label{Key: g.str(12, bad), Value: g.str(20, bad)}
		if len(ls[i].Key) == 0 && (!bad || g.r.IntN(3) != 0) {
			ls[i].Key = []byte("k")
		}
	}
	return ls
}

// budget returns a budget around what n items of about avg bytes need.
func (g diffGen) budget(n, avg int) int {
	base := LookupRespHdrSize + n*LookupDirEntrySize
	switch g.r.IntN(5) {
	case 0:
		return -1 // unset
	case 1:
		return g.r.IntN(base + 1)
	default:
		return base + g.r.IntN(n*avg+64)
	}
}

func TestCgroupsBuilderMatchesReference(t *testing.T) {
	g := diffGen{rand.New(rand.NewPCG(1, 2))}
	var b CgroupsLookupBuilder
	for round := range 20000 {
		n := g.r.IntN(10)
		ps := make([][]byte, n)
		for i := range ps {
			ps[i] = g.str(40, false)
			if len(ps[i]) == 0 {
				ps[i] = []byte("/")
			}
		}
		req := must(DecodeCgroupsLookupRequest(must(AppendCgroupsLookupRequest(nil, ps))))
		var ref refCgroupsBuilder
		if round%3 != 0 {
			b = CgroupsLookupBuilder{} // else reuse: buffers full of old bytes
		}
		if bud := g.budget(n, 120); bud >= 0 {
			maxBud := bud + g.r.IntN(200)
			if g.r.IntN(3) == 0 {
				maxBud = bud
			}
			b.SetBudget(bud, maxBud)
			ref.SetBudget(bud, maxBud)
		} else if round%3 == 0 {
			b.SetBudget(MaxBudget, MaxBudget)
		}
		gen := g.r.Uint64()
		if g.r.IntN(4) == 0 {
			must(0, b.ResetForPaths(gen, ps))
			must(0, ref.ResetForPaths(gen, ps))
		} else {
			b.Reset(gen, req)
			ref.Reset(gen, req)
		}
		for i := 0; i < n+1; i++ {
			status := LookupStatus(g.r.IntN(6))
			if g.r.IntN(3) != 0 {
				status = LookupKnown
			}
			var orch Orchestrator
			var name []byte
			var labels []Label
			if status == LookupKnown || g.r.IntN(8) == 0 {
				orch = Orchestrator(g.r.IntN(4))
				name = g.str(30, true)
				labels = g.labels(true)
			}
			idx := i
			if g.r.IntN(40) == 0 {
				idx = g.r.IntN(n + 2)
			}
			var got, want LookupStatus
			var gotErr, wantErr error
			switch op := g.r.IntN(7); op {
			case 0, 1:
				got, gotErr = b.AddRequestItem(req, idx, status, orch, name, labels)
				want, wantErr = ref.AddRequestItem(req, idx, status, orch, name, labels)
			case 2, 3:
				set, err := NewLabelSet(labels)
				if _, merr := refMeasureLabels(labels); errStr(err) != errStr(merr) {
					t.Fatalf("round %d: NewLabelSet: %v, reference: %v", round, err, merr)
				}
				if err != nil {
					continue
				}
				if op == 2 {
					got, gotErr = b.AddRequestItemWithLabelSet(req, idx, status, orch, name, set)
				} else {
					path := []byte("/x")
					if i < n {
						path = ps[i]
					}
					got, gotErr = b.AddWithLabelSet(path, status, orch, name, set)
					want, wantErr = ref.Add(path, status, orch, name, labels)
					break
				}
				want, wantErr = ref.AddRequestItem(req, idx, status, orch, name, labels)
			case 4:
				path := []byte("/x")
				if i < n {
					path = ps[i]
				}
				if g.r.IntN(10) == 0 {
					path = g.str(5, true)
				}
				got, gotErr = b.Add(path, status, orch, name, labels)
				want, wantErr = ref.Add(path, status, orch, name, labels)
			case 5:
				got, gotErr = b.AddRequestUnknown(req, idx, status)
				want, wantErr = ref.AddRequestUnknown(req, idx, status)
			default:
				path := []byte("/x")
				if i < n {
					path = ps[i]
				}
				got, gotErr = b.AddUnknown(path, status)
				want, wantErr = ref.AddUnknown(path, status)
			}
			if got != want || errStr(gotErr) != errStr(wantErr) {
				t.Fatalf("round %d item %d: got %v %v, want %v %v", round, i, got, gotErr, want, wantErr)
			}
			if b.EncodedLen() != ref.EncodedLen() || b.IsExceeded() != ref.IsExceeded() || b.IsOverBudget() != ref.IsOverBudget() {
				t.Fatalf("round %d item %d: state differs", round, i)
			}
			if g.r.IntN(20) == 0 {
				gen = g.r.Uint64()
				b.SetGeneration(gen)
				ref.SetGeneration(gen)
			}
		}
		p, err := b.Finish()
		rp, rerr := ref.Finish()
		if !bytes.Equal(p, rp) || errStr(err) != errStr(rerr) {
			t.Fatalf("round %d: finish differs: %v / %v", round, err, rerr)
		}
	}
}

func (g diffGen) entry() (AppsLookupEntry, []Label) {
	e := AppsLookupEntry{
		Status: PidKnown, CgroupStatus: CgroupKnown, Orchestrator: Orchestrator(g.r.IntN(4)),
		Ppid: g.r.Uint32N(3), UID: g.r.Uint32(), Starttime: g.r.Uint64N(3),
		Comm: g.str(16, true), CgroupPath: g.str(30, true), CgroupName: g.str(20, true),
	}
	labels := g.labels(true)
	switch g.r.IntN(10) {
	case 0:
		e = AppsLookupUnknownEntry()
		labels = nil
	case 1:
		e.Status = PidStatus(g.r.IntN(5))
	case 2:
		e.CgroupStatus = CgroupStatus(g.r.IntN(5))
	case 3:
		e = AppsLookupEntry{Status: PidStatus(g.r.IntN(5)), UID: UIDUnset}
		if g.r.IntN(2) == 0 {
			labels = nil
		}
	case 4:
		e.CgroupStatus = CgroupStatus(1 + g.r.IntN(3))
		e.Orchestrator, e.CgroupName, labels = 0, nil, nil
		if e.CgroupStatus == CgroupHostRoot {
			e.CgroupPath = nil
		}
	}
	return e, labels
}

func TestAppsBuilderMatchesReference(t *testing.T) {
	g := diffGen{rand.New(rand.NewPCG(3, 4))}
	var b AppsLookupBuilder
	for round := range 20000 {
		n := g.r.IntN(10)
		pids := make([]uint32, n)
		for i := range pids {
			pids[i] = g.r.Uint32()
		}
		req := must(DecodeAppsLookupRequest(must(AppendAppsLookupRequest(nil, pids))))
		var ref refAppsBuilder
		if round%3 != 0 {
			b = AppsLookupBuilder{}
		}
		if bud := g.budget(n, 130); bud >= 0 {
			maxBud := bud + g.r.IntN(200)
			b.SetBudget(bud, maxBud)
			ref.SetBudget(bud, maxBud)
		} else if round%3 == 0 {
			b.SetBudget(MaxBudget, MaxBudget)
		}
		gen := g.r.Uint64()
		if g.r.IntN(4) == 0 {
			b.ResetForCount(gen, uint32(n))
			ref.ResetForCount(gen, uint32(n))
		} else {
			b.Reset(gen, req)
			ref.Reset(gen, req)
		}
		for i := 0; i < n+1; i++ {
			e, labels := g.entry()
			idx := i
			if g.r.IntN(40) == 0 {
				idx = g.r.IntN(n + 2)
			}
			pid := g.r.Uint32()
			var got, want PidStatus
			var gotErr, wantErr error
			switch op := g.r.IntN(7); op {
			case 0, 1:
				got, gotErr = b.AddRequestItem(req, idx, &e, labels)
				want, wantErr = ref.AddRequestItem(req, idx, &e, labels)
			case 2, 3:
				set, err := NewLabelSet(labels)
				if _, merr := refMeasureLabels(labels); errStr(err) != errStr(merr) {
					t.Fatalf("round %d: NewLabelSet: %v, reference: %v", round, err, merr)
				}
				if err != nil {
					continue
				}
				if op == 2 {
					got, gotErr = b.AddRequestItemWithLabelSet(req, idx, &e, set)
					want, wantErr = ref.AddRequestItem(req, idx, &e, labels)
				} else {
					got, gotErr = b.AddWithLabelSet(pid, &e, set)
					want, wantErr = ref.Add(pid, &e, labels)
				}
			case 4:
				got, gotErr = b.Add(pid, &e, labels)
				want, wantErr = ref.Add(pid, &e, labels)
			case 5:
				got, gotErr = b.AddRequestUnknown(req, idx)
				want, wantErr = ref.AddRequestUnknown(req, idx)
			default:
				got, gotErr = b.AddUnknown(pid)
				want, wantErr = ref.AddUnknown(pid)
			}
			if got != want || errStr(gotErr) != errStr(wantErr) {
				t.Fatalf("round %d item %d: got %v %v, want %v %v", round, i, got, gotErr, want, wantErr)
			}
			if b.EncodedLen() != ref.EncodedLen() || b.IsExceeded() != ref.IsExceeded() || b.IsOverBudget() != ref.IsOverBudget() {
				t.Fatalf("round %d item %d: state differs", round, i)
			}
		}
		p, err := b.Finish()
		rp, rerr := ref.Finish()
		if !bytes.Equal(p, rp) || errStr(err) != errStr(rerr) {
			t.Fatalf("round %d: finish differs: %v / %v", round, err, rerr)
		}
	}
}

// The owned responses' AppendTo (unlimited budget, statuses kept) match
// the reference builder in verbatim mode.
func TestOwnedResponsesMatchReference(t *testing.T) {
	g := diffGen{rand.New(rand.NewPCG(5, 6))}
	for round := range 10000 {
		var cr CgroupsLookupResponse
		cr.Generation = g.r.Uint64()
		var ref refCgroupsBuilder
		ref.core.verbatim = true
		for range g.r.IntN(6) {
			it := CgroupsLookupItem{Status: LookupStatus(g.r.IntN(6)), Path: g.str(30, true)}
			if it.Status == LookupKnown || g.r.IntN(8) == 0 {
				it.Orchestrator = Orchestrator(g.r.IntN(4))
				it.Name = g.str(20, true)
				it.Labels = g.labels(true)
			}
			cr.Items = append(cr.Items, it)
			ref.keyLens = append(ref.keyLens, len(it.Path))
		}
		ref.start(cr.Generation)
		var rerr error
		for i := range cr.Items {
			it := &cr.Items[i]
			if _, rerr = ref.Add(it.Path, it.Status, it.Orchestrator, it.Name, it.Labels); rerr != nil {
				break
			}
		}
		var want []byte
		if rerr == nil {
			want, rerr = ref.Finish()
		}
		got, err := cr.AppendTo([]byte{9})
		if errStr(err) != errStr(rerr) || (err == nil && !bytes.Equal(got[1:], want)) || (err != nil && len(got) != 1) {
			t.Fatalf("round %d: cgroups AppendTo: %v, reference: %v", round, err, rerr)
		}

		var ar AppsLookupResponse
		ar.Generation = g.r.Uint64()
		var aref refAppsBuilder
		aref.core.verbatim = true
		for range g.r.IntN(6) {
			e, labels := g.entry()
			ar.Items = append(ar.Items, AppsLookupItem{Pid: g.r.Uint32(), AppsLookupEntry: e, Labels: labels})
		}
		aref.ResetForCount(ar.Generation, uint32(len(ar.Items)))
		rerr = nil
		for i := range ar.Items {
			it := &ar.Items[i]
			if _, rerr = aref.Add(it.Pid, &it.AppsLookupEntry, it.Labels); rerr != nil {
				break
			}
		}
		want = nil
		if rerr == nil {
			want, rerr = aref.Finish()
		}
		got, err = ar.AppendTo([]byte{9})
		if errStr(err) != errStr(rerr) || (err == nil && !bytes.Equal(got[1:], want)) || (err != nil && len(got) != 1) {
			t.Fatalf("round %d: apps AppendTo: %v, reference: %v", round, err, rerr)
		}
	}
}
