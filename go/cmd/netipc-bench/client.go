//go:build linux || windows

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/service"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// The client workloads of the server scenarios (Level 2 typed clients,
// and a Level 1 session for pipelining), as
// crates/netipc-cli/src/cmd/bench/client.rs has them. Every answer is
// checked; a wrong one fails the run.

// wrong is a wrong answer (exit 1).
func wrong(format string, args ...any) error {
	return fmt.Errorf("wrong answer: "+format, args...)
}

// connectServer connects the client workload of a server scenario to
// {runDir}/{svc}.sock.
func connectServer(sc scenario, side serverSide, runDir, svc string) (workload, error) {
	switch sc.kind {
	case kindPingPong, kindBatchPingPong:
		c, err := connectL2(service.NewIncrementClient(runDir, svc, clientConfig(side)))
		if err != nil {
			return nil, err
		}
		if sc.kind == kindPingPong {
			return &pingPong{c: c}, nil
		}
		return &batchPingPong{c: c, sizes: newXorshift32(), values: make([]uint64, 0, side.batchItems)}, nil
	case kindSnapshot:
		c, err := connectL2(service.NewCgroupsSnapshotClient(runDir, svc, clientConfig(side)))
		if err != nil {
			return nil, err
		}
		return &snapshotCall{c: c, want: codec.BenchSnapshot(0).Items}, nil
	case kindPipeline, kindPipelineBatch:
		return connectPipeline(side, runDir, svc, sc.kind == kindPipelineBatch)
	}
	return nil, fmt.Errorf("%s has no server", sc.name)
}

// clientConfig is the Level 2 client configuration of a server side.
func clientConfig(side serverSide) service.ClientConfig {
	sup, pref := side.profiles()
	return service.ClientConfig{
		AuthToken: benchToken, SupportedProfiles: sup, PreferredProfiles: pref,
		RequestPayloadBytes: side.requestPayload, ResponsePayloadBytes: side.responsePayload,
		BatchItems: side.batchItems,
	}
}

// l2Client is what connectL2 needs of a typed client.
type l2Client interface {
	Refresh() bool
	State() service.ClientState
	Close() error
}

// connectL2 refreshes a new typed client once and fails (closing it) when
// it is not READY.
func connectL2[C l2Client](c C, err error) (C, error) {
	if err != nil {
		return c, err
	}
	c.Refresh()
	if err := readyError(c.State()); err != nil {
		_ = c.Close()
		return c, err
	}
	return c, nil
}

// readyError turns a client state after Refresh into the run's outcome,
// wrapping the sentinel that selects the exit code (see exitCode).
func readyError(st service.ClientState) error {
	switch st {
	case service.StateReady:
		return nil
	case service.StateNotFound:
		return fmt.Errorf("%w: no service is listening", netipc.ErrNotFound)
	case service.StateAuthFailed:
		return fmt.Errorf("%w: the service rejected the auth token", netipc.ErrAuthFailed)
	case service.StateIncompatible:
		return fmt.Errorf("%w: the service is incompatible", netipc.ErrIncompatible)
	}
	return errors.New("not ready: " + st.String())
}

// pingPong is *-ping-pong: one INCREMENT in flight, continuing from the
// answer.
type pingPong struct {
	c       *service.IncrementClient
	counter uint64
}

func (w *pingPong) step() (uint64, error) {
	got, err := w.c.Call(w.counter)
	if err != nil {
		return 0, fmt.Errorf("increment call: %w", err)
	}
	if got != w.counter+1 {
		return 0, wrong("increment(%d) = %d", w.counter, got)
	}
	w.counter = got
	return 1, nil
}

func (w *pingPong) close() { _ = w.c.Close() }

// batchPingPong is *-batch-ping-pong: one batch in flight, sizes from the
// generator, values counter..counter+n-1.
type batchPingPong struct {
	c       *service.IncrementClient
	counter uint64
	sizes   xorshift32
	values  []uint64
}

func (w *batchPingPong) step() (uint64, error) {
	n := w.sizes.batchSize()
	w.values = slices.Grow(w.values[:0], n)[:n]
	for k := range w.values {
		w.values[k] = w.counter + uint64(k)
	}
	answers, err := w.c.CallBatch(w.values)
	if err != nil {
		return 0, fmt.Errorf("increment batch call: %w", err)
	}
	if len(answers) != n {
		return 0, wrong("%d answers to a batch of %d", len(answers), n)
	}
	answers = answers[:len(w.values)]
	for i, v := range w.values {
		if answers[i] != v+1 {
			return 0, wrong("increment(%d) = %d in a batch", v, answers[i])
		}
	}
	w.counter += uint64(n)
	return uint64(n), nil
}

func (w *batchPingPong) close() { _ = w.c.Close() }

// snapshotCall is snapshot-*: one snapshot call, 16 items checked.
type snapshotCall struct {
	c    *service.CgroupsSnapshotClient
	want []codec.CgroupItem
	it   codec.CgroupItemView
}

func (w *snapshotCall) step() (uint64, error) {
	v, err := w.c.CallSnapshot()
	if err != nil {
		return 0, fmt.Errorf("snapshot call: %w", err)
	}
	if v.Len() != len(w.want) {
		return 0, wrong("snapshot of %d items, expected %d", v.Len(), len(w.want))
	}
	for i := range v.Len() {
		v.ItemInto(i, &w.it)
		want := &w.want[i]
		if w.it.Hash != want.Hash || w.it.Enabled != want.Enabled ||
			!bytes.Equal(w.it.Name, want.Name) || !bytes.Equal(w.it.Path, want.Path) {
			return 0, wrong("snapshot item %d", i)
		}
	}
	return 1, nil
}

func (w *snapshotCall) close() { _ = w.c.Close() }

// pipelineSlot is one request of a pipelined round.
type pipelineSlot struct {
	id, first uint64
	n         int
}

// pipeline is uds-pipeline / uds-pipeline-batch: 16 requests (or batches
// of generated sizes) sent, then their 16 responses read and checked. One
// round is one operation.
type pipeline struct {
	s       *l1Session
	timeout time.Duration
	counter uint64
	batch   bool
	sizes   xorshift32
	slots   [pipelineDepth]pipelineSlot
	tx      [pipelineDepth][]byte // per-slot request payloads
}

// connectPipeline connects a Level 1 baseline session for pipelining
// (UDS on Linux, a Named Pipe on Windows; SHM carries one request at a
// time) with the side's budgets and batch items both ways and 16
// requests in flight.
func connectPipeline(side serverSide, runDir, svc string, batch bool) (*pipeline, error) {
	ep, err := transport.NewEndpoint(runDir, svc)
	if err != nil {
		return nil, err
	}
	sup, pref := side.profiles()
	cfg := l1Config{
		SupportedProfiles: sup, PreferredProfiles: pref,
		MaxRequestPayloadBytes: side.requestPayload, MaxRequestBatchItems: side.batchItems,
		MaxResponsePayloadBytes: side.responsePayload, MaxResponseBatchItems: side.batchItems,
		ResponsePayloadCap: max(netipc.MaxPayloadCap, side.responsePayload),
		AuthToken:          benchToken,
		MaxInFlight:        pipelineDepth,
	}
	timeout := service.DefaultCallTimeout
	s, err := l1Connect(ep, cfg, time.Now().Add(timeout))
	if err != nil {
		return nil, err
	}
	s.SetSendTimeout(timeout)
	w := &pipeline{s: s, timeout: timeout, batch: batch, sizes: newXorshift32()}
	for k := range w.tx {
		w.tx[k] = make([]byte, 0, side.requestPayload)
	}
	return w, nil
}

// send sends slot k's request.
func (w *pipeline) send(k int) error {
	n := 1
	if w.batch {
		n = w.sizes.batchSize()
	}
	first := w.counter
	w.counter += uint64(n)
	id := w.s.NextMessageID()
	w.slots[k] = pipelineSlot{id: id, first: first, n: n}
	if n == 1 {
		w.tx[k] = codec.AppendIncrement(w.tx[k][:0], first)
		return w.s.SendRequest(netipc.MethodIncrement, id, w.tx[k])
	}
	// The layout a BatchBuilder makes, written in one pass.
	payload, area, err := wire.AppendUniformBatch(w.tx[k][:0], uint32(n), codec.IncrementPayloadSize)
	if err != nil {
		return err
	}
	items := payload[area:]
	for j := range n {
		*(*[codec.IncrementPayloadSize]byte)(items[j*codec.IncrementPayloadSize:]) = codec.EncodeIncrement(first + uint64(j))
	}
	w.tx[k] = payload
	h := wire.RequestHeader(netipc.MethodIncrement, id, uint32(len(payload)))
	h.Flags, h.ItemCount = netipc.FlagBatch, uint32(n)
	return w.s.SendMessage(h, payload)
}

func (w *pipeline) step() (uint64, error) {
	for k := range pipelineDepth {
		if err := w.send(k); err != nil {
			return 0, fmt.Errorf("pipelined request: %w", err)
		}
	}
	deadline := transport.Within(w.timeout)
	var units uint64
	for range pipelineDepth {
		m, err := w.s.RecvResponseWithin(&deadline, nil)
		if err != nil {
			return 0, fmt.Errorf("pipelined request: %w", err)
		}
		if !m.IsOK() {
			return 0, fmt.Errorf("pipelined request: %w", &netipc.StatusError{Status: m.Header.TransportStatus})
		}
		slot, ok := w.slot(m.Header.MessageID)
		if !ok {
			return 0, wrong("response to unknown message id %d", m.Header.MessageID)
		}
		if m.ItemCount() != slot.n {
			return 0, wrong("%d answers to a batch of %d", m.ItemCount(), slot.n)
		}
		item0, _ := m.Item(0)
		if err := checkIncrements(item0, m.Batch(), slot); err != nil {
			return 0, err
		}
		units += uint64(slot.n)
	}
	return units, nil
}

// checkIncrements checks the answers of slot's request (the payload of a
// single answer, or the batch): each its value plus one.
func checkIncrements(single []byte, batch wire.BatchView, slot pipelineSlot) error {
	check := func(j int, item []byte) error {
		v := slot.first + uint64(j)
		got, err := codec.DecodeIncrement(item)
		if err != nil {
			return err
		}
		if got != v+1 {
			return wrong("increment(%d) = %d", v, got)
		}
		return nil
	}
	if slot.n == 1 {
		return check(0, single)
	}
	dir, area := batch.Parts()
	for j := range slot.n {
		e := dir[j*netipc.DirEntrySize:]
		off, size := binary.NativeEndian.Uint32(e), binary.NativeEndian.Uint32(e[4:])
		// The directory was validated: every item is inside the area.
		if err := check(j, area[off:off+size]); err != nil {
			return err
		}
	}
	return nil
}

func (w *pipeline) slot(id uint64) (pipelineSlot, bool) {
	for _, s := range w.slots {
		if s.id == id {
			return s, true
		}
	}
	return pipelineSlot{}, false
}

func (w *pipeline) close() { _ = w.s.Close() }
