//! The immutable, indexed copy of one cgroups snapshot that the cache
//! publishes to readers.
//!
//! Identity is `hash + name`, with the hash chosen by the producer. The
//! index uses that hash directly (never hashing names again): an
//! open-addressing table over the *distinct* hashes, each slot pointing at
//! the group of items sharing that hash, kept sorted by name. A lookup is
//! one keyed multiply, a short probe and one name comparison; a provider
//! whose hashes all collide costs `O(log n)` per lookup and `O(n log n)`
//! per build, never quadratic. The table position is scrambled with a
//! per-process random seed so crafted distinct hashes cannot pile up in
//! one probe chain either.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

/// One item as stored: scalars plus string ranges in the arena.
#[derive(Debug, Clone, Copy)]
struct Rec {
    hash: u32,
    options: u32,
    enabled: u32,
    name_off: u32,
    name_len: u32,
    path_off: u32,
    path_len: u32,
}

/// One table slot: a distinct hash and its item group.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    hash: u32,
    /// Items with this hash; 0 marks an empty slot.
    count: u32,
    /// `count == 1`: the item index; otherwise the start in `sorted`.
    first: u32,
}

/// Multiplier of the slot scrambler (2^32 / golden ratio, odd).
const MIX: u32 = 0x9E37_79B1;

fn process_seed() -> u32 {
    static SEED: OnceLock<u32> = OnceLock::new();
    *SEED.get_or_init(|| RandomState::new().hash_one(0x6e65_7469_7063u64) as u32)
}

/// A borrowed view of one cached cgroup.
///
/// Borrowed from the snapshot held by a read guard: valid while that guard
/// is alive. Call [`CgroupEntryView::dup`] for an owned copy that outlives
/// the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupEntryView<'g> {
    /// Producer-computed identity hash.
    pub hash: u32,
    /// Cgroup option flags.
    pub options: u32,
    /// Whether the cgroup is enabled (raw value).
    pub enabled: u32,
    /// Cgroup name bytes (no NUL).
    pub name: &'g [u8],
    /// Cgroup path bytes (no NUL).
    pub path: &'g [u8],
}

/// An owned copy of one cached cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupEntry {
    /// Producer-computed identity hash.
    pub hash: u32,
    /// Cgroup option flags.
    pub options: u32,
    /// Whether the cgroup is enabled (raw value).
    pub enabled: u32,
    /// Cgroup name bytes.
    pub name: Vec<u8>,
    /// Cgroup path bytes.
    pub path: Vec<u8>,
}

impl<'g> CgroupEntryView<'g> {
    /// An owned copy that outlives the read guard.
    pub fn dup(&self) -> CgroupEntry {
        CgroupEntry {
            hash: self.hash,
            options: self.options,
            enabled: self.enabled,
            name: self.name.to_vec(),
            path: self.path.to_vec(),
        }
    }

    /// The name as UTF-8, if it is.
    pub fn name_str(&self) -> Option<&'g str> {
        std::str::from_utf8(self.name).ok()
    }

    /// The path as UTF-8, if it is.
    pub fn path_str(&self) -> Option<&'g str> {
        std::str::from_utf8(self.path).ok()
    }
}

/// An immutable, indexed snapshot of cgroups.
#[derive(Debug)]
pub struct CgroupsTable {
    generation: u64,
    systemd_enabled: u32,
    arena: Box<[u8]>,
    items: Box<[Rec]>,
    sorted: Box<[u32]>,
    slots: Box<[Slot]>,
    shift: u32,
    seed: u32,
    duplicates: u32,
}

/// Collects items, then builds a [`CgroupsTable`].
#[derive(Debug, Default)]
pub struct CgroupsTableBuilder {
    generation: u64,
    systemd_enabled: u32,
    arena: Vec<u8>,
    items: Vec<Rec>,
}

impl CgroupsTableBuilder {
    /// Starts a table for a snapshot with these header fields, sized for
    /// `item_hint` items.
    pub fn new(generation: u64, systemd_enabled: u32, item_hint: usize) -> Self {
        Self::with_capacity(
            generation,
            systemd_enabled,
            item_hint,
            item_hint.saturating_mul(64),
        )
    }

    /// Like [`Self::new`], with the string storage sized for `string_bytes`
    /// bytes of names and paths (each string takes its length plus one).
    pub fn with_capacity(
        generation: u64,
        systemd_enabled: u32,
        item_hint: usize,
        string_bytes: usize,
    ) -> Self {
        CgroupsTableBuilder {
            generation,
            systemd_enabled,
            arena: Vec::with_capacity(string_bytes),
            items: Vec::with_capacity(item_hint),
        }
    }

    fn push_str(&mut self, s: &[u8]) -> Option<(u32, u32)> {
        let off = u32::try_from(self.arena.len()).ok()?;
        let len = u32::try_from(s.len()).ok()?;
        self.arena.extend_from_slice(s);
        self.arena.push(0);
        Some((off, len))
    }

    /// Adds one item. Returns `false` (and adds nothing) if the cache's
    /// string storage would exceed 4 GiB.
    pub fn push(
        &mut self,
        hash: u32,
        options: u32,
        enabled: u32,
        name: &[u8],
        path: &[u8],
    ) -> bool {
        let mark = self.arena.len();
        let (Some((name_off, name_len)), Some((path_off, path_len))) =
            (self.push_str(name), self.push_str(path))
        else {
            self.arena.truncate(mark);
            return false;
        };
        self.items.push(Rec {
            hash,
            options,
            enabled,
            name_off,
            name_len,
            path_off,
            path_len,
        });
        true
    }

    /// Builds the index. Duplicate `(hash, name)` items keep the first one
    /// in snapshot order; the others are dropped and counted.
    pub fn build(self) -> CgroupsTable {
        let CgroupsTableBuilder {
            generation,
            systemd_enabled,
            arena,
            items,
        } = self;
        let name_of = |r: &Rec| &arena[r.name_off as usize..(r.name_off + r.name_len) as usize];

        // Stable sort by (hash, name): within a duplicate group the first
        // in snapshot order comes first.
        let mut order: Vec<u32> = (0..items.len() as u32).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (&items[a as usize], &items[b as usize]);
            ra.hash
                .cmp(&rb.hash)
                .then_with(|| name_of(ra).cmp(name_of(rb)))
        });
        let mut keep = vec![false; items.len()];
        let mut duplicates = 0u32;
        let mut prev: Option<&Rec> = None;
        for &i in &order {
            let r = &items[i as usize];
            if prev.is_some_and(|p| p.hash == r.hash && name_of(p) == name_of(r)) {
                duplicates += 1;
            } else {
                keep[i as usize] = true;
            }
            prev = Some(r);
        }

        // Kept items in snapshot order, and their new indices.
        let mut new_index = vec![u32::MAX; items.len()];
        let mut kept = Vec::with_capacity(items.len() - duplicates as usize);
        for (i, r) in items.iter().enumerate() {
            if keep[i] {
                new_index[i] = kept.len() as u32;
                kept.push(*r);
            }
        }
        let sorted: Vec<u32> = order
            .iter()
            .filter(|&&i| keep[i as usize])
            .map(|&i| new_index[i as usize])
            .collect();

        // Distinct hash groups, then the open-addressing table (load <= 1/2).
        let mut groups: Vec<(u32, u32, u32)> = Vec::new(); // (hash, start, count)
        for (pos, &i) in sorted.iter().enumerate() {
            let h = kept[i as usize].hash;
            match groups.last_mut() {
                Some(g) if g.0 == h => g.2 += 1,
                _ => groups.push((h, pos as u32, 1)),
            }
        }
        let bits = (groups.len().max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .max(1);
        let shift = 32 - bits;
        let mask = (1usize << bits) - 1;
        let seed = process_seed();
        let mut slots = vec![Slot::default(); 1usize << bits];
        for &(hash, start, count) in &groups {
            let mut at = CgroupsTable::position(hash, seed, shift);
            while slots[at].count != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = Slot {
                hash,
                count,
                first: if count == 1 {
                    sorted[start as usize]
                } else {
                    start
                },
            };
        }

        CgroupsTable {
            generation,
            systemd_enabled,
            arena: arena.into_boxed_slice(),
            items: kept.into_boxed_slice(),
            sorted: sorted.into_boxed_slice(),
            slots: slots.into_boxed_slice(),
            shift,
            seed,
            duplicates,
        }
    }
}

impl CgroupsTable {
    #[inline(always)]
    fn position(hash: u32, seed: u32, shift: u32) -> usize {
        ((hash ^ seed).wrapping_mul(MIX) >> shift) as usize
    }

    #[inline(always)]
    fn str_at(&self, off: u32, len: u32) -> &[u8] {
        // Ranges were produced by the builder and always lie in the arena.
        let start = off as usize;
        &self.arena[start..start + len as usize]
    }

    #[inline(always)]
    fn view(&self, r: &Rec) -> CgroupEntryView<'_> {
        CgroupEntryView {
            hash: r.hash,
            options: r.options,
            enabled: r.enabled,
            name: self.str_at(r.name_off, r.name_len),
            path: self.str_at(r.path_off, r.path_len),
        }
    }

    /// An empty table (no refresh has succeeded yet).
    pub fn empty() -> Self {
        CgroupsTableBuilder::new(0, 0, 0).build()
    }

    /// Looks up the item with identity `(hash, name)`. Pure memory: no
    /// allocation, no syscall, no lock.
    #[inline]
    pub fn get(&self, hash: u32, name: &[u8]) -> Option<CgroupEntryView<'_>> {
        let mask = self.slots.len() - 1;
        let mut at = Self::position(hash, self.seed, self.shift);
        loop {
            let s = &self.slots[at];
            if s.count == 0 {
                return None;
            }
            if s.hash == hash {
                if s.count == 1 {
                    let r = &self.items[s.first as usize];
                    return (self.str_at(r.name_off, r.name_len) == name).then(|| self.view(r));
                }
                let group = &self.sorted[s.first as usize..(s.first + s.count) as usize];
                return group
                    .binary_search_by(|&i| {
                        let r = &self.items[i as usize];
                        self.str_at(r.name_off, r.name_len).cmp(name)
                    })
                    .ok()
                    .map(|k| self.view(&self.items[group[k] as usize]));
            }
            at = (at + 1) & mask;
        }
    }

    /// Number of (distinct) items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the table has no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Item `index` in snapshot order.
    pub fn item(&self, index: usize) -> Option<CgroupEntryView<'_>> {
        self.items.get(index).map(|r| self.view(r))
    }

    /// Iterates all items in snapshot order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = CgroupEntryView<'_>> + '_ {
        self.items.iter().map(|r| self.view(r))
    }

    /// The snapshot generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The snapshot's `systemd_enabled` field.
    pub fn systemd_enabled(&self) -> u32 {
        self.systemd_enabled
    }

    /// How many duplicate `(hash, name)` items were dropped.
    pub fn duplicates(&self) -> u32 {
        self.duplicates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(items: &[(u32, &str, &str)]) -> CgroupsTable {
        let mut b = CgroupsTableBuilder::new(7, 1, items.len());
        for (i, (h, n, p)) in items.iter().enumerate() {
            assert!(b.push(*h, i as u32, 1, n.as_bytes(), p.as_bytes()));
        }
        b.build()
    }

    #[test]
    fn hit_miss_and_order() {
        let t = table(&[(1, "a", "/a"), (2, "b", "/b"), (3, "", "")]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.generation(), 7);
        assert_eq!(t.systemd_enabled(), 1);
        assert_eq!(t.get(2, b"b").unwrap().path, b"/b");
        assert_eq!(t.get(3, b"").unwrap().options, 2);
        assert!(t.get(2, b"a").is_none());
        assert!(t.get(9, b"b").is_none());
        let names: Vec<&[u8]> = t.iter().map(|e| e.name).collect();
        assert_eq!(names, [b"a".as_slice(), b"b", b""]);
        let owned = t.get(1, b"a").unwrap().dup();
        assert_eq!(owned.name, b"a");
    }

    #[test]
    fn empty_table() {
        let t = CgroupsTable::empty();
        assert!(t.is_empty());
        assert!(t.get(0, b"").is_none());
        assert!(t.item(0).is_none());
    }

    #[test]
    fn duplicates_keep_first() {
        let t = table(&[(5, "x", "/first"), (5, "x", "/second"), (5, "y", "/y")]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.duplicates(), 1);
        assert_eq!(t.get(5, b"x").unwrap().path, b"/first");
        assert_eq!(t.get(5, b"y").unwrap().path, b"/y");
    }

    #[test]
    fn all_hashes_colliding_stays_correct() {
        let names: Vec<String> = (0..20_000).map(|i| format!("cg-{i}")).collect();
        let mut b = CgroupsTableBuilder::new(1, 0, names.len());
        for n in &names {
            b.push(42, 0, 1, n.as_bytes(), n.as_bytes());
        }
        let t = b.build();
        assert_eq!(t.len(), names.len());
        for n in names.iter().step_by(97) {
            assert_eq!(t.get(42, n.as_bytes()).unwrap().path, n.as_bytes());
        }
        assert!(t.get(42, b"nope").is_none());
        assert!(t.get(43, b"cg-1").is_none());
    }

    #[test]
    fn many_distinct_hashes() {
        let mut b = CgroupsTableBuilder::new(1, 0, 50_000);
        for i in 0..50_000u32 {
            let n = format!("n{i}");
            b.push(
                i.wrapping_mul(2_654_435_761) << 4,
                i,
                0,
                n.as_bytes(),
                b"/p",
            );
        }
        let t = b.build();
        for i in (0..50_000u32).step_by(13) {
            let n = format!("n{i}");
            assert_eq!(
                t.get(i.wrapping_mul(2_654_435_761) << 4, n.as_bytes())
                    .unwrap()
                    .options,
                i
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn matches_a_hashmap(items in proptest::collection::vec((0u32..8, "[a-c]{0,3}"), 0..64)) {
            let mut b = CgroupsTableBuilder::new(0, 0, items.len());
            let mut model = std::collections::HashMap::new();
            for (i, (h, n)) in items.iter().enumerate() {
                b.push(*h, i as u32, 0, n.as_bytes(), b"");
                model.entry((*h, n.clone())).or_insert(i as u32);
            }
            let t = b.build();
            proptest::prop_assert_eq!(t.len(), model.len());
            for h in 0u32..8 {
                for n in ["", "a", "b", "ab", "abc", "ca"] {
                    let got = t.get(h, n.as_bytes()).map(|e| e.options);
                    proptest::prop_assert_eq!(got, model.get(&(h, n.to_string())).copied());
                }
            }
        }
    }
}
