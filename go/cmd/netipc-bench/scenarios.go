//go:build linux || windows

package main

import (
	"fmt"
	"strings"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
)

// The settings of BENCHMARKS.md, as crates/netipc-cli/src/cmd/bench/scenario.rs
// has them.
const (
	benchToken           uint64 = 0xBE4C400000C0FFEE
	singleItems          uint32 = 1
	singleRequestBudget  uint32 = 4096
	singleResponseBudget uint32 = 65536
	batchItems           uint32 = 1000
	batchBudget                 = batchItems*48 + 4096 // 52096, both ways
	pipelineDepth               = 16
	xorshiftSeed         uint32 = 12345
	implementation              = "go"
)

// lookupSizes are the key counts of the in-process lookup scenarios.
var lookupSizes = [...]int{1, 16, 256, 8192, 32768}

// kind is what a scenario's client does.
type kind uint8

const (
	kindPingPong      kind = iota + 1 // one INCREMENT in flight
	kindBatchPingPong                 // one INCREMENT batch in flight
	kindSnapshot                      // one CGROUPS_SNAPSHOT call
	kindPipeline                      // 16 INCREMENT requests in flight
	kindPipelineBatch                 // 16 INCREMENT batches in flight
	kindCacheLookup                   // Level 3 cache lookups, in process
	kindLocal                         // encode, dispatch, decode, in process
)

// lookupMethod is the method of an in-process lookup scenario.
type lookupMethod uint8

const (
	methodCgroups lookupMethod = iota + 1 // CGROUPS_LOOKUP
	methodApps                            // APPS_LOOKUP
)

// known says which keys an in-process lookup scenario answers as known.
type known uint8

const (
	knownAll   known = iota + 1 // every key
	knownNone                   // none
	knownMixed                  // the even indexes
)

func (k known) isKnown(i int) bool {
	switch k {
	case knownAll:
		return true
	case knownMixed:
		return i%2 == 0
	}
	return false
}

func (k known) String() string {
	switch k {
	case knownAll:
		return "known"
	case knownNone:
		return "unknown"
	}
	return "mixed"
}

// scenario is one benchmark scenario of BENCHMARKS.md.
type scenario struct {
	name string
	kind kind
	// shm: the server offers and prefers SHM_HYBRID (server scenarios).
	shm bool
	// method, known and n describe a kindLocal scenario.
	method lookupMethod
	known  known
	n      int
}

// scenarios is every scenario, server scenarios first, in the order of
// `netipc bench list`.
var scenarios = allScenarios()

func allScenarios() []scenario {
	v := []scenario{
		{name: "uds-ping-pong", kind: kindPingPong},
		{name: "shm-ping-pong", kind: kindPingPong, shm: true},
		{name: "uds-batch-ping-pong", kind: kindBatchPingPong},
		{name: "shm-batch-ping-pong", kind: kindBatchPingPong, shm: true},
		{name: "snapshot-baseline", kind: kindSnapshot},
		{name: "snapshot-shm", kind: kindSnapshot, shm: true},
		{name: "uds-pipeline", kind: kindPipeline},
		{name: "uds-pipeline-batch", kind: kindPipelineBatch},
		{name: "lookup", kind: kindCacheLookup},
	}
	for _, m := range []lookupMethod{methodCgroups, methodApps} {
		prefix := "cgroups"
		if m == methodApps {
			prefix = "apps"
		}
		for _, k := range []known{knownAll, knownNone, knownMixed} {
			for _, n := range lookupSizes {
				v = append(v, scenario{
					name: fmt.Sprintf("%s-lookup-%s-%d", prefix, k, n),
					kind: kindLocal, method: m, known: k, n: n,
				})
			}
		}
	}
	return v
}

func findScenario(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// inProcess reports whether the scenario runs without a server.
func (s scenario) inProcess() bool { return s.kind == kindCacheLookup || s.kind == kindLocal }

// unit is what throughput counts.
func (s scenario) unit() string {
	switch s.kind {
	case kindBatchPingPong, kindPipelineBatch:
		return "items"
	case kindCacheLookup:
		return "lookups"
	}
	return "calls"
}

// listing is the output of `list`: `NAME server` or `NAME in-process`
// per line, like `netipc bench list`.
func listing() string {
	var b strings.Builder
	for _, s := range scenarios {
		side := "server"
		if s.inProcess() {
			side = "in-process"
		}
		fmt.Fprintf(&b, "%s %s\n", s.name, side)
	}
	return b.String()
}

// serverSide is a server scenario's server and connection settings.
type serverSide struct {
	snapshot        bool // CGROUPS_SNAPSHOT, else INCREMENT
	shm             bool
	batchItems      uint32 // both ways
	requestPayload  uint32
	responsePayload uint32
}

// side returns the scenario's server side (ok false in process).
func (s scenario) side() (serverSide, bool) {
	switch s.kind {
	case kindPingPong, kindPipeline, kindSnapshot:
		return serverSide{snapshot: s.kind == kindSnapshot, shm: s.shm, batchItems: singleItems,
			requestPayload: singleRequestBudget, responsePayload: singleResponseBudget}, true
	case kindBatchPingPong, kindPipelineBatch:
		return serverSide{shm: s.shm, batchItems: batchItems,
			requestPayload: batchBudget, responsePayload: batchBudget}, true
	}
	return serverSide{}, false
}

// profiles are the supported and preferred profile bits: SHM_HYBRID
// where the platform's transport implements it (POSIX SHM on Linux, Win
// SHM on Windows), as the Rust bench's profile bits are.
func (s serverSide) profiles() (supported, preferred uint32) {
	if s.shm {
		shm := netipc.ProfileShmHybrid & implementedProfiles
		return netipc.ProfileBaseline | shm, shm
	}
	return netipc.ProfileBaseline, netipc.ProfileBaseline
}

// xorshift32 is the benchmark's generator of batch sizes.
type xorshift32 uint32

func newXorshift32() xorshift32 { return xorshift32(xorshiftSeed) }

// next is the next raw value (x ^= x << 13; x ^= x >> 17; x ^= x << 5).
func (g *xorshift32) next() uint32 {
	x := uint32(*g)
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	*g = xorshift32(x)
	return x
}

// batchSize is the next batch size: next() % 999 + 2 (2..1000).
func (g *xorshift32) batchSize() int { return int(g.next()%999 + 2) }

// The in-process lookup data of BENCHMARKS.md.

// cgroupsKey is the cgroups key of lookup item i.
func cgroupsKey(i int) []byte { return fmt.Appendf(nil, "/sys/fs/cgroup/bench/cg-%03d", i) }

// appsKey is the PID of lookup item i.
func appsKey(i int) uint32 { return 1000 + uint32(i) }

// The answer of a known cgroups item (its path is echoed from the request).
var (
	cgroupsKnownName   = []byte("bench-pod")
	cgroupsKnownLabels = []codec.Label{
		{Key: []byte("namespace"), Value: []byte("bench")},
		{Key: []byte("image"), Value: []byte("bench:latest")},
	}
	appsKnownLabels = []codec.Label{{Key: []byte("image"), Value: []byte("bench:latest")}}
)

// appsKnownEntry is the answer of a known apps item.
func appsKnownEntry() codec.AppsLookupEntry {
	return codec.AppsLookupEntry{
		Status: codec.PidKnown, CgroupStatus: codec.CgroupKnown, Orchestrator: codec.OrchestratorDocker,
		Ppid: 1, UID: 1000, Starttime: 42, Comm: []byte("bench"),
		CgroupPath: []byte("/sys/fs/cgroup/bench"), CgroupName: []byte("bench-container"),
	}
}

// localBuffer is the in-process buffer size of n keys: n * 256 + 4096
// bytes, at least 65536.
func localBuffer(n int) int { return max(n*256+4096, 65536) }
