//! The agent lifecycle through the CLI (`agent list|show|suspend|resume|revoke`) and its effect
//! on decisions (`identity.suspended`, `identity.revoked`).

use serde_json::{json, Value};

use crate::common::{list_of, req, Org};

fn read_app() -> Value {
    req("bot", "fs.read", "repo:t/app", json!(null))
}

#[test]
fn agent_list_and_show_print_the_declared_agents() {
    let org = Org::base();
    let run = org.warden_json(&["agent", "list"]);
    run.ok();
    let agents = list_of(&run.json(), "agents");
    let ids: Vec<&str> = agents.iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids, ["bot", "other", "ops-bot", "reader-bot", "strict-bot"]);

    let run = org.warden_json(&["agent", "show", "bot"]);
    run.ok();
    let doc = run.json();
    let agent = doc.get("agent").filter(|a| a.is_object()).unwrap_or(&doc);
    assert_eq!(agent["id"], "bot");
    assert_eq!(agent["status"], "active");

    org.warden(&["agent", "show", "ghost"]).refused();
}

#[test]
fn suspended_agent_is_denied_until_resumed() {
    let org = Org::base();
    org.check(&read_app()).allowed();
    org.warden(&["agent", "suspend", "bot", "--reason", "odd behaviour"])
        .ok();
    org.check(&read_app()).denied(&["identity.suspended"]);
    // Only that agent.
    org.check(&req("other", "fs.read", "repo:t/app", json!(null)))
        .allowed();
    let run = org.warden_json(&["agent", "show", "bot"]);
    run.ok();
    assert!(
        run.stdout.contains("suspended"),
        "agent show should say suspended: {}",
        run.stdout
    );

    org.warden(&["agent", "resume", "bot"]).ok();
    org.check(&read_app())
        .allowed()
        .without("identity.suspended");
}

#[test]
fn revoke_is_final_and_resume_is_refused() {
    let org = Org::base();
    org.warden(&["agent", "revoke", "bot", "--reason", "credential leaked"])
        .ok();
    org.check(&read_app()).denied(&["identity.revoked"]);
    org.warden(&["agent", "resume", "bot"]).refused();
    org.warden(&["agent", "suspend", "bot", "--reason", "again"])
        .refused();
    org.check(&read_app()).denied(&["identity.revoked"]);
}

#[test]
fn suspending_an_undeclared_agent_is_refused() {
    let org = Org::base();
    org.warden(&["agent", "suspend", "ghost", "--reason", "x"])
        .refused();
}
