//! The tree EEVDF picks from: queued entities ordered by `(vruntime, seq)`, each node also
//! knowing the earliest `(deadline, seq)` below it (Linux's augmented red-black tree, here a
//! treap). The eligible entities are a prefix of that order (`v ≤ V`), so the earliest
//! eligible deadline is found on one walk from the root, however many ineligible or delayed
//! entities the queue holds. Each node also knows the latest deadline below it among the
//! entities that are *ready* (not delayed sleepers): the one an idle core steals, so that
//! parking and unparking touch one structure.
//!
//! Every wake-up, block and pick inserts or removes here, so the operations are the cheap
//! kind: an insert walks down to where the new node's priority puts it and splits only the
//! subtree below (on average about two nodes), lowering the minima it passes; a remove merges
//! the node's two children (as short) and repairs only the ancestors whose minimum it was.
//! An insert hands back the node's slot, and each node knows its parent, so a remove or a
//! readying starts at the node and climbs: no search from the root, no path kept.
//! Keys and deadlines are packed into `u128`s whose integer order is the tuples' order, and
//! slot 0 is a sentinel with no minimum, so comparisons are single integer compares. The
//! answers depend only on the set of entities, never on the shape.

use super::Id;

/// Where an entity sits: `(vruntime, seq)`.
pub(crate) type Key = (i64, u64);

/// What a pick compares: `(deadline, seq, id)`.
pub(crate) type Deadline = (i64, u64, Id);

/// The sentinel's slot: "no child" and "no tree".
const NIL: u32 = 0;

/// A packed `(deadline, seq)` that no entity has: the empty subtree's minimum.
const NONE: u128 = u128::MAX;

/// A packed `(deadline, seq)` below every entity's (EEVDF's `seq` starts at 1): the latest
/// ready deadline of a subtree with none ready.
const NONE_READY: u128 = 0;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// `(vruntime, seq)`, packed.
    key: u128,
    /// `(deadline, seq)`, packed.
    value: u128,
    id: Id,
    /// Heap order of the treap (larger above): a hash of `seq`, so the shape is reproducible.
    /// An entity keeps it when it comes back with another vruntime; that is still a random
    /// treap, since no key ever depends on the shape (no answer does).
    priority: u64,
    left: u32,
    right: u32,
    /// NIL for the root. The sentinel's is written to and never read.
    parent: u32,
    /// Not a delayed sleeper: may be stolen.
    ready: bool,
    /// The smallest `value` in this subtree, and whose it is.
    min: u128,
    min_id: Id,
    /// The largest `value` of a ready node in this subtree, and whose it is.
    last: u128,
    last_id: Id,
}

/// `(high, low)` as one integer with the same order: the sign bit flipped puts negative
/// `high`s first.
fn pack(high: i64, low: u64) -> u128 {
    (u128::from((high as u64) ^ (1 << 63)) << 64) | u128::from(low)
}

/// The `high` half of [`pack`] back.
fn unpack_high(packed: u128) -> i64 {
    (((packed >> 64) as u64) ^ (1 << 63)) as i64
}

/// SplitMix64: a well-spread priority from a key.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Entities by `(vruntime, seq)`, augmented with each subtree's earliest deadline.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Slot 0 is the sentinel; the others are nodes or free.
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// Ready nodes.
    ready: usize,
}

impl Tree {
    /// An empty tree.
    pub(crate) fn new() -> Self {
        let sentinel = Node {
            key: 0,
            value: NONE,
            id: 0,
            priority: 0,
            left: NIL,
            right: NIL,
            parent: NIL,
            ready: false,
            min: NONE,
            min_id: 0,
            last: NONE_READY,
            last_id: 0,
        };
        Tree {
            nodes: vec![sentinel],
            free: Vec::new(),
            root: NIL,
            ready: 0,
        }
    }

    /// Recomputes `n`'s subtree minimum and latest ready deadline from its own value and its
    /// children's.
    #[inline]
    fn pull(&mut self, n: u32) {
        self.pull_min(n);
        self.pull_last(n);
    }

    /// Recomputes `n`'s subtree minimum alone.
    #[inline]
    fn pull_min(&mut self, n: u32) {
        let node = &self.nodes[n as usize];
        let (left, right) = (
            &self.nodes[node.left as usize],
            &self.nodes[node.right as usize],
        );
        let (mut min, mut min_id) = (node.value, node.id);
        if left.min < min {
            (min, min_id) = (left.min, left.min_id);
        }
        if right.min < min {
            (min, min_id) = (right.min, right.min_id);
        }
        let node = &mut self.nodes[n as usize];
        node.min = min;
        node.min_id = min_id;
    }

    /// Recomputes `n`'s latest ready deadline alone.
    #[inline]
    fn pull_last(&mut self, n: u32) {
        let node = &self.nodes[n as usize];
        let (left, right) = (
            &self.nodes[node.left as usize],
            &self.nodes[node.right as usize],
        );
        let (mut last, mut last_id) = if node.ready {
            (node.value, node.id)
        } else {
            (NONE_READY, 0)
        };
        if left.last > last {
            (last, last_id) = (left.last, left.last_id);
        }
        if right.last > last {
            (last, last_id) = (right.last, right.last_id);
        }
        let node = &mut self.nodes[n as usize];
        node.last = last;
        node.last_id = last_id;
    }

    /// Makes `child` the left (or right) child of `parent`, or the root when `parent` is NIL.
    #[inline]
    fn link(&mut self, parent: u32, left: bool, child: u32) {
        self.nodes[child as usize].parent = parent;
        if parent == NIL {
            self.root = child;
        } else if left {
            self.nodes[parent as usize].left = child;
        } else {
            self.nodes[parent as usize].right = child;
        }
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
            self.nodes[right as usize].parent = a;
            self.pull(a);
            a
        } else {
            let left = self.merge(a, self.nodes[b as usize].left);
            self.nodes[b as usize].left = left;
            self.nodes[left as usize].parent = b;
            self.pull(b);
            b
        }
    }

    /// Splits `n` into keys below `key` and keys above it (`key` itself is not in `n`).
    fn split(&mut self, n: u32, key: u128) -> (u32, u32) {
        if n == NIL {
            return (NIL, NIL);
        }
        if self.nodes[n as usize].key < key {
            let (low, high) = self.split(self.nodes[n as usize].right, key);
            self.nodes[n as usize].right = low;
            self.nodes[low as usize].parent = n;
            self.pull(n);
            (n, high)
        } else {
            let (low, high) = self.split(self.nodes[n as usize].left, key);
            self.nodes[n as usize].left = high;
            self.nodes[high as usize].parent = n;
            self.pull(n);
            (low, n)
        }
    }

    /// Adds an entity at `key` (keys are unique: `seq` is), `ready` unless it is a delayed
    /// sleeper, and returns its slot, which names it to [`Tree::remove`] and
    /// [`Tree::set_ready`] until it is removed.
    pub(crate) fn insert(&mut self, key: Key, value: Deadline, ready: bool) -> u32 {
        let (packed, deadline, id) = (pack(key.0, key.1), pack(value.0, value.1), value.2);
        debug_assert!(deadline != NONE && deadline != NONE_READY);
        let priority = mix(key.1);
        self.ready += usize::from(ready);
        // Down to the first node the new one outranks; those passed keep it in their subtree,
        // so their minimum can only fall to its deadline, and their latest rise to it.
        let (mut parent, mut left) = (NIL, false);
        let mut n = self.root;
        while n != NIL && self.nodes[n as usize].priority > priority {
            let node = &mut self.nodes[n as usize];
            if deadline < node.min {
                node.min = deadline;
                node.min_id = id;
            }
            if ready && deadline > node.last {
                node.last = deadline;
                node.last_id = id;
            }
            parent = n;
            left = packed < node.key;
            n = if left { node.left } else { node.right };
        }
        // The new node takes `n`'s place, with `n`'s subtree split around it as children.
        let (low, high) = if n == NIL {
            (NIL, NIL)
        } else {
            self.split(n, packed)
        };
        let node = Node {
            key: packed,
            value: deadline,
            id,
            priority,
            left: low,
            right: high,
            parent,
            ready,
            min: deadline,
            min_id: id,
            last: if ready { deadline } else { NONE_READY },
            last_id: id,
        };
        let x = match self.free.pop() {
            Some(x) => {
                self.nodes[x as usize] = node;
                x
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        // With no children (a new leaf) the node already knows its subtree.
        if low != NIL || high != NIL {
            self.nodes[low as usize].parent = x;
            self.nodes[high as usize].parent = x;
            self.pull(x);
        }
        self.link(parent, left, x);
        x
    }

    /// Removes the entity in `slot` (what its insert returned).
    pub(crate) fn remove(&mut self, slot: u32) {
        let n = slot;
        let gone = self.nodes[n as usize];
        debug_assert!(
            n != NIL && gone.min != NONE,
            "removing a slot the tree does not hold"
        );
        let parent = gone.parent;
        let merged = self.merge(gone.left, gone.right);
        let left = self.nodes[parent as usize].left == n;
        self.link(parent, left, merged);
        self.free.push(n);
        self.ready -= usize::from(gone.ready);
        // Only the ancestors whose minimum or latest was the removed deadline change; minima
        // only fall and latests only rise towards the root, so above the first ancestor that
        // kept both of its own, all did.
        let mut p = parent;
        while p != NIL {
            let node = &self.nodes[p as usize];
            let (min, last) = (node.min == gone.value, node.last == gone.value);
            let up = node.parent;
            if min {
                self.pull_min(p);
            }
            if last {
                self.pull_last(p);
            }
            if !min && !last {
                break;
            }
            p = up;
        }
    }

    /// Marks the (delayed) entity in `slot` ready again, in place.
    pub(crate) fn set_ready(&mut self, slot: u32) {
        let n = slot;
        let node = &mut self.nodes[n as usize];
        if node.ready {
            return;
        }
        node.ready = true;
        let (value, id) = (node.value, node.id);
        self.ready += 1;
        // Its deadline joins the latests of the nodes from it up to the root; latests only
        // rise towards the root, so above the first that is already later, all are.
        let mut m = n;
        while m != NIL {
            let node = &mut self.nodes[m as usize];
            if value <= node.last {
                break;
            }
            node.last = value;
            node.last_id = id;
            m = node.parent;
        }
    }

    /// How many entities are ready.
    pub(crate) fn ready(&self) -> usize {
        self.ready
    }

    /// The ready entity with the latest `(deadline, seq)`: the one that would run last.
    pub(crate) fn latest_ready(&self) -> Option<Id> {
        let root = &self.nodes[self.root as usize];
        (root.last != NONE_READY).then_some(root.last_id)
    }

    /// The earliest `(deadline, seq, id)` among entities with vruntime at most `v`.
    pub(crate) fn earliest_up_to(&self, v: i64) -> Option<Deadline> {
        // Every key with vruntime `v` is at most `(v, u64::MAX)`.
        let bound = pack(v, u64::MAX);
        let (mut best, mut best_id) = (NONE, 0);
        let mut n = self.root;
        loop {
            let node = &self.nodes[n as usize];
            // Nothing below beats the best so far: done (deadlines are unique, so `>=` is
            // `>`). The sentinel's minimum is NONE, so this also ends the walk at a leaf.
            if node.min >= best {
                break;
            }
            if node.key <= bound {
                if node.value < best {
                    (best, best_id) = (node.value, node.id);
                }
                let left = &self.nodes[node.left as usize];
                if left.min < best {
                    (best, best_id) = (left.min, left.min_id);
                }
                n = node.right;
            } else {
                n = node.left;
            }
        }
        (best != NONE).then(|| (unpack_high(best), best as u64, best_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_the_tuples_order() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let lows = [0, 1, u64::MAX];
        for &a in &values {
            for &b in &values {
                for &x in &lows {
                    for &y in &lows {
                        assert_eq!(pack(a, x).cmp(&pack(b, y)), (a, x).cmp(&(b, y)));
                    }
                }
                assert_eq!(unpack_high(pack(a, 3)), a);
            }
        }
    }

    /// Every node below `n` names its parent, and there are `count` of them.
    fn parents(tree: &Tree, n: u32, parent: u32) -> usize {
        if n == NIL {
            return 0;
        }
        let node = &tree.nodes[n as usize];
        assert_eq!(node.parent, parent);
        1 + parents(tree, node.left, n) + parents(tree, node.right, n)
    }

    /// What the tree holds, scanned: `(key, deadline, ready)`.
    fn check(tree: &Tree, all: &[(Key, Deadline, bool)]) {
        assert_eq!(parents(tree, tree.root, NIL), all.len());
        for bound in [-600, -100, 0, 250, 600] {
            let scan = all
                .iter()
                .filter(|(k, _, _)| k.0 <= bound)
                .map(|&(_, d, _)| d)
                .min();
            assert_eq!(tree.earliest_up_to(bound), scan);
        }
        let ready = all.iter().filter(|(_, _, r)| *r);
        assert_eq!(tree.ready(), ready.clone().count());
        assert_eq!(
            tree.latest_ready(),
            ready.map(|&(_, d, _)| d).max().map(|d| d.2)
        );
    }

    #[test]
    fn agrees_with_a_scan() {
        let mut tree = Tree::new();
        let mut all: Vec<(Key, Deadline, bool)> = Vec::new();
        // Each entity's slot, in the same order as `all`.
        let mut slots: Vec<u32> = Vec::new();
        let mut state = 7_u64;
        // Narrow ranges, so that vruntimes and deadlines tie (`seq` breaks the ties).
        for seq in 1..3_000_u64 {
            state = mix(state);
            let v = (state % 1_000) as i64 - 500;
            let d = v + (mix(state) % 300) as i64;
            let ready = !state.is_multiple_of(4);
            let id = (seq * 7) as Id;
            slots.push(tree.insert((v, seq), (d, seq, id), ready));
            all.push(((v, seq), (d, seq, id), ready));
            if seq % 3 == 0 {
                let k = (mix(seq) % all.len() as u64) as usize;
                all.swap_remove(k);
                tree.remove(slots.swap_remove(k));
            }
            if seq % 5 == 0 {
                let k = (mix(seq + 1) % all.len() as u64) as usize;
                tree.set_ready(slots[k]);
                all[k].2 = true;
            }
            check(&tree, &all);
        }
        // Emptied from the front and from the middle: nothing left over.
        while !all.is_empty() {
            let k = (mix(all.len() as u64) % all.len() as u64) as usize;
            all.remove(k);
            tree.remove(slots.remove(k));
            check(&tree, &all);
        }
        assert_eq!(tree.root, NIL);
    }
}
