//! The reach graph: `(resource, access)` states joined by the file's `reach:` edges, indexed once
//! per governance file so that each agent's reach is one breadth-first search.
//!
//! [`ReachIndex`] interns resource ids, orders them once for output, and keeps the implied-reach
//! edges as compressed adjacency lists in both directions. [`ReachIndex::search`] walks from an
//! agent's grants: breadth-first, so the first time a state is seen is by a shortest path, and
//! each state is visited once, so cycles end the walk rather than loop it. The report
//! ([`super::report`]) turns a [`Search`] into the agent's reach, excess and revoke set.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::governance::{Access, Agent, Governance, Resource, ResourceKind, Sensitivity};

/// Marks "no parent": a granted state.
const NONE: u32 = u32::MAX;

/// A `(resource, access)` pair, numbered `resource * 2 + access`.
pub(crate) type State = u32;

pub(crate) fn state(resource: u32, access: Access) -> State {
    resource * 2
        + match access {
            Access::Read => 0,
            Access::Write => 1,
        }
}

/// The resource of a state.
pub(crate) fn resource_of(state: State) -> u32 {
    state / 2
}

/// The access of a state.
pub(crate) fn access_of(state: State) -> Access {
    if state & 1 == 0 {
        Access::Read
    } else {
        Access::Write
    }
}

/// The governance file's resources and reach edges, indexed for searching.
///
/// Resources are numbered in the lexicographic order of their ids, so sorting states sorts them
/// by (resource id, access): the order reports list reach in.
///
/// Invariant relied on by every lookup: `ids`, `resources`, `sensitivity` and `mcp` have one
/// entry per interned resource, and the adjacency offsets have one entry per state plus one.
#[derive(Debug)]
pub(crate) struct ReachIndex<'g> {
    ids: Vec<&'g str>,
    resources: Vec<Option<&'g Resource>>,
    sensitivity: Vec<Sensitivity>,
    by_id: HashMap<&'g str, u32, BuildHasherDefault<IdHasher>>,
    /// Whether each resource is an MCP server (kept apart from `resources` so that scanning a
    /// reach for servers touches one small array).
    mcp: Vec<bool>,
    /// The resource of every grant of every agent, in file order, so that a search does not look
    /// ids up again; agent `a`'s are `grants[grants_start[a]..grants_start[a + 1]]`.
    grants: Vec<u32>,
    grants_start: Vec<u32>,
    out_start: Vec<u32>,
    out: Vec<State>,
    in_start: Vec<u32>,
    into: Vec<State>,
}

impl<'g> ReachIndex<'g> {
    /// Indexes a governance file. Linear in its resources, grants and reach edges (plus one sort
    /// of the resource ids).
    ///
    /// A grant or reach edge naming an undeclared resource (the parser refuses such a file) is
    /// indexed anyway and taken as `production-critical`, so a hand-built model fails closed.
    pub(crate) fn new(governance: &'g Governance) -> ReachIndex<'g> {
        let mut index = ReachIndex {
            ids: Vec::with_capacity(governance.resources.len()),
            resources: Vec::with_capacity(governance.resources.len()),
            sensitivity: Vec::with_capacity(governance.resources.len()),
            by_id: HashMap::with_capacity_and_hasher(
                governance.resources.len(),
                BuildHasherDefault::default(),
            ),
            mcp: Vec::with_capacity(governance.resources.len()),
            grants: Vec::new(),
            grants_start: Vec::new(),
            out_start: Vec::new(),
            out: Vec::new(),
            in_start: Vec::new(),
            into: Vec::new(),
        };
        for resource in &governance.resources {
            index.intern(&resource.id, Some(resource));
        }
        let mut grants = Vec::new();
        let mut grants_start = Vec::with_capacity(governance.agents.len() + 1);
        grants_start.push(0u32);
        for agent in &governance.agents {
            for grant in &agent.grants {
                grants.push(index.intern(&grant.resource, None));
            }
            grants_start.push(u32::try_from(grants.len()).unwrap_or(u32::MAX));
        }
        let mut edges = Vec::with_capacity(governance.reach.len());
        for edge in &governance.reach {
            let from = state(index.intern(&edge.from, None), edge.access);
            let to = state(index.intern(&edge.to, None), edge.gives);
            edges.push((from, to));
        }
        // Renumber the resources in the order of their ids.
        let mut order: Vec<u32> = (0..index.len()).collect();
        order.sort_unstable_by_key(|&r| index.id(r));
        let mut renumber = vec![0u32; order.len()];
        for (new, &old) in (0u32..).zip(&order) {
            if let Some(slot) = renumber.get_mut(old as usize) {
                *slot = new;
            }
        }
        let new_of = |r: u32| renumber.get(r as usize).copied().unwrap_or(r);
        index.ids = order.iter().map(|&r| index.id(r)).collect();
        index.resources = order.iter().map(|&r| index.resource(r)).collect();
        index.sensitivity = order.iter().map(|&r| index.sensitivity(r)).collect();
        index.mcp = order.iter().map(|&r| index.is_mcp(r)).collect();
        for r in index.by_id.values_mut() {
            *r = new_of(*r);
        }
        for r in &mut grants {
            *r = new_of(*r);
        }
        index.grants = grants;
        index.grants_start = grants_start;
        for (from, to) in &mut edges {
            *from = state(new_of(resource_of(*from)), access_of(*from));
            *to = state(new_of(resource_of(*to)), access_of(*to));
        }

        let states = index.states();
        (index.out_start, index.out) = csr(states, edges.iter().copied());
        (index.in_start, index.into) = csr(states, edges.iter().map(|&(from, to)| (to, from)));
        index
    }

    fn intern(&mut self, id: &'g str, resource: Option<&'g Resource>) -> u32 {
        if let Some(&r) = self.by_id.get(id) {
            return r;
        }
        let r = self.len();
        self.ids.push(id);
        self.resources.push(resource);
        self.mcp
            .push(resource.is_some_and(|r| r.kind == ResourceKind::Mcp));
        self.sensitivity
            .push(resource.map_or(Sensitivity::ProductionCritical, |r| r.sensitivity));
        self.by_id.insert(id, r);
        r
    }

    /// How many resources are indexed.
    fn len(&self) -> u32 {
        u32::try_from(self.ids.len()).unwrap_or(u32::MAX)
    }

    /// How many `(resource, access)` states there are.
    pub(crate) fn states(&self) -> usize {
        self.ids.len() * 2
    }

    pub(crate) fn id(&self, resource: u32) -> &'g str {
        self.ids.get(resource as usize).copied().unwrap_or_default()
    }

    pub(crate) fn resource(&self, resource: u32) -> Option<&'g Resource> {
        self.resources.get(resource as usize).copied().flatten()
    }

    pub(crate) fn sensitivity(&self, resource: u32) -> Sensitivity {
        self.sensitivity
            .get(resource as usize)
            .copied()
            .unwrap_or(Sensitivity::ProductionCritical)
    }

    /// Whether the resource is an MCP server.
    pub(crate) fn is_mcp(&self, resource: u32) -> bool {
        self.mcp.get(resource as usize).copied().unwrap_or(false)
    }

    fn lookup(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    /// The resources of the grants of the `a`-th agent of the governance file.
    fn grant_resources(&self, a: usize) -> &[u32] {
        let from = self.grants_start.get(a).copied().unwrap_or(0) as usize;
        let to = self.grants_start.get(a + 1).copied().unwrap_or(0) as usize;
        self.grants.get(from..to).unwrap_or_default()
    }

    fn successors(&self, s: State) -> &[State] {
        neighbours(&self.out_start, &self.out, s)
    }

    fn predecessors(&self, s: State) -> &[State] {
        neighbours(&self.in_start, &self.into, s)
    }

    /// Scratch space for [`ReachIndex::search`], reusable across agents.
    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            epoch: 0,
            slots: vec![Slot::default(); self.states()],
            order: Vec::new(),
            source_grants: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// Everything `agent` (the `a`-th of the governance file) reaches, each state by a shortest
    /// path from one of its grants, and which of its granted accesses lead to a state whose
    /// sensitivity is above `ceiling`.
    ///
    /// Sources are the grant accesses in file order; ties between equally short paths go to the
    /// earlier grant and then to the earlier reach edge, so the result is deterministic.
    pub(crate) fn search<'s>(
        &self,
        a: usize,
        agent: &Agent,
        ceiling: Sensitivity,
        scratch: &'s mut Scratch,
    ) -> Search<'s> {
        scratch.next_epoch();
        let epoch = scratch.epoch;
        let seen = epoch * 2;
        let leads = seen + 1;
        let Scratch {
            slots,
            order,
            source_grants,
            stack,
            ..
        } = scratch;
        order.clear();
        source_grants.clear();
        let indexed = self.grant_resources(a);
        let indexed = (indexed.len() == agent.grants.len()).then_some(indexed);
        for (g, granted) in (0u32..).zip(&agent.grants) {
            let r = match indexed {
                Some(indexed) => indexed.get(g as usize).copied(),
                None => self.lookup(&granted.resource),
            };
            let Some(r) = r else {
                continue;
            };
            for &access in &granted.access {
                let s = state(r, access);
                if let Some(slot) = slots.get_mut(s as usize) {
                    if slot.mark < seen {
                        *slot = Slot {
                            mark: seen,
                            parent: NONE,
                        };
                        order.push(s);
                        source_grants.push(g);
                    }
                }
            }
        }
        let sources = order.len();
        let mut head = 0;
        while let Some(&s) = order.get(head) {
            head += 1;
            for &t in self.successors(s) {
                if let Some(slot) = slots.get_mut(t as usize) {
                    if slot.mark < seen {
                        *slot = Slot {
                            mark: seen,
                            parent: s,
                        };
                        order.push(t);
                    }
                }
            }
        }

        // Which reached states lead to an excess state: walk the reversed edges from every excess
        // state, staying inside this agent's reach (a path from a grant to an excess state only
        // passes through reached states).
        stack.clear();
        for &s in order.iter() {
            if self.sensitivity(resource_of(s)) > ceiling {
                if let Some(slot) = slots.get_mut(s as usize) {
                    slot.mark = leads;
                }
                stack.push(s);
            }
        }
        let any_excess = !stack.is_empty();
        while let Some(s) = stack.pop() {
            for &p in self.predecessors(s) {
                if let Some(slot) = slots.get_mut(p as usize) {
                    if slot.mark == seen {
                        slot.mark = leads;
                        stack.push(p);
                    }
                }
            }
        }
        Search {
            scratch,
            sources,
            any_excess,
        }
    }
}

/// Builds compressed adjacency lists (offsets and targets) for `states` nodes, keeping the edges'
/// input order within each list.
fn csr(
    states: usize,
    edges: impl Iterator<Item = (State, State)> + Clone,
) -> (Vec<u32>, Vec<State>) {
    let mut start = vec![0u32; states + 1];
    for (from, _) in edges.clone() {
        if let Some(n) = start.get_mut(from as usize + 1) {
            *n += 1;
        }
    }
    for i in 1..start.len() {
        let before = start.get(i - 1).copied().unwrap_or(0);
        if let Some(n) = start.get_mut(i) {
            *n += before;
        }
    }
    let mut fill: Vec<u32> = start.clone();
    let mut targets = vec![0; start.last().copied().unwrap_or(0) as usize];
    for (from, to) in edges {
        if let Some(at) = fill.get_mut(from as usize) {
            if let Some(slot) = targets.get_mut(*at as usize) {
                *slot = to;
            }
            *at += 1;
        }
    }
    (start, targets)
}

fn neighbours<'a>(start: &[u32], targets: &'a [State], s: State) -> &'a [State] {
    let from = start.get(s as usize).copied().unwrap_or(0) as usize;
    let to = start.get(s as usize + 1).copied().unwrap_or(0) as usize;
    targets.get(from..to).unwrap_or_default()
}

/// A fast hasher for interning resource ids (FxHash's multiply-rotate). The ids come from the
/// reviewed governance file, not from an adversary who could aim collisions at it.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// What a search knows of one state, in 8 bytes so that the slots of a large organisation stay
/// in cache.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// `2 * epoch` once the search of that epoch reached it, `2 * epoch + 1` once it also found
    /// that it leads to excess; anything smaller: not reached by the current search.
    mark: u32,
    /// The state before it on the kept path, or `NONE` for a granted state.
    parent: State,
}

/// Per-state working memory for [`ReachIndex::search`], sized for one index. Epoch stamps let one
/// scratch serve every agent without clearing.
#[derive(Debug)]
pub(crate) struct Scratch {
    epoch: u32,
    slots: Vec<Slot>,
    /// Reached states in breadth-first order, the granted ones first.
    order: Vec<State>,
    /// For each granted state (the start of `order`), the index of its grant.
    source_grants: Vec<u32>,
    stack: Vec<State>,
}

impl Scratch {
    fn next_epoch(&mut self) {
        if self.epoch >= u32::MAX / 2 - 1 {
            self.epoch = 0;
            self.slots.fill(Slot::default());
        }
        self.epoch += 1;
    }

    fn slot(&self, s: State) -> Slot {
        self.slots.get(s as usize).copied().unwrap_or(Slot {
            mark: 0,
            parent: NONE,
        })
    }
}

/// One agent's search: the states it reaches in breadth-first order, the first `sources` of
/// them being its granted accesses.
pub(crate) struct Search<'s> {
    scratch: &'s Scratch,
    sources: usize,
    any_excess: bool,
}

impl Search<'_> {
    /// Every reached state, granted ones first, then by distance.
    pub(crate) fn reached(&self) -> &[State] {
        &self.scratch.order
    }

    /// The granted states (grant accesses), in file order.
    pub(crate) fn granted(&self) -> &[State] {
        self.scratch.order.get(..self.sources).unwrap_or_default()
    }

    /// Whether any reached state is above the ceiling the search was run with.
    pub(crate) fn any_excess(&self) -> bool {
        self.any_excess
    }

    /// Whether the agent reaches `s`.
    pub(crate) fn reaches(&self, s: State) -> bool {
        self.scratch.slot(s).mark >= self.scratch.epoch * 2
    }

    /// Whether a reached state leads (by zero or more reach edges) to a state above the ceiling.
    pub(crate) fn leads_to_excess(&self, s: State) -> bool {
        self.scratch.slot(s).mark == self.scratch.epoch * 2 + 1
    }

    /// The index (in the agent's grants) of the grant whose access reaches `s` by the path kept.
    pub(crate) fn grant_of(&self, s: State) -> Option<usize> {
        let source = self.source(s);
        let at = self.granted().iter().position(|&g| g == source)?;
        self.scratch.source_grants.get(at).map(|&g| g as usize)
    }

    /// The granted state the kept path to `s` starts from.
    pub(crate) fn source(&self, s: State) -> State {
        let mut at = s;
        // Parents always come earlier in the search, so the walk ends; the bound guards it anyway.
        for _ in 0..=self.scratch.order.len() {
            match self.parent(at) {
                Some(p) => at = p,
                None => break,
            }
        }
        at
    }

    /// The state before `s` on the kept shortest path; `None` for a granted state.
    pub(crate) fn parent(&self, s: State) -> Option<State> {
        match self.scratch.slot(s).parent {
            NONE => None,
            p => Some(p),
        }
    }

    /// The number of reach edges on the kept shortest path to `s`.
    pub(crate) fn depth(&self, s: State) -> usize {
        let mut depth = 0;
        let mut at = s;
        // Parents always come earlier in the search, so the walk ends; the bound guards it anyway.
        while let Some(p) = self.parent(at) {
            depth += 1;
            at = p;
            if depth > self.scratch.order.len() {
                break;
            }
        }
        depth
    }
}
