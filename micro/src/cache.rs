//! The caches a switch can cost: their sizes as the kernel reports them, private buffers walked
//! line by line, and what one line costs when it comes from each level.
//!
//! A [`Buffer`] is a thread's working set: `W` bytes cut into 64-byte lines. Its lines are
//! linked into one random cycle (a random cyclic permutation), so a [`Order::Random`] walk is a
//! pointer chase: each line holds the index of the next, the next address is known only once
//! the line has arrived, and neither the prefetcher nor out-of-order execution can fetch ahead.
//! That is the worst case for a refill, and lmbench's `lat_mem_rd` and `lat_ctx -s` measure the
//! same way. [`Order::Sequential`] walks the same lines in address order, which the prefetcher
//! streams, to show what it hides. Both read and write every line they touch (a counter in the
//! line), so evicted lines are dirty, as a real working set's would be.
//!
//! [`line_latency`] times a random walk that stays inside one level (a buffer half the level's
//! size, walked again and again) to get the cost of one line from L1, L2, L3 and memory; the
//! simulator's refill rates are those latencies minus the L1 one.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Bytes per cache line on x86-64 and most arm64 cores (`coherency_line_size` in sysfs).
pub const LINE_BYTES: usize = 64;

/// Where the kernel describes cpu0's caches.
pub const SYSFS_CACHE: &str = "/sys/devices/system/cpu/cpu0/cache";

/// Data cache sizes of one core, in bytes; `None` where the kernel does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheSizes {
    /// Level 1 data cache (private to the core).
    pub l1d: Option<u64>,
    /// Level 2 cache (private to the core on current x86).
    pub l2: Option<u64>,
    /// Last-level cache, shared by the cores in [`CacheSizes::l3_shared_by`] and, on a virtual
    /// machine, by other guests the hypervisor does not show.
    pub l3: Option<u64>,
    /// How many of this machine's logical CPUs share cpu0's L3.
    #[serde(skip)]
    pub l3_shared_by: Option<usize>,
}

impl CacheSizes {
    /// Reads cpu0's caches from [`SYSFS_CACHE`]; every field `None` where sysfs is missing.
    pub fn read() -> CacheSizes {
        CacheSizes::read_from(Path::new(SYSFS_CACHE))
    }

    /// Reads the `index*` directories under `dir` (each with `level`, `type`, `size` and
    /// `shared_cpu_list` files).
    pub fn read_from(dir: &Path) -> CacheSizes {
        let mut sizes = CacheSizes::default();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return sizes;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let read = |name: &str| std::fs::read_to_string(path.join(name)).ok();
            let (Some(level), Some(kind), Some(size)) = (read("level"), read("type"), read("size"))
            else {
                continue;
            };
            let Some(bytes) = parse_size(&size) else {
                continue;
            };
            match (level.trim(), kind.trim()) {
                ("1", "Data" | "Unified") => sizes.l1d = Some(bytes),
                ("2", "Data" | "Unified") => sizes.l2 = Some(bytes),
                ("3", "Data" | "Unified") => {
                    sizes.l3 = Some(bytes);
                    sizes.l3_shared_by = read("shared_cpu_list").and_then(|l| count_cpus(&l));
                }
                _ => {}
            }
        }
        sizes
    }

    /// The largest level the kernel reports (the last-level cache), if any.
    pub fn last_level(&self) -> Option<u64> {
        self.l3.or(self.l2).or(self.l1d)
    }
}

/// Parses sysfs's cache size text: "48K", "2048K", "266240K", "1M", or plain bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let scale: u64 = match suffix.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KiB" => 1 << 10,
        "M" | "MB" | "MiB" => 1 << 20,
        "G" | "GB" | "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(scale).filter(|&bytes| bytes > 0)
}

/// Counts the CPUs in a sysfs list such as "0-1", "0,2,4-7".
pub fn count_cpus(list: &str) -> Option<usize> {
    let mut count = 0;
    for part in list.trim().split(',').filter(|p| !p.is_empty()) {
        count += match part.split_once('-') {
            Some((first, last)) => {
                let (first, last): (usize, usize) = (first.parse().ok()?, last.parse().ok()?);
                last.checked_sub(first)? + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (count > 0).then_some(count)
}

/// The order a walk touches a buffer's lines in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Along the buffer's random cycle: a pointer chase the prefetcher cannot follow.
    Random,
    /// In address order: the prefetcher streams the lines in ahead of the walk.
    Sequential,
}

impl Order {
    /// The suffix benchmark names and JSON keys use for this order ("" for random).
    pub fn name(&self) -> &'static str {
        match self {
            Order::Random => "random",
            Order::Sequential => "sequential",
        }
    }
}

/// One cache line of a buffer: the index of the next line in the random cycle and a counter
/// every walk increments, padded to a whole line so that no two share one.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line {
    next: usize,
    touches: u64,
}

const _: () = assert!(std::mem::size_of::<Line>() == LINE_BYTES);

/// A private working set of whole cache lines linked in one random cycle.
#[derive(Debug, Clone)]
pub struct Buffer {
    lines: Vec<Line>,
}

impl Buffer {
    /// A buffer of `bytes` rounded down to whole lines (none for less than a line), its lines
    /// linked in a random cycle drawn from `seed`. Every line is written here, so the pages are
    /// resident before any walk is timed.
    pub fn new(bytes: usize, seed: u64) -> Result<Buffer, Error> {
        let count = bytes / LINE_BYTES;
        let mut lines = Vec::new();
        lines
            .try_reserve_exact(count)
            .map_err(|_| Error::OutOfMemory { bytes })?;
        lines.resize(count, Line::default());
        for (from, to) in random_cycle(count, seed).into_iter().enumerate() {
            lines[from].next = to;
        }
        Ok(Buffer { lines })
    }

    /// Lines in the buffer.
    pub fn lines(&self) -> usize {
        self.lines.len()
    }

    /// Bytes in the buffer (whole lines).
    pub fn bytes(&self) -> usize {
        self.lines.len() * LINE_BYTES
    }

    /// Reads and writes every line once, in `order`; returns a value that depends on every
    /// line read, so the compiler cannot drop the walk.
    pub fn walk(&mut self, order: Order) -> u64 {
        match order {
            Order::Random => self.walk_random(),
            Order::Sequential => self.walk_sequential(),
        }
    }

    fn walk_random(&mut self) -> u64 {
        let lines = &mut self.lines[..];
        let mut at = 0;
        let mut sum = 0u64;
        for _ in 0..lines.len() {
            let line = &mut lines[at];
            line.touches = line.touches.wrapping_add(1);
            sum = sum.wrapping_add(line.touches);
            at = line.next;
        }
        std::hint::black_box(sum)
    }

    fn walk_sequential(&mut self) -> u64 {
        let mut sum = 0u64;
        for line in &mut self.lines {
            line.touches = line.touches.wrapping_add(1);
            sum = sum.wrapping_add(line.touches);
        }
        std::hint::black_box(sum)
    }

    /// The successor of each line in the random cycle (for tests).
    #[cfg(test)]
    fn successors(&self) -> Vec<usize> {
        self.lines.iter().map(|line| line.next).collect()
    }
}

#[cfg(test)]
impl CacheSizes {
    /// The caches of the 2-vCPU Xeon VM the committed reference
    /// (`micro/reference/2026-11-30-xeon-2core-cache.json`) was measured on: the unit tests'
    /// machine, so they never depend on the host's sysfs.
    pub(crate) fn this_vm() -> CacheSizes {
        CacheSizes {
            l1d: Some(48 << 10),
            l2: Some(2 << 20),
            l3: Some(260 << 20),
            l3_shared_by: Some(2),
        }
    }
}

/// SplitMix64: a few lines of well-mixed pseudo-random numbers, enough to shuffle lines (the
/// order only has to defeat the prefetcher, not an adversary).
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0), by Lemire's multiply-shift (bias below 2^-32 for
    /// the bounds used here).
    pub fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }
}

/// `successor[i]` for a uniformly random cyclic permutation of `0..count` (Sattolo's
/// algorithm): following successors from any line visits every line once and comes back.
pub fn random_cycle(count: usize, seed: u64) -> Vec<usize> {
    let mut successor: Vec<usize> = (0..count).collect();
    let mut rng = SplitMix::new(seed);
    for i in (1..count).rev() {
        let j = rng.below(i);
        successor.swap(i, j);
    }
    successor
}

/// Nanoseconds per line of a random read-modify-write walk over `bytes`, repeated until
/// `time` has passed (at least twice after one untimed warm-up walk): the latency of a line
/// from whichever level holds a working set of that size.
pub fn line_latency(bytes: usize, time: Duration) -> Result<f64, Error> {
    let mut buffer = Buffer::new(bytes, 0x1a7e_0c1e)?;
    if buffer.lines() == 0 {
        return Ok(0.0);
    }
    buffer.walk(Order::Random);
    let start = Instant::now();
    let mut walks = 0u64;
    // The fastest walk stands for the level: another process taking the core only adds time.
    let mut fastest = f64::INFINITY;
    while walks < 2 || start.elapsed() < time {
        let walk_start = Instant::now();
        buffer.walk(Order::Random);
        fastest = fastest.min(walk_start.elapsed().as_secs_f64());
        walks += 1;
    }
    Ok(fastest * 1e9 / buffer.lines() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_random_order_is_one_cycle_through_every_line() {
        for count in [1, 2, 3, 64, 1_000, 4_097] {
            let successor = random_cycle(count, count as u64);
            let mut seen = vec![false; count];
            let mut at = 0;
            for _ in 0..count {
                assert!(!seen[at], "line {at} visited twice in a cycle of {count}");
                seen[at] = true;
                at = successor[at];
            }
            assert_eq!(at, 0, "the walk does not come back to its start");
            assert!(seen.iter().all(|&s| s));
        }
        assert!(random_cycle(0, 1).is_empty());
    }

    #[test]
    fn the_random_order_is_not_the_address_order() {
        // A cycle that mostly steps to the next address would be prefetched.
        let successor = random_cycle(4_096, 7);
        let adjacent = successor
            .iter()
            .enumerate()
            .filter(|(i, next)| next.abs_diff(*i) <= 1)
            .count();
        assert!(adjacent < 20, "{adjacent} of 4096 steps go to a neighbour");
        assert_ne!(random_cycle(4_096, 8), successor, "the seed is ignored");
    }

    #[test]
    fn a_buffer_links_its_lines_and_each_walk_touches_every_line_once() {
        let mut buffer = Buffer::new(100 * LINE_BYTES + 10, 3).unwrap();
        assert_eq!(buffer.lines(), 100);
        assert_eq!(buffer.bytes(), 6_400);
        let successor = buffer.successors();
        let mut sorted = successor.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        // After two walks of each order every counter is 4, so the sum of the last walk is 400.
        buffer.walk(Order::Random);
        buffer.walk(Order::Sequential);
        buffer.walk(Order::Sequential);
        assert_eq!(buffer.walk(Order::Random), 400);
        assert_eq!(Buffer::new(10, 1).unwrap().walk(Order::Random), 0);
    }

    #[test]
    fn sysfs_sizes_parse_with_their_suffixes() {
        assert_eq!(parse_size("32K"), Some(32 * 1024));
        assert_eq!(parse_size("1024K\n"), Some(1024 * 1024));
        assert_eq!(parse_size("266240K"), Some(260 * 1024 * 1024));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("0K"), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("32Q"), None);
        assert_eq!(count_cpus("0-1\n"), Some(2));
        assert_eq!(count_cpus("0,2,4-7"), Some(6));
        assert_eq!(count_cpus("3"), Some(1));
        assert_eq!(count_cpus("x"), None);
        assert_eq!(count_cpus(""), None);
    }

    #[test]
    fn cache_sizes_are_read_from_a_sysfs_tree() {
        let dir = tempfile::tempdir().unwrap();
        let index = |n: u32, level: &str, kind: &str, size: &str, shared: &str| {
            let path = dir.path().join(format!("index{n}"));
            std::fs::create_dir_all(&path).unwrap();
            for (name, text) in [
                ("level", level),
                ("type", kind),
                ("size", size),
                ("shared_cpu_list", shared),
            ] {
                std::fs::write(path.join(name), format!("{text}\n")).unwrap();
            }
        };
        index(0, "1", "Data", "32K", "0");
        index(1, "1", "Instruction", "64K", "0");
        index(2, "2", "Unified", "1024K", "0");
        index(3, "3", "Unified", "32768K", "0-7");
        let sizes = CacheSizes::read_from(dir.path());
        assert_eq!(sizes.l1d, Some(32 << 10));
        assert_eq!(sizes.l2, Some(1 << 20));
        assert_eq!(sizes.l3, Some(32 << 20));
        assert_eq!(sizes.l3_shared_by, Some(8));
        assert_eq!(sizes.last_level(), Some(32 << 20));
        assert_eq!(
            CacheSizes::read_from(&dir.path().join("missing")),
            CacheSizes::default()
        );
    }

    #[test]
    fn the_bound_is_respected() {
        let mut rng = SplitMix::new(1);
        for bound in [1, 2, 3, 1_000] {
            for _ in 0..1_000 {
                assert!(rng.below(bound) < bound);
            }
        }
    }
}
