//! The match index: host strategies on the outside, a radix tree of path rules inside.
//!
//! Every location gets a *rank*: its position in evaluation (weight) order. The answer of the
//! reference linear scan is the smallest rank whose host and path rules both match, so the
//! index only has to find that minimum. It asks each host strategy that applies (any host,
//! the exact-host map, one wildcard lookup per dot of the host, host regexes) for the smallest
//! matching rank of its path index, passing the best rank found so far so that whole subtrees,
//! groups and regexes that cannot beat it are skipped.

use std::collections::{BTreeMap, HashMap};

use foldhash::HashMap as FastMap;

use regex::{Regex, RegexSet};

use crate::rule::{HostMatcher, PathMatcher};

/// "No rank": larger than every real rank.
pub(crate) const NONE: u32 = u32::MAX;

/// A node list this long or longer gets a [`RegexSet`] pre-filter, so a path that matches none
/// of them costs one pass instead of one per regex.
const SET_THRESHOLD: usize = 8;

/// With this many distinct host regexes or more, a [`RegexSet`] over all of them gates the
/// per-group probes.
const HOST_SET_THRESHOLD: usize = 16;

/// Regex nodes [`HostIndex::find`] remembers from its plain walks (a path meets few).
const NOTED: usize = 8;

/// Path rules of one host group, in a radix tree keyed by the rule's literal bytes:
/// exact paths and prefixes at their own node, regexes at the node of their anchored literal
/// prefix (unanchored ones at the root).
///
/// Packed for the cache: all nodes in one array (32 bytes each), the children of a node
/// consecutive in it, every label in one byte arena and the first label byte of each node in
/// a byte array of its own, so picking a child reads one short run of bytes, then one node.
#[derive(Debug, Clone)]
pub(crate) struct PathIndex {
    /// Root first; the last entry is a sentinel closing the `regex` range of the one before.
    nodes: Vec<Node>,
    /// First label byte of each node, by id: a node's child keys are
    /// `first[children..children + child_len]`, sorted.
    first: Vec<u8>,
    labels: Vec<u8>,
    regexes: Vec<(u32, Regex)>,
    /// Pre-filters, by node id.
    sets: Vec<(u32, RegexSet)>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Bytes from the parent to this node: `labels[label..label + label_len]`.
    label: u32,
    label_len: u16,
    child_len: u16,
    /// Id of the first child.
    children: u32,
    /// Smallest rank of an `=exact` rule ending here.
    exact: u32,
    /// Smallest rank of a prefix (or any-path) rule ending here.
    prefix: u32,
    /// Smallest exact/prefix rank in this subtree.
    plain_min: u32,
    /// Smallest regex rank in this subtree.
    regex_min: u32,
    /// Regexes whose literal prefix ends here, sorted by rank, start at `regexes[regex]` and
    /// end where the next node's start.
    regex: u32,
}

/// Longest label a node holds (`label_len` is a u16); longer chains get split.
const MAX_LABEL: usize = u16::MAX as usize;

impl PathIndex {
    /// Smallest rank in the whole index.
    pub(crate) fn min(&self) -> u32 {
        self.nodes.first().map_or(NONE, |n| n.plain_min.min(n.regex_min))
    }

    /// The smallest rank `< best` of an exact or prefix rule matching `path`, else `best`:
    /// one walk down the tree.
    #[inline]
    pub(crate) fn find_plain(&self, path: &str, mut best: u32) -> u32 {
        let Some(mut node) = self.nodes.first() else { return best };
        let mut rest = path.as_bytes();
        loop {
            if node.plain_min >= best {
                break;
            }
            best = best.min(node.prefix);
            if rest.is_empty() {
                best = best.min(node.exact);
                break;
            }
            match self.child(node, rest) {
                Some((_, child, tail)) => (node, rest) = (child, tail),
                None => break,
            }
        }
        best
    }

    /// [`find_plain`](Self::find_plain) that also calls `note` with every node on the walk
    /// whose own regexes could still beat `best`, so the regex phase can run them later
    /// ([`node_regexes_at`](Self::node_regexes_at)) without walking the tree again. The walk
    /// goes on while either kind of rule below can beat `best`.
    #[inline]
    pub(crate) fn find_plain_noting(
        &self,
        path: &str,
        mut best: u32,
        mut note: impl FnMut(u32),
    ) -> u32 {
        let Some(mut node) = self.nodes.first() else { return best };
        let mut id = 0;
        let mut rest = path.as_bytes();
        loop {
            if node.plain_min >= best && node.regex_min >= best {
                break;
            }
            best = best.min(node.prefix);
            if node.regex_min < best && self.has_regexes(id, node) {
                note(u32::try_from(id).unwrap_or(NONE));
            }
            if rest.is_empty() {
                best = best.min(node.exact);
                break;
            }
            match self.child(node, rest) {
                Some((i, child, tail)) => (id, node, rest) = (i, child, tail),
                None => break,
            }
        }
        best
    }

    /// The regexes of node `id` (one noted by [`find_plain_noting`](Self::find_plain_noting)):
    /// the smallest rank `< best` matching `path`, else `best`.
    #[inline]
    pub(crate) fn node_regexes_at(&self, id: u32, path: &str, best: u32) -> u32 {
        match self.nodes.get(id as usize) {
            Some(node) if node.regex_min < best => self.node_regexes(id as usize, node, path, best),
            _ => best,
        }
    }

    #[inline]
    fn has_regexes(&self, id: usize, node: &Node) -> bool {
        self.nodes.get(id + 1).is_some_and(|next| next.regex > node.regex)
    }

    /// The smallest rank `< best` of a regex rule matching `path`, else `best`. Only regexes
    /// at nodes on the path's walk (their literal prefix matches) and ranked below `best` run.
    #[inline]
    pub(crate) fn find_regex(&self, path: &str, mut best: u32) -> u32 {
        let Some(mut node) = self.nodes.first() else { return best };
        let mut id = 0;
        let mut rest = path.as_bytes();
        loop {
            if node.regex_min >= best {
                break;
            }
            best = self.node_regexes(id, node, path, best);
            match self.child(node, rest) {
                Some((i, child, tail)) => (id, node, rest) = (i, child, tail),
                None => break,
            }
        }
        best
    }

    #[inline]
    fn child<'p>(&self, node: &Node, rest: &'p [u8]) -> Option<(usize, &Node, &'p [u8])> {
        let (first, tail) = rest.split_first()?;
        let start = node.children as usize;
        let keys = self.first.get(start..start + node.child_len as usize)?;
        // Few children are the common case: a short scan beats the binary search's setup.
        let k = if keys.len() <= 4 {
            keys.iter().position(|k| k == first)?
        } else {
            keys.binary_search(first).ok()?
        };
        let id = start + k;
        let child = self.nodes.get(id)?;
        let len = usize::from(child.label_len);
        if len <= 1 {
            // The first byte already matched the key (the root's empty label is never a child).
            return Some((id, child, tail));
        }
        let label = self.labels.get(child.label as usize + 1..child.label as usize + len)?;
        let head = tail.get(..len - 1)?;
        // Labels are short: an inline byte loop beats a call to `memcmp`.
        if !head.iter().zip(label).all(|(a, b)| a == b) {
            return None;
        }
        Some((id, child, &tail[len - 1..]))
    }

    fn node_regexes(&self, id: usize, node: &Node, path: &str, best: u32) -> u32 {
        let end = self.nodes.get(id + 1).map_or(node.regex, |n| n.regex);
        let Some(list) = self.regexes.get(node.regex as usize..end as usize) else { return best };
        match list.first() {
            Some((rank, _)) if *rank < best => {}
            _ => return best,
        }
        if list.len() >= SET_THRESHOLD {
            let id = u32::try_from(id).unwrap_or(NONE);
            if let Ok(k) = self.sets.binary_search_by_key(&id, |(n, _)| *n) {
                if !self.sets[k].1.is_match(path) {
                    return best;
                }
            }
        }
        for (rank, regex) in list {
            if *rank >= best {
                break;
            }
            if regex.is_match(path) {
                return *rank;
            }
        }
        best
    }
}

/// Collects path rules into a byte trie, then compresses it into a [`PathIndex`].
#[derive(Debug, Default)]
pub(crate) struct PathIndexBuilder {
    nodes: Vec<TrieNode>,
}

#[derive(Debug)]
struct TrieNode {
    children: BTreeMap<u8, usize>,
    exact: u32,
    prefix: u32,
    regex: Vec<(u32, Regex)>,
}

impl Default for TrieNode {
    fn default() -> Self {
        TrieNode { children: BTreeMap::new(), exact: NONE, prefix: NONE, regex: Vec::new() }
    }
}

impl TrieNode {
    fn is_empty(&self) -> bool {
        self.exact == NONE && self.prefix == NONE && self.regex.is_empty()
    }
}

impl PathIndexBuilder {
    fn node_for(&mut self, key: &[u8]) -> usize {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut at = 0;
        for &b in key {
            let next = self.nodes.len();
            let child = *self.nodes[at].children.entry(b).or_insert(next);
            if child == next {
                self.nodes.push(TrieNode::default());
            }
            at = child;
        }
        at
    }

    pub(crate) fn add(&mut self, rank: u32, path: &PathMatcher) {
        match path {
            PathMatcher::Any => {
                let n = self.node_for(b"");
                self.nodes[n].prefix = self.nodes[n].prefix.min(rank);
            }
            PathMatcher::Prefix(p) => {
                let n = self.node_for(p.as_bytes());
                self.nodes[n].prefix = self.nodes[n].prefix.min(rank);
            }
            PathMatcher::Exact(p) => {
                let n = self.node_for(p.as_bytes());
                self.nodes[n].exact = self.nodes[n].exact.min(rank);
            }
            PathMatcher::Regex { regex, prefix } => {
                let n = self.node_for(prefix);
                self.nodes[n].regex.push((rank, regex.clone()));
            }
        }
    }

    pub(crate) fn build(mut self) -> PathIndex {
        let mut out = PathIndex {
            nodes: Vec::new(),
            first: Vec::new(),
            labels: Vec::new(),
            regexes: Vec::new(),
            sets: Vec::new(),
        };
        if self.nodes.is_empty() {
            return out;
        }
        self.push_node(0, &[], &mut out);
        // Iterative, so a deep tree cannot overflow the stack. All children of a node are
        // pushed in one go, so their ids are consecutive.
        let mut stack = vec![(0usize, 0usize)];
        let mut label = Vec::new();
        while let Some((trie, radix)) = stack.pop() {
            let edges: Vec<(u8, usize)> =
                self.nodes[trie].children.iter().map(|(b, c)| (*b, *c)).collect();
            let first_child = out.nodes.len();
            for (b, mut cur) in edges {
                label.clear();
                label.push(b);
                // Collapse chains of payload-free single-child nodes into one label.
                while label.len() < MAX_LABEL
                    && self.nodes[cur].is_empty()
                    && self.nodes[cur].children.len() == 1
                {
                    let Some((b2, c2)) = self.nodes[cur].children.iter().next() else { break };
                    label.push(*b2);
                    cur = *c2;
                }
                let id = out.nodes.len();
                self.push_node(cur, &label, &mut out);
                stack.push((cur, id));
            }
            let count = out.nodes.len() - first_child;
            out.nodes[radix].children = u32::try_from(first_child).unwrap_or(NONE);
            // At most 256 children: one per byte value.
            out.nodes[radix].child_len = u16::try_from(count).unwrap_or(u16::MAX);
        }
        // Children always have larger ids than their parent: fold the subtree minima bottom-up.
        for i in (0..out.nodes.len()).rev() {
            let n = out.nodes[i];
            let (mut plain, mut regex) = (n.plain_min, n.regex_min);
            let start = n.children as usize;
            for child in out.nodes.get(start..start + n.child_len as usize).unwrap_or(&[]) {
                plain = plain.min(child.plain_min);
                regex = regex.min(child.regex_min);
            }
            out.nodes[i].plain_min = plain;
            out.nodes[i].regex_min = regex;
        }
        // The sentinel: ends the last node's regex range, matches nothing.
        out.nodes.push(Node {
            label: u32::try_from(out.labels.len()).unwrap_or(NONE),
            label_len: 0,
            child_len: 0,
            children: 0,
            exact: NONE,
            prefix: NONE,
            plain_min: NONE,
            regex_min: NONE,
            regex: u32::try_from(out.regexes.len()).unwrap_or(NONE),
        });
        out.first.push(0);
        out
    }

    fn push_node(&mut self, trie: usize, label: &[u8], out: &mut PathIndex) {
        let t = &mut self.nodes[trie];
        let mut regexes = std::mem::take(&mut t.regex);
        regexes.sort_by_key(|(rank, _)| *rank);
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(NONE);
        let id = to_u32(out.nodes.len());
        if regexes.len() >= SET_THRESHOLD {
            // A set that fails to build (size limit) just means no pre-filter.
            if let Ok(s) = RegexSet::new(regexes.iter().map(|(_, r)| r.as_str())) {
                out.sets.push((id, s));
            }
        }
        let regex_min = regexes.first().map_or(NONE, |(rank, _)| *rank);
        let regex = to_u32(out.regexes.len());
        out.regexes.extend(regexes);
        out.nodes.push(Node {
            label: to_u32(out.labels.len()),
            label_len: u16::try_from(label.len()).unwrap_or(u16::MAX),
            child_len: 0,
            children: 0,
            exact: t.exact,
            prefix: t.prefix,
            plain_min: t.exact.min(t.prefix),
            regex_min,
            regex,
        });
        out.first.push(label.first().copied().unwrap_or(0));
        out.labels.extend_from_slice(label);
    }
}

/// The host side: which path indexes apply to a normalised host.
#[derive(Debug, Clone)]
pub(crate) struct HostIndex {
    /// Locations without a host rule.
    any: Option<PathIndex>,
    /// foldhash: the keys come from config, so lookups of hostile hosts cannot lengthen
    /// probe sequences, and hashing is the bulk of a lookup.
    exact: FastMap<Box<str>, PathIndex>,
    /// Keyed by the suffix including its leading dot.
    wildcard: FastMap<Box<str>, PathIndex>,
    /// One group per distinct host regex, sorted by the group's smallest rank.
    regex: Vec<(Regex, PathIndex)>,
    /// Pre-filter over all host regexes.
    regex_set: Option<RegexSet>,
    regex_min: u32,
    /// The path rules of every location with a host regex, in one index: one walk finds the
    /// best of them by path alone, and when one of that location's host regexes holds it is
    /// the answer of all the regex groups (see [`HostIndex::find`]).
    regex_union: PathIndex,
    /// `(rank, index into regex)` for every host regex of a location, sorted.
    regex_of: Vec<(u32, u32)>,
}

/// Builds a [`HostIndex`]; add locations in rank order or any order, ranks decide.
#[derive(Debug, Default)]
pub(crate) struct HostIndexBuilder {
    any: Option<PathIndexBuilder>,
    exact: HashMap<Box<str>, PathIndexBuilder>,
    wildcard: HashMap<Box<str>, PathIndexBuilder>,
    regex: Vec<(Regex, PathIndexBuilder)>,
    regex_pos: HashMap<String, usize>,
    regex_union: PathIndexBuilder,
    regex_of: Vec<(u32, usize)>,
}

impl HostIndexBuilder {
    /// Files the location under every host rule of its list (or under "any host").
    pub(crate) fn add(&mut self, rank: u32, hosts: &[HostMatcher], path: &PathMatcher) {
        if hosts.is_empty() {
            self.any.get_or_insert_with(PathIndexBuilder::default).add(rank, path);
        }
        if hosts.iter().any(|h| matches!(h, HostMatcher::Regex(_))) {
            self.regex_union.add(rank, path);
        }
        for host in hosts {
            let group = match host {
                HostMatcher::Exact(h) => self.exact.entry(h.clone()).or_default(),
                HostMatcher::Wildcard(s) => self.wildcard.entry(s.clone()).or_default(),
                HostMatcher::Regex(r) => {
                    let next = self.regex.len();
                    let pos = *self.regex_pos.entry(r.as_str().to_owned()).or_insert(next);
                    if pos == next {
                        self.regex.push((r.clone(), PathIndexBuilder::default()));
                    }
                    self.regex_of.push((rank, pos));
                    &mut self.regex[pos].1
                }
            };
            group.add(rank, path);
        }
    }

    pub(crate) fn build(self) -> HostIndex {
        let build_map = |m: HashMap<Box<str>, PathIndexBuilder>| {
            m.into_iter().map(|(k, b)| (k, b.build())).collect::<FastMap<_, _>>()
        };
        let mut regex: Vec<(usize, Regex, PathIndex)> =
            self.regex.into_iter().enumerate().map(|(i, (r, b))| (i, r, b.build())).collect();
        regex.sort_by_key(|(_, _, p)| p.min());
        let mut new_pos = vec![0u32; regex.len()];
        for (new, (old, _, _)) in regex.iter().enumerate() {
            new_pos[*old] = u32::try_from(new).unwrap_or(NONE);
        }
        let mut regex_of: Vec<(u32, u32)> =
            self.regex_of.iter().map(|&(rank, old)| (rank, new_pos[old])).collect();
        regex_of.sort_unstable();
        regex_of.dedup();
        let regex: Vec<(Regex, PathIndex)> = regex.into_iter().map(|(_, r, p)| (r, p)).collect();
        let regex_set = if regex.len() >= HOST_SET_THRESHOLD {
            regex_set_ci(regex.iter().map(|(r, _)| r.as_str()))
        } else {
            None
        };
        let regex_min = regex.first().map_or(NONE, |(_, p)| p.min());
        HostIndex {
            any: self.any.map(PathIndexBuilder::build),
            exact: build_map(self.exact),
            wildcard: build_map(self.wildcard),
            regex,
            regex_set,
            regex_min,
            regex_union: self.regex_union.build(),
            regex_of,
        }
    }
}

fn regex_set_ci<'a>(patterns: impl Iterator<Item = &'a str>) -> Option<RegexSet> {
    regex::RegexSetBuilder::new(patterns).case_insensitive(true).build().ok()
}

impl HostIndex {
    /// Smallest matching rank for a normalised host and a normal path, or [`NONE`].
    ///
    /// Two phases: exact/prefix rules of every applicable host group first, then regexes, so
    /// a regex only runs when nothing cheaper already beats it.
    #[inline]
    pub(crate) fn find(&self, host: &str, path: &str) -> u32 {
        let mut best = NONE;
        // Regex nodes met on the plain walks of the host groups: the regex phase runs them
        // without a second host lookup or tree walk. On overflow it walks again instead.
        let mut noted: [(Option<&PathIndex>, u32); NOTED] = [(None, 0); NOTED];
        let mut count = 0;
        self.each_group(host, |p| {
            best = p.find_plain_noting(path, best, |id| {
                if let Some(slot) = noted.get_mut(count) {
                    *slot = (Some(p), id);
                }
                count += 1;
            });
        });
        // The host regex groups: a probe of their union by path first. Its best rank wins
        // outright when one of that location's host regexes holds (no other regex group can
        // offer a smaller rank); otherwise, each group in turn.
        let mut gate = None;
        if self.regex_min < best {
            let rank = self.regex_union.find_plain(path, best);
            if rank < best {
                if self.host_regex_holds(rank, host) {
                    best = rank;
                } else if self.regex_gate(&mut gate, host) {
                    best = self.groups_plain(host, path, best);
                }
            }
        }
        if count <= NOTED {
            for (p, id) in &noted[..count] {
                if let Some(p) = p {
                    best = p.node_regexes_at(*id, path, best);
                }
            }
        } else {
            self.each_group(host, |p| best = p.find_regex(path, best));
        }
        if self.regex_min < best {
            let rank = self.regex_union.find_regex(path, best);
            if rank < best {
                if self.host_regex_holds(rank, host) {
                    best = rank;
                } else if self.regex_gate(&mut gate, host) {
                    best = self.groups_regex(host, path, best);
                }
            }
        }
        best
    }

    /// Does one of the host regexes of the location ranked `rank` match `host`?
    fn host_regex_holds(&self, rank: u32, host: &str) -> bool {
        let start = self.regex_of.partition_point(|(r, _)| *r < rank);
        self.regex_of[start..]
            .iter()
            .take_while(|(r, _)| *r == rank)
            .any(|(_, g)| self.regex.get(*g as usize).is_some_and(|(re, _)| re.is_match(host)))
    }

    /// The [`RegexSet`] pre-filter over all host regexes, computed at most once.
    fn regex_gate(&self, gate: &mut Option<bool>, host: &str) -> bool {
        *gate.get_or_insert_with(|| self.regex_set.as_ref().is_none_or(|s| s.is_match(host)))
    }

    /// The plain rules of every host regex group: the (cheap) path index first, the host
    /// regex only when the group has something better to offer.
    fn groups_plain(&self, host: &str, path: &str, mut best: u32) -> u32 {
        for (regex, p) in &self.regex {
            if p.min() >= best {
                break;
            }
            let rank = p.find_plain(path, best);
            if rank < best && regex.is_match(host) {
                best = rank;
            }
        }
        best
    }

    /// The regex rules of every host regex group, like [`groups_plain`](Self::groups_plain).
    fn groups_regex(&self, host: &str, path: &str, mut best: u32) -> u32 {
        for (regex, p) in &self.regex {
            if p.min() >= best {
                break;
            }
            let rank = p.find_regex(path, best);
            if rank < best && regex.is_match(host) {
                best = rank;
            }
        }
        best
    }

    /// Calls `f` with the path index of every non-regex host group that applies to `host`.
    #[inline]
    fn each_group<'a>(&'a self, host: &str, mut f: impl FnMut(&'a PathIndex)) {
        if let Some(any) = &self.any {
            f(any);
        }
        if !self.exact.is_empty() {
            if let Some(p) = self.exact.get(host) {
                f(p);
            }
        }
        if !self.wildcard.is_empty() {
            // `*.x.y` matches hosts strictly longer than `.x.y`: try every suffix that starts
            // at a dot other than the first byte.
            for (i, b) in host.bytes().enumerate().skip(1) {
                if b == b'.' {
                    if let Some(p) = self.wildcard.get(&host[i..]) {
                        f(p);
                    }
                }
            }
        }
    }
}
