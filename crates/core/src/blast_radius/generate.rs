//! A seeded generator of large synthetic organisations, for the blast-radius benchmark and for
//! trying Warden at scale (`warden` may expose it later).
//!
//! The same [`OrgShape`] (seed included) always gives the same [`Governance`]: the randomness is
//! a SplitMix64 stream kept here, so the core stays a pure function of its inputs. Resources are
//! laid out in `max_hops + 1` layers and reach edges lead from one layer to the next, so implied
//! reach chains are at most `max_hops` long; a small share of edges point back along an existing
//! edge, closing cycles.

use std::collections::BTreeMap;

use crate::governance::{
    Access, Agent, BlastRadiusConfig, GatesConfig, Governance, Grant, IdentityConfig, Location,
    MonitorConfig, PathClasses, ReachEdge, Resource, ResourceKind, Role, Sensitivity,
};

/// The size and seed of a generated organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgShape {
    pub agents: usize,
    pub resources: usize,
    /// Grants and reach edges in total (about half each).
    pub edges: usize,
    /// The longest chain of reach edges (cycles aside).
    pub max_hops: usize,
    pub seed: u64,
}

impl OrgShape {
    /// The benchmark's organisation: 10,000 agents, 100,000 resources, 500,000 grants and reach
    /// edges, chains up to 6 hops.
    pub fn benchmark() -> OrgShape {
        OrgShape {
            agents: 10_000,
            resources: 100_000,
            edges: 500_000,
            max_hops: 6,
            seed: 0x5eed,
        }
    }
}

/// SplitMix64 (Steele, Lea and Flood): small, fast and good enough to shape test data.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // The multiply-shift reduction: unbiased enough for test data, and no division.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const KINDS: [ResourceKind; 6] = [
    ResourceKind::Repo,
    ResourceKind::Pipeline,
    ResourceKind::Secret,
    ResourceKind::Cloud,
    ResourceKind::Api,
    ResourceKind::Memory,
];

fn sensitivity(rng: &mut SplitMix64) -> Sensitivity {
    match rng.below(100) {
        0..30 => Sensitivity::Public,
        30..70 => Sensitivity::Internal,
        70..90 => Sensitivity::Regulated,
        _ => Sensitivity::ProductionCritical,
    }
}

fn access(rng: &mut SplitMix64) -> Access {
    if rng.chance(50) {
        Access::Read
    } else {
        Access::Write
    }
}

/// Builds the organisation. Every grant and reach edge names a declared resource, ids are
/// unique, and every agent names a declared role, as the parser would require.
pub fn generate(shape: &OrgShape) -> Governance {
    let mut rng = SplitMix64::new(shape.seed);
    let layers = shape.max_hops + 1;
    let mut line = 1usize;
    let mut at = || {
        line += 1;
        Location { line, column: 5 }
    };

    // One MCP server per thousand resources (at least one), with a few tools each.
    let servers = (shape.resources / 1000).max(1).min(shape.resources);
    let mut resources = Vec::with_capacity(shape.resources);
    for i in 0..shape.resources {
        let kind = if i < servers {
            ResourceKind::Mcp
        } else {
            KINDS[rng.below(KINDS.len())]
        };
        let name = match kind {
            ResourceKind::Repo => format!("gen/r{i}"),
            ResourceKind::Api => format!("api{i}.example.com"),
            _ => format!("r{i}"),
        };
        let tools: BTreeMap<String, Access> = if kind == ResourceKind::Mcp {
            (0..4)
                .map(|t| {
                    (
                        format!("tool{t}"),
                        if t % 2 == 0 {
                            Access::Read
                        } else {
                            Access::Write
                        },
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        resources.push(Resource {
            id: format!("{kind}:{name}"),
            kind,
            sensitivity: sensitivity(&mut rng),
            protected_branches: Vec::new(),
            external: None,
            tools,
            upstream: None,
            location: at(),
        });
    }
    // Resource `i` is in layer `i % layers`; `in_layer(l, k)` is the k-th resource of layer l.
    let per_layer = |l: usize| (shape.resources + layers - 1 - l) / layers;
    let in_layer = |l: usize, k: usize| k * layers + l;

    let grants_total = shape.edges / 2;
    let reach_total = shape.edges - grants_total;
    let mut reach: Vec<ReachEdge> = Vec::with_capacity(reach_total);
    let forward_layers = layers.saturating_sub(1).max(1);
    while reach.len() < reach_total && shape.resources > 1 {
        let back = !reach.is_empty() && rng.chance(2);
        let edge = if back {
            // Close a cycle: go back along an existing edge.
            let e = &reach[rng.below(reach.len())];
            ReachEdge {
                from: e.to.clone(),
                access: e.gives,
                to: e.from.clone(),
                gives: e.access,
                why: String::new(),
                location: Location::default(),
            }
        } else {
            let l = rng.below(forward_layers);
            let next = (l + 1) % layers;
            let from = in_layer(l, rng.below(per_layer(l)));
            let to = in_layer(next, rng.below(per_layer(next)));
            if from == to || from >= resources.len() || to >= resources.len() {
                continue;
            }
            ReachEdge {
                from: resources[from].id.clone(),
                access: access(&mut rng),
                to: resources[to].id.clone(),
                gives: access(&mut rng),
                why: String::new(),
                location: Location::default(),
            }
        };
        reach.push(ReachEdge {
            location: at(),
            ..edge
        });
    }

    let roles: Vec<Role> = Sensitivity::ALL
        .iter()
        .map(|&ceiling| Role {
            name: format!("role-{ceiling}"),
            ceiling,
            tools: vec![
                "fs.read".into(),
                "git.push".into(),
                "mcp:r0/tool0".into(),
                "mcp:r0/tool1".into(),
            ],
            file_count_threshold: None,
            rate: None,
            require_session: false,
            location: at(),
        })
        .collect();

    let mut agents = Vec::with_capacity(shape.agents);
    let mut left = grants_total;
    for i in 0..shape.agents {
        let share = left / (shape.agents - i).max(1);
        // Between half and one and a half times the average, never more than what is left; the
        // last agent takes the rest, so the total is exact.
        let count = if i + 1 == shape.agents {
            left
        } else {
            share / 2 + rng.below(share + 1)
        };
        let count = count.min(left).min(shape.resources);
        left -= count;
        let mut grants: Vec<Grant> = Vec::with_capacity(count);
        let agent_location = at();
        while grants.len() < count {
            let r = rng.below(shape.resources);
            let id = &resources[r].id;
            if grants.iter().any(|g| &g.resource == id) {
                continue;
            }
            let access = match rng.below(4) {
                0 | 1 => vec![Access::Read],
                2 => vec![Access::Write],
                _ => vec![Access::Read, Access::Write],
            };
            grants.push(Grant {
                resource: id.clone(),
                access,
                location: at(),
            });
        }
        agents.push(Agent {
            id: format!("agent-{i}"),
            owner: format!("owner{}@example.com", i % 97),
            role: roles[rng.below(roles.len())].name.clone(),
            github_login: Some(format!("agent-{i}[bot]")),
            gitlab_login: None,
            gitea_login: None,
            grants,
            location: agent_location,
        });
    }

    Governance {
        version: 1,
        org: "generated".into(),
        trust_domain: "generated.example".into(),
        resources,
        reach,
        paths: PathClasses {
            classes: BTreeMap::new(),
        },
        roles,
        agents,
        gates: GatesConfig::default(),
        policies: Vec::new(),
        blast_radius: BlastRadiusConfig::default(),
        identity: IdentityConfig::default(),
        monitor: MonitorConfig::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_the_reference_stream() {
        // The first outputs of the reference implementation seeded with 0.
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert!((0..1000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(0), 0);
    }
}
