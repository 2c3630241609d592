package codec

import (
	"fmt"
	"strings"
)

// Netdata cgroup option bits used by the corpus.
const (
	// CgroupOptionsDisabledDuplicate marks a duplicate of another cgroup.
	CgroupOptionsDisabledDuplicate uint32 = 0x01
	// CgroupOptionsSystemSliceService marks a system.slice service.
	CgroupOptionsSystemSliceService uint32 = 0x02
	// CgroupOptionsIsUnified marks a cgroup found on the v2 hierarchy.
	CgroupOptionsIsUnified uint32 = 0x04
)

// CgroupRoot is the mount point of the unified cgroup hierarchy.
const CgroupRoot = "/sys/fs/cgroup"

// BenchSnapshotItems is the number of items of the benchmark snapshot.
const BenchSnapshotItems = 16

var (
	corpusServices = []string{
		"sshd", "cron", "dbus", "systemd-journald", "systemd-logind", "systemd-udevd",
		"systemd-resolved", "systemd-networkd", "systemd-timesyncd", "containerd", "docker",
		"kubelet", "netdata", "nginx", "postgresql", "mysql", "redis-server", "rsyslog",
		"polkit", "chronyd", "NetworkManager", "ModemManager", "accounts-daemon",
		"avahi-daemon", "bluetooth", "cups", "irqbalance", "lvm2-lvmetad", "multipathd",
		"snapd", "udisks2", "unattended-upgrades", "haproxy", "memcached",
		"prometheus-node-exporter", "libvirtd", "virtlogd", "auditd", "firewalld", "tuned",
	}
	corpusTemplates = []string{"getty", "serial-getty", "openvpn-client", "wg-quick", "worker", "php-fpm-pool"}
	corpusVMs       = []string{"web", "db", "win11", "build", "ci-runner", "ubuntu2404", "fedora"}
	corpusQoS       = []string{"burstable", "besteffort", ""}
	corpusUIDs      = []uint32{0, 1000, 1001, 1002, 1003}
)

// corpusRng is xorshift64* seeded through splitmix64, bit-identical to the
// Rust corpus generator.
type corpusRng struct{ s uint64 }

func newCorpusRng(seed uint64) *corpusRng {
	z := seed + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	if z == 0 {
		z = 0x2545f4914f6cdd1d
	}
	return &corpusRng{z}
}

func (r *corpusRng) next() uint64 {
	x := r.s
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	r.s = x
	return x * 0x2545f4914f6cdd1d
}

func (r *corpusRng) below(n int) int { return int(r.next() % uint64(n)) }

func (r *corpusRng) hex(s *strings.Builder, n int) {
	for n > 0 {
		take := min(n, 16)
		h := fmt.Sprintf("%016x", r.next())
		s.WriteString(h[:take])
		n -= take
	}
}

func (r *corpusRng) uuid(s *strings.Builder, sep byte) {
	for i, n := range []int{8, 4, 4, 4, 12} {
		if i > 0 {
			s.WriteByte(sep)
		}
		r.hex(s, n)
	}
}

type corpusCounters struct{ service, session, vm int }

func corpusNextName(r *corpusRng, c *corpusCounters) (string, uint32) {
	var s strings.Builder
	options := CgroupOptionsIsUnified
	switch roll := r.below(100); {
	case roll < 30:
		options |= CgroupOptionsSystemSliceService
		s.WriteString("system.slice/")
		if c.service < len(corpusServices) {
			fmt.Fprintf(&s, "%s.service", corpusServices[c.service])
		} else {
			k := c.service - len(corpusServices)
			fmt.Fprintf(&s, "%s@%d.service", corpusTemplates[k%len(corpusTemplates)], k/len(corpusTemplates))
		}
		c.service++
	case roll < 48:
		s.WriteString("system.slice/docker-")
		r.hex(&s, 64)
		s.WriteString(".scope")
	case roll < 56:
		s.WriteString("machine.slice/libpod-")
		r.hex(&s, 64)
		s.WriteString(".scope")
	case roll < 82:
		s.WriteString("kubepods.slice/")
		if q := corpusQoS[r.below(len(corpusQoS))]; q != "" {
			fmt.Fprintf(&s, "kubepods-%s.slice/kubepods-%s-pod", q, q)
		} else {
			s.WriteString("kubepods-pod")
		}
		r.uuid(&s, '_')
		s.WriteString(".slice")
		if r.below(5) != 0 {
			s.WriteString("/cri-containerd-")
			r.hex(&s, 64)
			s.WriteString(".scope")
		}
	case roll < 92:
		uid := corpusUIDs[r.below(len(corpusUIDs))]
		c.session++
		fmt.Fprintf(&s, "user.slice/user-%d.slice/session-%d.scope", uid, c.session)
	default:
		c.vm++
		vm := corpusVMs[r.below(len(corpusVMs))]
		fmt.Fprintf(&s, "machine.slice/machine-qemu\\x2d%d\\x2d%s.scope", c.vm, vm)
	}
	return s.String(), options
}

// CgroupsCorpus returns n unique, production-shaped cgroup items
// (systemd services, Docker and Podman containers, Kubernetes pods and
// containers, user sessions, libvirt machines), deterministic in (n, seed)
// and identical to the Rust implementation's corpus. Each item's name is
// its path relative to CgroupRoot, its path the absolute directory, its
// hash SimpleHash(name). About 85% are enabled and 3% are marked
// CgroupOptionsDisabledDuplicate. A smaller n gives a prefix of a larger
// one.
func CgroupsCorpus(n int, seed uint64) []CgroupItem {
	r := newCorpusRng(seed)
	var c corpusCounters
	seen := make(map[string]bool, n)
	items := make([]CgroupItem, 0, n)
	for len(items) < n {
		name, options := corpusNextName(r, &c)
		if seen[name] {
			continue
		}
		seen[name] = true
		roll := r.below(100)
		enabled := uint32(0)
		if roll >= 15 {
			enabled = 1
		}
		if roll < 3 {
			options |= CgroupOptionsDisabledDuplicate
		}
		items = append(items, CgroupItem{
			Hash: SimpleHash([]byte(name)), Options: options, Enabled: enabled,
			Name: []byte(name), Path: []byte(CgroupRoot + "/" + name),
		})
	}
	return items
}

// CgroupsCorpusSnapshot is CgroupsCorpus(n, seed) as a snapshot with
// systemd_enabled 1 and the given generation.
func CgroupsCorpusSnapshot(n int, seed, generation uint64) CgroupsSnapshot {
	return CgroupsSnapshot{SystemdEnabled: 1, Generation: generation, Items: CgroupsCorpus(n, seed)}
}

// BenchSnapshot is the 16-item benchmark snapshot: item i has hash 1000 +
// i, options 0, enabled i % 2, name "cgroup-i" and path
// "/sys/fs/cgroup/bench/cg-i"; systemd_enabled 1.
func BenchSnapshot(generation uint64) CgroupsSnapshot {
	s := CgroupsSnapshot{SystemdEnabled: 1, Generation: generation, Items: make([]CgroupItem, BenchSnapshotItems)}
	for i := range s.Items {
		s.Items[i] = CgroupItem{
			Hash: 1000 + uint32(i), Enabled: uint32(i % 2),
			Name: fmt.Appendf(nil, "cgroup-%d", i), Path: fmt.Appendf(nil, "%s/bench/cg-%d", CgroupRoot, i),
		}
	}
	return s
}
