//! Routes, the builder and the compiled [`Router`].

use std::collections::HashMap;

use regex::Regex;

use crate::Error;
use crate::explain::{Candidate, Explanation, Verdict};
use crate::index::{HostIndex, HostIndexBuilder, NONE};
use crate::rule::{
    HostMatcher, HostRule, PathMatcher, PathRule, WEIGHT_HOST, host_part, with_host,
};

/// One location: a host list, a path rule and an optional explicit weight.
#[derive(Debug, Clone)]
pub struct Route {
    /// Shown by [`Router::explain`] and the lints.
    pub name: String,
    /// Any of these hosts; empty = any host.
    pub hosts: Vec<HostRule>,
    /// The path rule.
    pub path: PathRule,
    /// Explicit weight replacing the computed one. `Some(0)` counts as "not set", as
    /// `weight = 0` does in config (SPEC §3).
    pub weight: Option<u32>,
}

impl Route {
    /// The weight this route is sorted by: the explicit one, else the computed one (SPEC §4).
    fn effective_weight(&self) -> u32 {
        match self.weight {
            Some(w) if w != 0 => w,
            _ => {
                let host = if self.hosts.is_empty() { 0 } else { WEIGHT_HOST };
                self.path.weight().saturating_add(host)
            }
        }
    }
}

/// Collects routes; [`build`](RouterBuilder::build) compiles them into a [`Router`].
#[derive(Debug, Clone, Default)]
pub struct RouterBuilder {
    routes: Vec<Route>,
}

impl RouterBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        RouterBuilder::default()
    }

    /// Appends a route. Its index in the router is the number of routes added before it.
    pub fn add(&mut self, route: Route) -> &mut Self {
        self.routes.push(route);
        self
    }

    /// Compiles every rule and the match index. Fails on the first invalid regex.
    pub fn build(self) -> Result<Router, Error> {
        Router::new(self.routes)
    }
}

/// The compiled, immutable location table of one server.
///
/// [`find`](Router::find) answers exactly what a linear scan in weight order would, at a cost
/// that barely depends on the number of locations.
#[derive(Clone)]
pub struct Router {
    routes: Vec<Route>,
    compiled: Vec<Compiled>,
    weights: Vec<u32>,
    /// rank -> index
    order: Vec<usize>,
    index: HostIndex,
}

/// Shows the routes in evaluation order with their weights, not the index internals.
impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Entry<'a>(&'a Route, u32);
        impl std::fmt::Debug for Entry<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let hosts: Vec<String> = self.0.hosts.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "{} (weight {}): host `{}` path `{}`",
                    self.0.name,
                    self.1,
                    hosts.join(","),
                    self.0.path
                )
            }
        }
        f.debug_struct("Router")
            .field(
                "routes",
                &self
                    .order
                    .iter()
                    .map(|&i| Entry(&self.routes[i], self.weights[i]))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
struct Compiled {
    hosts: Vec<HostMatcher>,
    path: PathMatcher,
}

impl Compiled {
    /// `host` normalised.
    fn host_matches(&self, host: &str) -> bool {
        self.hosts.is_empty() || self.hosts.iter().any(|h| h.is_match(host))
    }
}

impl Router {
    fn new(routes: Vec<Route>) -> Result<Router, Error> {
        // Ranks are u32 and NONE is reserved.
        if u32::try_from(routes.len()).map_or(true, |n| n == NONE) {
            return Err(Error::TooManyRoutes { count: routes.len() });
        }
        // Compile each distinct regex once; clones share the compiled program.
        let mut path_regexes: HashMap<String, Regex> = HashMap::new();
        let mut compiled = Vec::with_capacity(routes.len());
        for route in &routes {
            let hosts = route.hosts.iter().map(HostMatcher::compile).collect::<Result<_, _>>()?;
            let path = match &route.path {
                PathRule::Regex(r) => {
                    let regex = match path_regexes.get(r) {
                        Some(regex) => regex.clone(),
                        None => {
                            let regex = crate::rule::compile_path_regex(r)?;
                            path_regexes.insert(r.clone(), regex.clone());
                            regex
                        }
                    };
                    let prefix = crate::rule::anchored_literal_prefix(r).into();
                    PathMatcher::Regex { regex, prefix }
                }
                rule => PathMatcher::compile(rule).map_err(|e| match e {
                    Error::PathPattern { rule, reason, .. } => {
                        Error::PathPattern { route: route.name.clone(), rule, reason }
                    }
                    e => e,
                })?,
            };
            compiled.push(Compiled { hosts, path });
        }
        let weights: Vec<u32> = routes.iter().map(Route::effective_weight).collect();
        let mut order: Vec<usize> = (0..routes.len()).collect();
        // Stable: ties keep insertion order.
        order.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
        let mut index = HostIndexBuilder::default();
        for (rank, &i) in order.iter().enumerate() {
            let rank = u32::try_from(rank).unwrap_or(NONE);
            index.add(rank, &compiled[i].hosts, &compiled[i].path);
        }
        Ok(Router { routes, compiled, weights, order, index: index.build() })
    }

    /// The index of the location serving `host` + `path`, if any.
    ///
    /// `host` is the raw `Host` header (any case, maybe with `:port` or `[v6]:port`, maybe
    /// empty); `path` is the request path without the query, in normal form
    /// ([`normalize_path`](crate::normalize_path)): a raw path such as `/x/../admin` must be
    /// normalised first, or rules keyed on `/admin` do not see it. Does not allocate (hosts
    /// over 255 bytes with uppercase letters excepted).
    pub fn find(&self, host: &str, path: &str) -> Option<usize> {
        let rank = with_host(host, |host| self.index.find(host, path));
        self.order.get(rank as usize).copied()
    }

    /// The reference semantics: a linear scan in weight order. Same answer as
    /// [`find`](Router::find), at a cost proportional to the number of locations; public only
    /// for the property tests and benches.
    #[doc(hidden)]
    pub fn find_linear(&self, host: &str, path: &str) -> Option<usize> {
        with_host(host, |host| {
            self.order.iter().copied().find(|&i| {
                let c = &self.compiled[i];
                c.host_matches(host) && c.path.is_match(path)
            })
        })
    }

    /// Every location in evaluation order with its verdict, and the winner.
    pub fn explain(&self, host: &str, path: &str) -> Explanation {
        let norm = host_part(host).to_ascii_lowercase();
        let norm = norm.as_str();
        let mut winner = None;
        let candidates = self
            .order
            .iter()
            .map(|&i| {
                let (route, c) = (&self.routes[i], &self.compiled[i]);
                let verdict = if !c.host_matches(norm) {
                    let rules: Vec<String> = route.hosts.iter().map(ToString::to_string).collect();
                    Verdict::HostMismatch { rule: rules.join(",") }
                } else if !c.path.is_match(path) {
                    Verdict::PathMismatch { rule: route.path.to_string() }
                } else {
                    winner = winner.or(Some(i));
                    Verdict::Matched
                };
                Candidate { index: i, name: route.name.clone(), weight: self.weights[i], verdict }
            })
            .collect();
        Explanation { host: host.to_owned(), path: path.to_owned(), candidates, winner }
    }

    /// Number of locations.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when there are no locations (then nothing ever matches).
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The effective weight of location `index` (explicit or computed).
    ///
    /// # Panics
    /// If `index >= self.len()`, like slice indexing.
    pub fn weight(&self, index: usize) -> u32 {
        self.weights[index]
    }

    /// Location indices in evaluation order: weight descending, ties in insertion order.
    pub fn ordered(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().copied()
    }

    /// The route as added.
    ///
    /// # Panics
    /// If `index >= self.len()`, like slice indexing.
    pub fn route(&self, index: usize) -> &Route {
        &self.routes[index]
    }

    /// The route as added, or `None` when `index` is out of range.
    pub fn get(&self, index: usize) -> Option<&Route> {
        self.routes.get(index)
    }

    /// `(never matches, covered by)` pairs: every request the first location could match is
    /// taken by the second, which comes earlier in evaluation order. Conservative: only
    /// certain cases are reported (a prefix covering a longer prefix or an exact path, the
    /// same rule twice, a wildcard covering a narrower host, a regex matching an exact path or
    /// host, any-host / any-path covering everything, ...); a location hidden only by the
    /// union of several others is not. Costs O(n²) in the number of locations.
    pub fn shadowed(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (rank, &j) in self.order.iter().enumerate() {
            if let Some(&i) = self.order[..rank].iter().find(|&&i| self.covers(i, j)) {
                out.push((j, i));
            }
        }
        out
    }

    /// Pairs `(a, b)` (a earlier in evaluation order) of equal weight for which a request
    /// matching both is known: their relative order then depends only on declaration order.
    /// Conservative like [`shadowed`](Router::shadowed): the overlap is proven with a concrete
    /// witness host/path (exact values, prefixes, regex literal prefixes), so overlaps between
    /// two unrelated regexes may go unreported.
    pub fn overlapping_ties(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (rank, &a) in self.order.iter().enumerate() {
            for &b in
                self.order[rank + 1..].iter().take_while(|&&b| self.weights[b] == self.weights[a])
            {
                if self.may_both_match(a, b) {
                    out.push((a, b));
                }
            }
        }
        out
    }

    /// Does every request matching `j` also match `i`?
    fn covers(&self, i: usize, j: usize) -> bool {
        let (ci, cj) = (&self.compiled[i], &self.compiled[j]);
        let hosts = ci.hosts.is_empty()
            || (!cj.hosts.is_empty()
                && cj.hosts.iter().all(|hj| ci.hosts.iter().any(|hi| host_covers(hi, hj))));
        hosts && path_covers(&ci.path, &cj.path)
    }

    fn may_both_match(&self, a: usize, b: usize) -> bool {
        let (ca, cb) = (&self.compiled[a], &self.compiled[b]);
        let hosts = ca.hosts.is_empty()
            || cb.hosts.is_empty()
            || ca.hosts.iter().any(|ha| cb.hosts.iter().any(|hb| hosts_overlap(ha, hb)));
        hosts && paths_overlap(&ca.path, &cb.path)
    }
}

fn host_covers(i: &HostMatcher, j: &HostMatcher) -> bool {
    match (i, j) {
        (_, HostMatcher::Exact(h)) => i.is_match(h),
        (HostMatcher::Wildcard(a), HostMatcher::Wildcard(b)) => b.ends_with(&**a),
        (HostMatcher::Regex(a), HostMatcher::Regex(b)) => a.as_str() == b.as_str(),
        _ => false,
    }
}

fn path_covers(i: &PathMatcher, j: &PathMatcher) -> bool {
    match (i, j) {
        (PathMatcher::Any, _) => true,
        (PathMatcher::Prefix(a), _) if a.is_empty() => true,
        (_, PathMatcher::Exact(p)) => i.is_match(p),
        (PathMatcher::Prefix(a), PathMatcher::Prefix(b)) => b.starts_with(&**a),
        (PathMatcher::Regex { regex: a, .. }, PathMatcher::Regex { regex: b, .. }) => {
            a.as_str() == b.as_str()
        }
        _ => false,
    }
}

fn hosts_overlap(a: &HostMatcher, b: &HostMatcher) -> bool {
    let witnesses = |m: &HostMatcher| -> Vec<String> {
        match m {
            HostMatcher::Exact(h) => vec![h.to_string()],
            HostMatcher::Wildcard(s) => vec![format!("a{s}"), format!("www{s}")],
            HostMatcher::Regex(_) => Vec::new(),
        }
    };
    match (a, b) {
        (HostMatcher::Wildcard(x), HostMatcher::Wildcard(y)) => {
            x.ends_with(&**y) || y.ends_with(&**x)
        }
        (HostMatcher::Regex(x), HostMatcher::Regex(y)) if x.as_str() == y.as_str() => true,
        _ => witnesses(a).iter().chain(&witnesses(b)).any(|w| a.is_match(w) && b.is_match(w)),
    }
}

fn paths_overlap(a: &PathMatcher, b: &PathMatcher) -> bool {
    let witnesses = |m: &PathMatcher| -> Vec<String> {
        match m {
            PathMatcher::Any => Vec::new(),
            PathMatcher::Exact(p) => vec![p.to_string()],
            PathMatcher::Prefix(p) => vec![p.to_string(), format!("{p}/")],
            PathMatcher::Regex { prefix, .. } => {
                let p = String::from_utf8_lossy(prefix).into_owned();
                vec![format!("{p}/"), p]
            }
        }
    };
    match (a, b) {
        (PathMatcher::Any, _) | (_, PathMatcher::Any) => true,
        (PathMatcher::Prefix(x), PathMatcher::Prefix(y)) => {
            x.starts_with(&**y) || y.starts_with(&**x)
        }
        (PathMatcher::Regex { regex: x, .. }, PathMatcher::Regex { regex: y, .. })
            if x.as_str() == y.as_str() =>
        {
            true
        }
        _ => witnesses(a).iter().chain(&witnesses(b)).any(|w| a.is_match(w) && b.is_match(w)),
    }
}
