//! The tree EEVDF picks from: queued entities ordered by `(vruntime, seq)`, each node also
//! knowing the earliest `(deadline, seq)` below it (Linux's augmented red-black tree, here a
//! treap). The eligible entities are a prefix of that order (`v ≤ V`), so the earliest
//! eligible deadline is found on one walk from the root, however many ineligible or delayed
//! entities the queue holds.

use super::Id;

/// Where an entity sits: `(vruntime, seq)`.
pub(crate) type Key = (i64, u64);

/// What a pick compares: `(deadline, seq, id)`.
pub(crate) type Deadline = (i64, u64, Id);

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    key: Key,
    value: Deadline,
    /// Heap order of the treap; a hash of the key, so the shape is reproducible.
    priority: u64,
    left: u32,
    right: u32,
    /// The smallest `value` in this subtree.
    min: Deadline,
}

/// The earlier of two optional deadlines.
fn earlier(a: Option<Deadline>, b: Option<Deadline>) -> Option<Deadline> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// SplitMix64: a well-spread priority from a key.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Entities by `(vruntime, seq)`, augmented with each subtree's earliest deadline.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
}

impl Tree {
    /// An empty tree.
    pub(crate) fn new() -> Self {
        Tree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
        }
    }

    fn min_of(&self, n: u32) -> Option<Deadline> {
        (n != NIL).then(|| self.nodes[n as usize].min)
    }

    /// Recomputes `n`'s subtree minimum from its children.
    fn pull(&mut self, n: u32) {
        let node = self.nodes[n as usize];
        let below = earlier(self.min_of(node.left), self.min_of(node.right));
        self.nodes[n as usize].min = earlier(Some(node.value), below).unwrap_or(node.value);
    }

    /// Joins two treaps, every key of `a` below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].priority > self.nodes[b as usize].priority {
            let right = self.merge(self.nodes[a as usize].right, b);
            self.nodes[a as usize].right = right;
            self.pull(a);
            a
        } else {
            let left = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = left;
            self.pull(b);
            b
        }
    }

    /// Splits `n` into keys below `key` and keys at or above it.
    fn split(&mut self, n: u32, key: Key) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        if self.nodes[n as usize].key < key {
            let (low, high) = self.split(self.nodes[n as usize].right, key);
            self.nodes[n as usize].right = low;
            self.pull(n);
            (n, high)
        } else {
            let (low, high) = self.split(self.nodes[n as usize].left, key);
            self.nodes[n as usize].left = high;
            self.pull(n);
            (low, n)
        }
    }

    /// Adds an entity at `key` (keys are unique: `seq` is).
    pub(crate) fn insert(&mut self, key: Key, value: Deadline) {
        let node = Node {
            key,
            value,
            priority: mix(key.1 ^ mix(key.0 as u64)),
            left: NIL,
            right: NIL,
            min: value,
        };
        let n = match self.free.pop() {
            Some(n) => {
                self.nodes[n as usize] = node;
                n
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let (low, high) = self.split(self.root, key);
        let low = self.merge(low, n);
        self.root = self.merge(low, high);
    }

    fn remove_below(&mut self, n: u32, key: Key) -> u32 {
        if n == NIL {
            debug_assert!(false, "removing a key the tree does not hold");
            return NIL;
        }
        let node = self.nodes[n as usize];
        match key.cmp(&node.key) {
            std::cmp::Ordering::Equal => {
                self.free.push(n);
                self.merge(node.left, node.right)
            }
            std::cmp::Ordering::Less => {
                let left = self.remove_below(node.left, key);
                self.nodes[n as usize].left = left;
                self.pull(n);
                n
            }
            std::cmp::Ordering::Greater => {
                let right = self.remove_below(node.right, key);
                self.nodes[n as usize].right = right;
                self.pull(n);
                n
            }
        }
    }

    /// Removes the entity at `key`.
    pub(crate) fn remove(&mut self, key: Key) {
        self.root = self.remove_below(self.root, key);
    }

    /// The earliest `(deadline, seq, id)` among entities with vruntime at most `v`.
    pub(crate) fn earliest_up_to(&self, v: i64) -> Option<Deadline> {
        let mut best = None;
        let mut n = self.root;
        while n != NIL {
            let node = &self.nodes[n as usize];
            if node.key.0 <= v {
                best = earlier(best, earlier(Some(node.value), self.min_of(node.left)));
                n = node.right;
            } else {
                n = node.left;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_scan() {
        let mut tree = Tree::new();
        let mut all: Vec<(Key, Deadline)> = Vec::new();
        let mut state = 7_u64;
        for seq in 0..2_000_u64 {
            state = mix(state);
            let v = (state % 1_000) as i64 - 500;
            let d = v + (mix(state) % 300) as i64;
            let id = seq as Id;
            tree.insert((v, seq), (d, seq, id));
            all.push(((v, seq), (d, seq, id)));
            if seq % 3 == 0 {
                let k = (mix(seq) % all.len() as u64) as usize;
                let (key, _) = all.swap_remove(k);
                tree.remove(key);
            }
            for bound in [-600, -100, 0, 250, 600] {
                let scan = all
                    .iter()
                    .filter(|(k, _)| k.0 <= bound)
                    .map(|&(_, d)| d)
                    .min();
                assert_eq!(tree.earliest_up_to(bound), scan);
            }
        }
    }
}
