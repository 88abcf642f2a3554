//! The blast-radius report: per agent, what it reaches and how, what exceeds its role's
//! ceiling, which grant accesses must go, and the review flags; plus drift against GitHub.
//!
//! The model serializes to the JSON of CONTRACTS §4 (`{"agents": [...], "drift": [...]}`) with a
//! few additions (the grant each excess comes from, MCP tools, locations). It borrows ids from
//! the [`Governance`] it describes and keeps each agent's shortest paths as a tree (each reach
//! entry points one step back), so a report of a large organisation allocates little; the JSON
//! spells every path out. [`report()`] builds it; [`super::render()`] prints it; [`super::plan`]
//! turns its revoke sets into an edit of the governance file.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::drift::{drift, Drift, DriftKind, GithubRepository};
use super::graph::{access_of, resource_of, state, ReachIndex, Scratch, Search, State};
use crate::governance::{Access, Agent, Governance, Location, Role, Sensitivity};

/// The blast-radius report of an organisation (or of the agents asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report<'g> {
    /// One entry per agent, in the governance file's order.
    pub agents: Vec<AgentReport<'g>>,
    /// Differences between the file's grants and GitHub's collaborators, when an import was
    /// given; empty otherwise.
    pub drift: Vec<Drift>,
}

impl Report<'_> {
    /// Whether any agent reaches a resource above its role's ceiling.
    pub fn has_excess(&self) -> bool {
        self.agents.iter().any(|a| !a.excess.is_empty())
    }

    /// Whether GitHub gives any agent access that the governance file does not declare.
    pub fn has_undeclared_access(&self) -> bool {
        self.drift.iter().any(|d| d.kind == DriftKind::Undeclared)
    }

    /// Every agent's revoke set as removals for [`super::plan_rewrite`].
    pub fn removals(&self) -> Vec<Removal> {
        self.agents
            .iter()
            .flat_map(|a| {
                a.revoke.iter().map(|g| Removal {
                    agent: a.id.to_owned(),
                    resource: g.resource.to_owned(),
                    access: g.access,
                })
            })
            .collect()
    }
}

/// One agent's blast radius.
///
/// Serializes as CONTRACTS §4's agent object: each reach and excess entry with its `path` (the
/// resource ids from the granted resource to the reached one) spelled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentReport<'g> {
    pub id: &'g str,
    pub role: &'g str,
    /// The role's ceiling (`public` when the role is not declared, failing closed).
    pub ceiling: Sensitivity,
    /// Every `(resource, access)` the agent reaches, sorted by resource id then access. Together
    /// the entries form a tree of shortest paths: see [`AgentReport::path`].
    pub reach: Vec<Reach<'g>>,
    /// Every reached resource above the ceiling, sorted by resource id.
    pub excess: Vec<Excess<'g>>,
    /// One irreducible set of grant accesses whose removal ends all of the excess, in the order
    /// the grants are written. Empty when there is no excess.
    pub revoke: Vec<GrantAccess<'g>>,
    pub flags: Vec<Flag>,
    /// The tools of each MCP server the agent reaches: those its role lists and it holds the
    /// access for, and the rest, with why they are out of reach. Left out of the JSON when empty.
    pub mcp: Vec<McpServerTools<'g>>,
    /// Where the agent is written in the governance file.
    pub location: Location,
}

impl<'g> AgentReport<'g> {
    /// The path that explains `reach[entry]`: resource ids from the granted resource to the
    /// reached one, `[granted]` for a direct grant. A shortest such path. Empty for an index out
    /// of range.
    pub fn path(&self, entry: usize) -> Vec<&'g str> {
        let mut path = Vec::new();
        let mut at = Some(entry);
        // Each step goes to an entry closer to a grant; the bound guards against a hand-edited
        // `previous` that loops.
        while let Some(i) = at.take() {
            let Some(r) = self.reach.get(i) else { break };
            path.push(r.resource);
            if path.len() > self.reach.len() {
                break;
            }
            at = r.previous.map(|p| p as usize);
        }
        path.reverse();
        path
    }

    /// The grant access `reach[entry]` comes from: the first entry of its path.
    pub fn source(&self, entry: usize) -> Option<&Reach<'g>> {
        let mut at = self.reach.get(entry)?;
        for _ in 0..self.reach.len() {
            match at.previous {
                Some(p) => at = self.reach.get(p as usize)?,
                None => return Some(at),
            }
        }
        None
    }
}

/// One `(resource, access)` an agent reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach<'g> {
    pub resource: &'g str,
    pub access: Access,
    pub sensitivity: Sensitivity,
    /// The entry (index in the same `reach` list) one step back on the shortest path to this
    /// one; `None` for a granted access. In the JSON it is spelled out as `path`.
    pub previous: Option<u32>,
}

/// A reached resource above the agent's role ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Excess<'g> {
    pub resource: &'g str,
    pub sensitivity: Sensitivity,
    pub ceiling: Sensitivity,
    /// The accesses reached on it, in order.
    pub access: &'static [Access],
    /// The `reach` entry whose path (the shortest to this resource) explains it; in the JSON,
    /// spelled out as `path`.
    pub reach: usize,
    /// The grant access that path starts from.
    pub grant: GrantAccess<'g>,
}

/// One access of one grant: the unit a revocation removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct GrantAccess<'g> {
    pub resource: &'g str,
    pub access: Access,
    /// Where the grant is written.
    pub location: Location,
}

/// A grant access to remove from the governance file (see [`super::plan_rewrite`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Removal {
    pub agent: String,
    pub resource: String,
    pub access: Access,
}

/// An MCP server an agent reaches, and its declared tools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpServerTools<'g> {
    pub server: &'g str,
    /// Declared tools the role lists and whose access the agent reaches.
    pub reachable: Vec<McpTool<'g>>,
    /// Declared tools the agent cannot call: not in its role, or the access not reached. Not
    /// excess: the gateway hides them.
    pub unreachable: Vec<McpTool<'g>>,
}

/// One declared MCP tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct McpTool<'g> {
    pub tool: &'g str,
    pub access: Access,
    /// Why it is out of reach: `not-in-role` or `access-not-reached`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Why an agent needs a look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "flag", rename_all = "kebab-case")]
pub enum Flag {
    /// Its blast radius was never reviewed.
    NeverReviewed,
    /// Its last review is older than `blast_radius.review_every`.
    ReviewOverdue {
        reviewed_at: Timestamp,
        due: Timestamp,
    },
    /// What it reaches is not what was reviewed.
    ReachChanged { reviewed: String, current: String },
    /// An operator or the monitor flagged it.
    Flagged { reason: String },
    /// Its role is not declared (the parser refuses such a file); its ceiling is taken as
    /// `public`.
    UnknownRole,
}

impl Flag {
    /// The flag's name as in the JSON (`review-overdue`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Flag::NeverReviewed => "never-reviewed",
            Flag::ReviewOverdue { .. } => "review-overdue",
            Flag::ReachChanged { .. } => "reach-changed",
            Flag::Flagged { .. } => "flagged",
            Flag::UnknownRole => "unknown-role",
        }
    }
}

/// What the store remembers of an agent's last blast-radius review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewState {
    /// When its blast radius was last reviewed; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<Timestamp>,
    /// [`reach_fingerprint`] of its reach when it was reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Set by an operator or the monitor: why the agent is flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flagged: Option<String>,
}

static NO_REVIEWS: BTreeMap<String, ReviewState> = BTreeMap::new();

/// Called with (agents done, agents in total) as the report is built.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// The inputs of a report besides the governance file. The core reads no clock and no store:
/// the caller passes the time and the review states.
#[derive(Clone, Copy)]
pub struct ReportOptions<'a> {
    /// The time the flags are computed at.
    pub now: Timestamp,
    /// Review state per agent id; an agent without one was never reviewed.
    pub reviews: &'a BTreeMap<String, ReviewState>,
    /// GitHub's collaborators, from [`super::parse_github_collaborators`]: fills `drift`.
    pub github: Option<&'a [GithubRepository]>,
    /// Only this agent (`--agent ID`); an id no agent has gives an empty report.
    pub agent: Option<&'a str>,
    pub progress: Option<Progress<'a>>,
    /// How many threads share the agents out; 0 (the default): as many as the machine runs.
    pub threads: usize,
}

impl std::fmt::Debug for ReportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportOptions")
            .field("now", &self.now)
            .field("reviews", &self.reviews.len())
            .field("github", &self.github.map(<[_]>::len))
            .field("agent", &self.agent)
            .field("progress", &self.progress.is_some())
            .field("threads", &self.threads)
            .finish()
    }
}

impl<'a> ReportOptions<'a> {
    /// Options at `now`, with no review states (every agent never reviewed), no GitHub import,
    /// every agent, no progress callback, as many threads as the machine runs.
    pub fn new(now: Timestamp) -> ReportOptions<'a> {
        ReportOptions {
            now,
            reviews: &NO_REVIEWS,
            github: None,
            agent: None,
            progress: None,
            threads: 0,
        }
    }

    pub fn reviews(mut self, reviews: &'a BTreeMap<String, ReviewState>) -> Self {
        self.reviews = reviews;
        self
    }

    pub fn github(mut self, repositories: &'a [GithubRepository]) -> Self {
        self.github = Some(repositories);
        self
    }

    pub fn agent(mut self, agent: &'a str) -> Self {
        self.agent = Some(agent);
        self
    }

    pub fn progress(mut self, progress: Progress<'a>) -> Self {
        self.progress = Some(progress);
        self
    }

    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// Builds the blast-radius report.
///
/// Cost: one index of the file (linear), then per agent one breadth-first search over the
/// `(resource, access)` states it reaches and one backwards walk over the same states; nothing
/// is quadratic in the size of the organisation. Agents are shared out over
/// [`ReportOptions::threads`] threads; the report is the same whatever their number.
pub fn report<'g>(governance: &'g Governance, options: &ReportOptions<'_>) -> Report<'g> {
    let index = ReachIndex::new(governance);
    let roles: HashMap<&str, &Role> = governance
        .roles
        .iter()
        .map(|r| (r.name.as_str(), r))
        .collect();
    let agents: Vec<(usize, &'g Agent)> = governance
        .agents
        .iter()
        .enumerate()
        .filter(|(_, a)| options.agent.is_none_or(|id| a.id == id))
        .collect();
    let total = agents.len();
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .clamp(1, total.max(1));
    let done = Mutex::new(0usize);
    let work = |chunk: &[(usize, &'g Agent)]| -> Vec<AgentReport<'g>> {
        let mut worker = Worker::new(&index);
        chunk
            .iter()
            .map(|&(a, agent)| {
                let role = roles.get(agent.role.as_str()).copied();
                let report = worker.agent(a, agent, role, governance, options);
                if let Some(progress) = options.progress {
                    // One lock for the count and the call, so the callback sees 1, 2, … total.
                    let mut done = done.lock().unwrap_or_else(PoisonError::into_inner);
                    *done += 1;
                    progress(*done, total);
                }
                report
            })
            .collect()
    };
    let out = if threads == 1 {
        work(&agents)
    } else {
        let size = total.div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = agents
                .chunks(size)
                .map(|chunk| scope.spawn(|| work(chunk)))
                .collect();
            let mut out = Vec::with_capacity(total);
            for handle in handles {
                match handle.join() {
                    Ok(part) => out.extend(part),
                    // A worker only panics on a bug; carry it to the caller as it was.
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            out
        })
    };
    let drift = match options.github {
        Some(repositories) => drift(governance, repositories)
            .into_iter()
            .filter(|d| options.agent.is_none_or(|id| d.agent == id))
            .collect(),
        None => Vec::new(),
    };
    Report { agents: out, drift }
}

/// One thread's working memory: the search scratch and buffers reused from agent to agent.
struct Worker<'i, 'g> {
    index: &'i ReachIndex<'g>,
    scratch: Scratch,
    /// Per state: its position in the agent's sorted reach list (valid for reached states only).
    position: Vec<u32>,
    sorted: Vec<State>,
}

const READ: &[Access] = &[Access::Read];
const WRITE: &[Access] = &[Access::Write];
const READ_WRITE: &[Access] = &[Access::Read, Access::Write];

impl<'i, 'g> Worker<'i, 'g> {
    fn new(index: &'i ReachIndex<'g>) -> Self {
        let scratch = index.scratch();
        let states = index.states();
        Worker {
            index,
            scratch,
            position: vec![0; states],
            sorted: Vec::new(),
        }
    }

    fn agent(
        &mut self,
        a: usize,
        agent: &'g Agent,
        role: Option<&Role>,
        governance: &Governance,
        options: &ReportOptions<'_>,
    ) -> AgentReport<'g> {
        let index = self.index;
        let ceiling = role.map_or(Sensitivity::Public, |r| r.ceiling);
        let search = index.search(a, agent, ceiling, &mut self.scratch);
        let grant_access = |s: State| -> GrantAccess<'g> {
            let source = search.source(s);
            let location = search
                .grant_of(s)
                .and_then(|g| agent.grants.get(g))
                .map_or_else(Location::default, |g| g.location);
            GrantAccess {
                resource: index.id(resource_of(source)),
                access: access_of(source),
                location,
            }
        };

        // States are numbered in (resource id, access) order: sorting them sorts the reach.
        self.sorted.clear();
        self.sorted.extend_from_slice(search.reached());
        self.sorted.sort_unstable();
        for (i, &s) in (0u32..).zip(&self.sorted) {
            if let Some(slot) = self.position.get_mut(s as usize) {
                *slot = i;
            }
        }
        let position = &self.position;
        let mut reach = Vec::with_capacity(self.sorted.len());
        for &s in &self.sorted {
            let r = resource_of(s);
            reach.push(Reach {
                resource: index.id(r),
                access: access_of(s),
                sensitivity: index.sensitivity(r),
                previous: search
                    .parent(s)
                    .and_then(|p| position.get(p as usize).copied()),
            });
        }

        let mut excess = Vec::new();
        let mut revoke = Vec::new();
        if search.any_excess() {
            // Sorted, the two accesses of a resource are neighbours.
            let mut i = 0;
            while let Some(&s) = self.sorted.get(i) {
                let r = resource_of(s);
                let next = self
                    .sorted
                    .get(i + 1)
                    .copied()
                    .filter(|&t| resource_of(t) == r);
                let start = i;
                i += if next.is_some() { 2 } else { 1 };
                if index.sensitivity(r) <= ceiling {
                    continue;
                }
                let (shown, at, access) = match next {
                    Some(t) if search.depth(t) < search.depth(s) => (t, start + 1, READ_WRITE),
                    Some(_) => (s, start, READ_WRITE),
                    None if access_of(s) == Access::Read => (s, start, READ),
                    None => (s, start, WRITE),
                };
                excess.push(Excess {
                    resource: index.id(r),
                    sensitivity: index.sensitivity(r),
                    ceiling,
                    access,
                    reach: at,
                    grant: grant_access(shown),
                });
            }
            // Reach is the union of what each grant access reaches on its own (reach edges only
            // add), so the grant accesses that lead to excess are exactly those that must go:
            // removing all of them ends the excess, and keeping any one back keeps what it
            // reaches. That makes this set irreducible (indeed the only minimal one).
            for &s in search.granted() {
                if search.leads_to_excess(s) {
                    revoke.push(grant_access(s));
                }
            }
        }

        let mcp = mcp_tools(index, &search, role);
        let mut flags = review_flags(
            options.reviews.get(agent.id.as_str()),
            options.now,
            governance.blast_radius.review_every,
            || reach_fingerprint(&reach),
        );
        if role.is_none() {
            flags.push(Flag::UnknownRole);
        }
        AgentReport {
            id: &agent.id,
            role: &agent.role,
            ceiling,
            reach,
            excess,
            revoke,
            flags,
            mcp,
            location: agent.location,
        }
    }
}

fn mcp_tools<'g>(
    index: &ReachIndex<'g>,
    search: &Search<'_>,
    role: Option<&Role>,
) -> Vec<McpServerTools<'g>> {
    let mut servers: Vec<u32> = search
        .reached()
        .iter()
        .map(|&s| resource_of(s))
        .filter(|&r| index.is_mcp(r))
        .collect();
    servers.sort_unstable();
    servers.dedup();
    let mut out = Vec::with_capacity(servers.len());
    for r in servers {
        let Some(resource) = index.resource(r) else {
            continue;
        };
        let mut tools = McpServerTools {
            server: &resource.id,
            reachable: Vec::new(),
            unreachable: Vec::new(),
        };
        for (tool, &access) in &resource.tools {
            let listed = role.is_some_and(|role| {
                role.tools.iter().any(|t| {
                    t.strip_prefix("mcp:")
                        .and_then(|t| t.split_once('/'))
                        .is_some_and(|(server, name)| server == resource.name() && name == tool)
                })
            });
            let reason = if !listed {
                Some("not-in-role")
            } else if !search.reaches(state(r, access)) {
                Some("access-not-reached")
            } else {
                None
            };
            let entry = McpTool {
                tool,
                access,
                reason,
            };
            match reason {
                None => tools.reachable.push(entry),
                Some(_) => tools.unreachable.push(entry),
            }
        }
        out.push(tools);
    }
    out
}

/// The review flags of one agent: never reviewed, review overdue (older than `review_every` at
/// `now`), reach changed since the review (the fingerprint is computed only when there is one to
/// compare), and an operator's or the monitor's flag.
pub fn review_flags(
    review: Option<&ReviewState>,
    now: Timestamp,
    review_every: SignedDuration,
    fingerprint: impl FnOnce() -> String,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    let review = review.cloned().unwrap_or_default();
    match review.reviewed_at {
        None => flags.push(Flag::NeverReviewed),
        Some(reviewed_at) => {
            if now.duration_since(reviewed_at) > review_every {
                let due = reviewed_at.checked_add(review_every).unwrap_or(reviewed_at);
                flags.push(Flag::ReviewOverdue { reviewed_at, due });
            }
        }
    }
    if let Some(reviewed) = review.fingerprint {
        let current = fingerprint();
        if current != reviewed {
            flags.push(Flag::ReachChanged { reviewed, current });
        }
    }
    if let Some(reason) = review.flagged {
        flags.push(Flag::Flagged { reason });
    }
    flags
}

/// A fingerprint of an agent's reach: SHA-256 over its sorted set of `(resource, access)`, as
/// `sha256:<hex>`. Paths do not count: a new way to reach the same things is not a new reach.
/// The engine stores it when a review is recorded and passes it back in [`ReviewState`].
pub fn reach_fingerprint(reach: &[Reach<'_>]) -> String {
    let mut set: Vec<(&str, Access)> = reach.iter().map(|r| (r.resource, r.access)).collect();
    set.sort_unstable();
    set.dedup();
    let mut hash = Sha256::new();
    for (resource, access) in set {
        hash.update(resource.as_bytes());
        hash.update(b"\t");
        hash.update(access.as_str().as_bytes());
        hash.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hash.finalize()))
}

impl Serialize for AgentReport<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("AgentReport", 9)?;
        out.serialize_field("id", self.id)?;
        out.serialize_field("role", self.role)?;
        out.serialize_field("ceiling", &self.ceiling)?;
        out.serialize_field("reach", &ReachJson(self))?;
        out.serialize_field("excess", &ExcessJson(self))?;
        out.serialize_field("revoke", &self.revoke)?;
        out.serialize_field("flags", &self.flags)?;
        if self.mcp.is_empty() {
            out.skip_field("mcp")?;
        } else {
            out.serialize_field("mcp", &self.mcp)?;
        }
        out.serialize_field("location", &self.location)?;
        out.end()
    }
}

/// An agent's reach list with each entry's path spelled out.
struct ReachJson<'a, 'g>(&'a AgentReport<'g>);

impl Serialize for ReachJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let agent = self.0;
        let mut out = serializer.serialize_seq(Some(agent.reach.len()))?;
        for (i, r) in agent.reach.iter().enumerate() {
            out.serialize_element(&ReachEntryJson {
                r,
                path: agent.path(i),
            })?;
        }
        out.end()
    }
}

struct ReachEntryJson<'a, 'g> {
    r: &'a Reach<'g>,
    path: Vec<&'g str>,
}

impl Serialize for ReachEntryJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(4))?;
        out.serialize_entry("resource", self.r.resource)?;
        out.serialize_entry("access", &self.r.access)?;
        out.serialize_entry("sensitivity", &self.r.sensitivity)?;
        out.serialize_entry("path", &self.path)?;
        out.end()
    }
}

/// An agent's excess list with each entry's path spelled out.
struct ExcessJson<'a, 'g>(&'a AgentReport<'g>);

impl Serialize for ExcessJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let agent = self.0;
        let mut out = serializer.serialize_seq(Some(agent.excess.len()))?;
        for e in &agent.excess {
            out.serialize_element(&ExcessEntryJson {
                e,
                path: agent.path(e.reach),
            })?;
        }
        out.end()
    }
}

struct ExcessEntryJson<'a, 'g> {
    e: &'a Excess<'g>,
    path: Vec<&'g str>,
}

impl Serialize for ExcessEntryJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(6))?;
        out.serialize_entry("resource", self.e.resource)?;
        out.serialize_entry("sensitivity", &self.e.sensitivity)?;
        out.serialize_entry("ceiling", &self.e.ceiling)?;
        out.serialize_entry("access", self.e.access)?;
        out.serialize_entry("path", &self.path)?;
        out.serialize_entry("grant", &self.e.grant)?;
        out.end()
    }
}
