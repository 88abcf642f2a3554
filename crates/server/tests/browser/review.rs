//! The reviewer's day in the browser: two agents' calls open two gates while one agent waits on
//! its gate with a long poll; a reviewer signs in with a token, reads the first gate's context,
//! approves it with the real form button, and the agent's long poll returns and its same call
//! is then allowed; the reviewer denies the second; the dashboard shows both.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::harness::{browser_binaries, screenshot, Driver, Server};

/// codex-fixer pushes to `main` of repo:acme/web (protected) touching auth code: a review, with
/// a diff and the agent's own words for the reviewer.
fn push_to_main() -> Value {
    json!({
        "tool": "git.push",
        "resource": "repo:acme/web",
        "context": {
            "branch": "main",
            "files": ["src/auth/session.ts", "README.md"],
            "diff": "--- a/src/auth/session.ts\n+++ b/src/auth/session.ts\n-const TTL = 3600;\n+const TTL = 86400;\n",
            "reason": "Users complain about being logged out; extend the session lifetime."
        }
    })
}

/// docs-bot changes a CI workflow in repo:acme/docs: a review (pipeline definitions).
fn workflow_change() -> Value {
    json!({
        "tool": "git.push",
        "resource": "repo:acme/docs",
        "context": { "branch": "docs/ci", "files": [".github/workflows/publish.yml"] }
    })
}

async fn text_of(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("`{css}` is on the page: {e}"))
        .text()
        .await
        .expect("its text")
}

#[test]
fn a_reviewer_approves_and_denies_in_the_browser_and_the_agent_waits_for_it() {
    let Some((chromium, chromedriver)) = browser_binaries() else {
        return;
    };
    let server = Server::start();
    let codex = server.agent_token("codex-fixer");
    let docs = server.agent_token("docs-bot");

    // An allowed call of each agent first, so that the dashboard has more than gates.
    let read = server.decide(
        &codex,
        &json!({"tool": "fs.read", "resource": "repo:acme/web"}),
    );
    assert_eq!(read["decision"], "allow", "{read}");
    server.decide(
        &docs,
        &json!({"tool": "fs.read", "resource": "repo:acme/docs"}),
    );

    let first = server.decide(&codex, &push_to_main());
    assert_eq!(first["decision"], "review", "{first}");
    let push_gate = first["gate"]["id"].as_str().unwrap().to_owned();
    let second = server.decide(&docs, &workflow_change());
    assert_eq!(second["decision"], "review", "{second}");
    let workflow_gate = second["gate"]["id"].as_str().unwrap().to_owned();

    // The agent waits on its gate the way an agent's hook does: a long poll with its token.
    let poll = {
        let http = server.http();
        let url = format!("{}/v1/gates/{push_gate}?wait=30", server.url);
        let token = codex.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            let reply = crate::harness::reply(
                http.get(&url)
                    .header("Authorization", format!("Bearer {token}"))
                    .call(),
            );
            (reply, started.elapsed())
        })
    };

    // The browser gets a runtime of its own: the server runs in another, and the agent's side
    // is blocking HTTP.
    let driver = Driver::start(&chromedriver);
    let local = Server::start_with(warden_server::AuthConfig { local_trust: true });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        let browser = driver.browser(&chromium).await;
        let mut result = drive(&browser, &server, &push_gate, &workflow_gate).await;
        if result.is_ok() {
            result = local_trust(&browser, &local).await;
        }
        let _ = browser.close().await;
        result
    });
    result.unwrap_or_else(|e| panic!("{e}"));

    let (reply, waited) = poll.join().expect("the long poll returns");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["status"], "approved", "{reply:?}");
    assert_eq!(reply.json["answered_by"], "alice@acme.dev");
    assert!(
        waited < Duration::from_secs(30),
        "the poll returned on the answer, not at its timeout ({waited:?})"
    );

    // The same call now passes, once.
    let again = server.decide(&codex, &push_to_main());
    assert_eq!(again["decision"], "allow", "{again}");
    let denied = server.engine.gate(&workflow_gate).expect("the gate");
    assert_eq!(denied.status.as_str(), "denied");
    assert_eq!(denied.answered_by.as_deref(), Some("alice@acme.dev"));
    assert_eq!(
        denied.comment.as_deref(),
        Some("workflows change through a person")
    );
}

/// Everything the browser does; errors come back as text so the browser is closed either way.
async fn drive(
    browser: &Client,
    server: &Server,
    push_gate: &str,
    workflow_gate: &str,
) -> Result<(), String> {
    let url = |path: &str| format!("{}{path}", server.url);
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");

    // The browser runs no page scripts, so everything below works without JavaScript.
    browser
        .goto("data:text/html,<title>off</title><script>document.title='on'</script>")
        .await
        .map_err(e("a scripted page"))?;
    assert_eq!(
        browser.title().await.map_err(e("its title"))?,
        "off",
        "page scripts are off"
    );

    // Pages other than the login page send a stranger to sign in.
    browser
        .goto(&url("/gates"))
        .await
        .map_err(e("open the queue"))?;
    let here = browser.current_url().await.map_err(e("url"))?;
    assert!(
        here.path() == "/login",
        "not signed in: sent to /login, not {here}"
    );

    // Sign in with a reviewer token. alice@acme.dev owns neither agent, so may answer both.
    let token = server.reviewer_token("alice@acme.dev");
    browser
        .find(Locator::Css("#token"))
        .await
        .map_err(e("the token field"))?
        .send_keys(&token)
        .await
        .map_err(e("typing the token"))?;
    screenshot(browser, "01-login").await;
    browser
        .find(Locator::Css("#sign-in"))
        .await
        .map_err(e("the sign-in button"))?
        .click()
        .await
        .map_err(e("signing in"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#queue"))
        .await
        .map_err(e("the queue after signing in"))?;
    assert!(text_of(browser, "#who").await.contains("alice@acme.dev"));

    // The queue lists both gates, oldest first.
    let queue = browser.source().await.map_err(e("the queue's source"))?;
    let (a, b) = (
        queue.find(push_gate).expect("the push gate is listed"),
        queue
            .find(workflow_gate)
            .expect("the workflow gate is listed"),
    );
    assert!(a < b, "oldest first");
    screenshot(browser, "02-queue").await;

    // While they wait, the dashboard lists both gates as open alerts.
    browser
        .goto(&url("/dashboard"))
        .await
        .map_err(e("the dashboard with open gates"))?;
    let alerts = text_of(browser, "#alerts").await;
    assert!(
        alerts.contains("codex-fixer")
            && alerts.contains("docs-bot")
            && alerts.contains("waits for a reviewer"),
        "{alerts}"
    );
    screenshot(browser, "02b-dashboard-pending").await;
    browser
        .goto(&url("/gates"))
        .await
        .map_err(e("back to the queue"))?;

    // The push gate's page: what, why, what it affects, who, how long.
    browser
        .find(Locator::Css(&format!("a[href='/gates/{push_gate}']")))
        .await
        .map_err(e("the push gate's link"))?
        .click()
        .await
        .map_err(e("opening the gate"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#answer"))
        .await
        .map_err(e("the gate page"))?;
    let action = text_of(browser, "#action").await;
    for expected in [
        "git.push",
        "repo:acme/web",
        "main",
        "src/auth/session.ts",
        "auth",
        "const TTL = 86400;",
        "The agent's own account (not verified)",
        "extend the session lifetime",
    ] {
        // Compared without case: labels are upper-cased by the stylesheet, and WebDriver
        // returns the text as rendered.
        assert!(
            action.to_lowercase().contains(&expected.to_lowercase()),
            "`{expected}` in the action card: {action}"
        );
    }
    let why = text_of(browser, "#why").await;
    for expected in ["gate.protected-branch", "gate.auth", "ASI"] {
        assert!(why.contains(expected), "`{expected}` in the reasons: {why}");
    }
    let affected = text_of(browser, "#affected").await;
    assert!(
        affected.contains("repo:acme/web") && affected.contains("internal"),
        "{affected}"
    );
    assert!(
        affected.contains("secret:ci/npm-token"),
        "reached through the repository: {affected}"
    );
    let agent = text_of(browser, "#agent").await;
    for expected in [
        "codex-fixer",
        "bob@acme.dev",
        "bugfix",
        "spiffe://acme.dev/agent/codex-fixer",
        "fs.read",
    ] {
        assert!(
            agent.contains(expected),
            "`{expected}` about the agent: {agent}"
        );
    }
    let summary = text_of(browser, "#summary").await;
    assert!(summary.contains("expires in"), "{summary}");
    screenshot(browser, "03-gate").await;

    // Approve with the real form button.
    browser
        .find(Locator::Css("#comment"))
        .await
        .map_err(e("the comment field"))?
        .send_keys("checked with bob: the longer session is intended")
        .await
        .map_err(e("typing the comment"))?;
    browser
        .find(Locator::Css("#approve"))
        .await
        .map_err(e("the approve button"))?
        .click()
        .await
        .map_err(e("approving"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".notice.ok"))
        .await
        .map_err(e("the approval's confirmation"))?;
    let answer = text_of(browser, "#answer").await;
    assert!(
        answer.contains("approved") && answer.contains("alice@acme.dev"),
        "{answer}"
    );
    screenshot(browser, "04-approved").await;

    // Deny the other from its page.
    browser
        .goto(&url(&format!("/gates/{workflow_gate}")))
        .await
        .map_err(e("opening the workflow gate"))?;
    let why = text_of(browser, "#why").await;
    assert!(why.contains("gate.pipeline"), "{why}");
    browser
        .find(Locator::Css("#comment"))
        .await
        .map_err(e("the comment field"))?
        .send_keys("workflows change through a person")
        .await
        .map_err(e("typing the comment"))?;
    browser
        .find(Locator::Css("#deny"))
        .await
        .map_err(e("the deny button"))?
        .click()
        .await
        .map_err(e("denying"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(".notice.ok"))
        .await
        .map_err(e("the denial's confirmation"))?;
    assert!(text_of(browser, "#answer").await.contains("denied"));

    // The queue is empty; both gates are under "recently closed".
    browser.goto(&url("/gates")).await.map_err(e("the queue"))?;
    assert!(text_of(browser, "#queue-empty")
        .await
        .contains("No gate is waiting"));
    let closed = text_of(browser, "#closed").await;
    assert!(
        closed.contains("approved") && closed.contains("denied"),
        "{closed}"
    );

    // The dashboard shows both agents' calls, reviewed and answered.
    browser
        .goto(&url("/dashboard?window=24h"))
        .await
        .map_err(e("the dashboard"))?;
    let matrix = text_of(browser, "#matrix").await;
    assert!(
        matrix.contains("codex-fixer") && matrix.contains("docs-bot"),
        "{matrix}"
    );
    let web = text_of(
        browser,
        "#matrix tr[data-agent='codex-fixer'] td[data-repo='repo:acme/web']",
    )
    .await;
    assert_eq!(
        web, "1 · 0 · 1",
        "one read allowed, one push sent to review"
    );
    let docs = text_of(
        browser,
        "#matrix tr[data-agent='docs-bot'] td[data-repo='repo:acme/docs']",
    )
    .await;
    assert_eq!(docs, "1 · 0 · 1");
    let recent = text_of(browser, "#recent").await;
    assert!(
        recent.contains("codex-fixer") && recent.contains("docs-bot"),
        "{recent}"
    );
    assert!(
        recent.contains("gate.protected-branch") && recent.contains("gate.pipeline"),
        "{recent}"
    );
    let answered = text_of(browser, "#answered").await;
    assert!(
        answered.contains("approved") && answered.contains("denied"),
        "both answers: {answered}"
    );
    let plots = browser
        .find_all(Locator::Css("#activity svg.plot"))
        .await
        .map_err(e("the plots"))?;
    assert!(plots.len() >= 2, "a plot per agent");
    screenshot(browser, "05-dashboard").await;

    // Filtered to one agent: only its row.
    browser
        .goto(&url("/dashboard?agent=docs-bot&window=1h"))
        .await
        .map_err(e("the filtered dashboard"))?;
    let matrix = text_of(browser, "#matrix").await;
    assert!(
        matrix.contains("docs-bot") && !matrix.contains("codex-fixer"),
        "{matrix}"
    );

    // Signing out (a CSRF-bound form too) ends the session.
    browser
        .find(Locator::Css("header .who button"))
        .await
        .map_err(e("the sign-out button"))?
        .click()
        .await
        .map_err(e("signing out"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#token"))
        .await
        .map_err(e("the sign-in page after signing out"))?;
    browser.goto(&url("/gates")).await.map_err(e("the queue"))?;
    let here = browser.current_url().await.map_err(e("url"))?;
    assert_eq!(here.path(), "/login", "signed out");
    Ok(())
}

/// A server in `--local-trust` mode says so on every page, and the person picks which listed
/// reviewer they are.
async fn local_trust(browser: &Client, server: &Server) -> Result<(), String> {
    let e = |what: &'static str| move |err: fantoccini::error::CmdError| format!("{what}: {err}");
    browser
        .goto(&format!("{}/login", server.url))
        .await
        .map_err(e("the local-trust sign-in"))?;
    assert!(text_of(browser, "#local-trust")
        .await
        .contains("Local trust mode"));
    screenshot(browser, "06-local-trust-login").await;
    browser
        .find(Locator::Css("#local-login button[value='alice@acme.dev']"))
        .await
        .map_err(e("alice's button"))?
        .click()
        .await
        .map_err(e("picking alice"))?;
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#queue-empty"))
        .await
        .map_err(e("the queue"))?;
    assert!(text_of(browser, "#who").await.contains("alice@acme.dev"));
    assert!(text_of(browser, "#local-trust")
        .await
        .contains("Local trust mode"));
    browser
        .goto(&format!("{}/dashboard", server.url))
        .await
        .map_err(e("the dashboard"))?;
    assert!(text_of(browser, "#local-trust")
        .await
        .contains("Local trust mode"));
    Ok(())
}
