//! Writes a generated organisation as a governance file on stdout, for timing the `warden`
//! binary at scale (`scripts/bench-blast-radius`). `WARDEN_BENCH_AGENTS` shrinks it; the default is
//! the blast-radius benchmark's 10,000 agents, 100,000 resources and 500,000 grants and reach
//! edges.
//!
//! Run: `cargo run --release -p warden-core --example generate-org > org.yaml`

use std::fmt::Write as _;
use std::io::Write as _;

use warden_core::blast_radius::generate::{generate, OrgShape};

fn main() -> std::io::Result<()> {
    let mut shape = OrgShape::benchmark();
    if let Some(agents) = std::env::var("WARDEN_BENCH_AGENTS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let scale = agents as f64 / shape.agents as f64;
        shape.agents = agents;
        shape.resources = ((shape.resources as f64 * scale) as usize).max(10);
        shape.edges = ((shape.edges as f64 * scale) as usize).max(10);
    }
    let g = generate(&shape);
    let mut yaml = String::from("version: 1\norg: gen\ntrust_domain: gen.dev\n\nresources:\n");
    for r in &g.resources {
        let _ = writeln!(yaml, "  - id: {}\n    sensitivity: {}", r.id, r.sensitivity);
        if !r.tools.is_empty() {
            let tools: Vec<String> = r.tools.iter().map(|(t, a)| format!("{t}: {a}")).collect();
            let _ = writeln!(yaml, "    tools: {{ {} }}", tools.join(", "));
        }
    }
    yaml.push_str("\nreach:\n");
    for e in &g.reach {
        let _ = writeln!(
            yaml,
            "  - {{ from: {}, access: {}, to: {}, gives: {}, why: generated }}",
            e.from, e.access, e.to, e.gives
        );
    }
    yaml.push_str("\nroles:\n");
    for r in &g.roles {
        let _ = writeln!(
            yaml,
            "  {}:\n    ceiling: {}\n    tools: [{}]",
            r.name,
            r.ceiling,
            r.tools
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    yaml.push_str("\nagents:\n");
    for a in &g.agents {
        let _ = writeln!(
            yaml,
            "  - id: {}\n    owner: {}\n    role: {}\n    grants:",
            a.id, a.owner, a.role
        );
        for grant in &a.grants {
            let access: Vec<&str> = grant.access.iter().map(|x| x.as_str()).collect();
            let _ = writeln!(
                yaml,
                "      - {{ resource: {}, access: [{}] }}",
                grant.resource,
                access.join(", ")
            );
        }
    }
    eprintln!(
        "{} agents, {} resources, {} reach edges, {} MB",
        g.agents.len(),
        g.resources.len(),
        g.reach.len(),
        yaml.len() / 1_000_000
    );
    std::io::stdout().lock().write_all(yaml.as_bytes())
}
