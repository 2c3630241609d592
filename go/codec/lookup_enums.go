package codec

import "strconv"

// LookupStatus is the per-item status of a CGROUPS_LOOKUP response item.
// Decoders reject values not defined here.
type LookupStatus uint16

// CGROUPS_LOOKUP item statuses.
const (
	// LookupKnown: the provider knows the cgroup; name, labels and
	// orchestrator are meaningful.
	LookupKnown LookupStatus = 0
	// LookupUnknownRetryLater: not known yet; asking again later may succeed.
	LookupUnknownRetryLater LookupStatus = 1
	// LookupUnknownPermanent: not known and will not become known in this
	// provider generation.
	LookupUnknownPermanent LookupStatus = 2
	// LookupPayloadExceeded: the response budget was reached at this item;
	// Level 2 retries it.
	LookupPayloadExceeded LookupStatus = 3
	// LookupOversizedItem: the item cannot fit by itself in the maximum
	// budget; a final outcome.
	LookupOversizedItem LookupStatus = 4
)

var lookupStatusNames = []string{"KNOWN", "UNKNOWN_RETRY_LATER", "UNKNOWN_PERMANENT", "PAYLOAD_EXCEEDED", "OVERSIZED_ITEM"}

// Valid reports whether s is a defined value.
func (s LookupStatus) Valid() bool { return int(s) < len(lookupStatusNames) }

// String returns the specification name (or the number if undefined).
func (s LookupStatus) String() string { return enumName(lookupStatusNames, uint16(s)) }

// ParseLookupStatus parses a specification name (exact, case-sensitive).
func ParseLookupStatus(name string) (LookupStatus, bool) {
	v, ok := enumParse(lookupStatusNames, name)
	return LookupStatus(v), ok
}

// PidStatus is the PID status of an APPS_LOOKUP response item. Decoders
// reject values not defined here.
type PidStatus uint16

// APPS_LOOKUP PID statuses.
const (
	// PidKnown: the provider knows the process.
	PidKnown PidStatus = 0
	// PidUnknown: the provider does not know this PID.
	PidUnknown PidStatus = 1
	// PidPayloadExceeded: the response budget was reached at this item;
	// Level 2 retries it.
	PidPayloadExceeded PidStatus = 2
	// PidOversizedItem: the item cannot fit by itself in the maximum
	// budget; a final outcome.
	PidOversizedItem PidStatus = 3
)

var pidStatusNames = []string{"KNOWN", "UNKNOWN", "PAYLOAD_EXCEEDED", "OVERSIZED_ITEM"}

// Valid reports whether s is a defined value.
func (s PidStatus) Valid() bool { return int(s) < len(pidStatusNames) }

// String returns the specification name (or the number if undefined).
func (s PidStatus) String() string { return enumName(pidStatusNames, uint16(s)) }

// ParsePidStatus parses a specification name (exact, case-sensitive).
func ParsePidStatus(name string) (PidStatus, bool) {
	v, ok := enumParse(pidStatusNames, name)
	return PidStatus(v), ok
}

// CgroupStatus is the cgroup status of an APPS_LOOKUP response item
// (meaningful only when the PID status is KNOWN; 0 otherwise). Decoders
// reject values not defined here.
type CgroupStatus uint16

// APPS_LOOKUP cgroup statuses.
const (
	// CgroupKnown: the process cgroup is known: path, name, labels,
	// orchestrator.
	CgroupKnown CgroupStatus = 0
	// CgroupUnknownRetryLater: the cgroup is not known yet (the path may be
	// empty).
	CgroupUnknownRetryLater CgroupStatus = 1
	// CgroupUnknownPermanent: the cgroup path is known but will never be
	// enriched.
	CgroupUnknownPermanent CgroupStatus = 2
	// CgroupHostRoot: the process lives in the host root cgroup.
	CgroupHostRoot CgroupStatus = 3
)

var cgroupStatusNames = []string{"KNOWN", "UNKNOWN_RETRY_LATER", "UNKNOWN_PERMANENT", "HOST_ROOT"}

// Valid reports whether s is a defined value.
func (s CgroupStatus) Valid() bool { return int(s) < len(cgroupStatusNames) }

// String returns the specification name (or the number if undefined).
func (s CgroupStatus) String() string { return enumName(cgroupStatusNames, uint16(s)) }

// ParseCgroupStatus parses a specification name (exact, case-sensitive).
func ParseCgroupStatus(name string) (CgroupStatus, bool) {
	v, ok := enumParse(cgroupStatusNames, name)
	return CgroupStatus(v), ok
}

// Orchestrator is the shared orchestrator value. The wire carries a raw
// uint16: decoders accept values not defined here and pass them through.
type Orchestrator uint16

// Orchestrator values.
const (
	// OrchestratorUnknown: no orchestrator / not known.
	OrchestratorUnknown Orchestrator = 0
	// OrchestratorSystemd: systemd.
	OrchestratorSystemd Orchestrator = 1
	// OrchestratorDocker: Docker.
	OrchestratorDocker Orchestrator = 2
	// OrchestratorK8s: Kubernetes.
	OrchestratorK8s Orchestrator = 3
	// OrchestratorKVM: KVM.
	OrchestratorKVM Orchestrator = 4
	// OrchestratorLXC: LXC.
	OrchestratorLXC Orchestrator = 5
	// OrchestratorPodman: Podman.
	OrchestratorPodman Orchestrator = 6
	// OrchestratorNspawn: systemd-nspawn.
	OrchestratorNspawn Orchestrator = 7
)

var orchestratorNames = []string{"UNKNOWN", "SYSTEMD", "DOCKER", "K8S", "KVM", "LXC", "PODMAN", "NSPAWN"}

// Known reports whether o is a defined value.
func (o Orchestrator) Known() bool { return int(o) < len(orchestratorNames) }

// String returns the specification name (or the number if undefined).
func (o Orchestrator) String() string { return enumName(orchestratorNames, uint16(o)) }

// ParseOrchestrator parses a specification name (exact, case-sensitive).
func ParseOrchestrator(name string) (Orchestrator, bool) {
	v, ok := enumParse(orchestratorNames, name)
	return Orchestrator(v), ok
}

func enumName(names []string, v uint16) string {
	if int(v) < len(names) {
		return names[v]
	}
	return strconv.Itoa(int(v))
}

func enumParse(names []string, name string) (uint16, bool) {
	for i, n := range names {
		if n == name {
			return uint16(i), true
		}
	}
	return 0, false
}
