//! The organisation's own rules, in Cedar (CONTRACTS §8).
//!
//! Policies are `forbid`s under an implicit `permit(principal, action, resource);`, checked
//! against the schema [`schema_text`] prints (strict validation), each with an `@id`. A matching
//! `forbid` denies with `policy.<id>`; one annotated `@review` sends the call to review instead.
//!
//! Cedar evaluates every policy in the set it is given (about 2 µs per applicable policy here,
//! see `shared/PERFORMANCE.md`), so [`Policies::compile`] slices the set once, by action: a
//! decision hands `is_authorized` only the policies that name its tool (plus any that name no
//! action), and skips Cedar entirely when there are none. The entity store (roles, agents,
//! resources) is built once per snapshot too.
//!
//! Cedar skips a policy whose evaluation errors; Warden does not fail open, so an error denies
//! with `policy.error`.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    Policy, PolicyId, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;

use crate::decision::{rules, Effect, Reason, Risk};
use crate::governance::Governance;
use crate::tools::CANONICAL;

/// A policy file's name and text, as the engine read it.
#[derive(Debug, Clone)]
pub struct PolicySource {
    pub path: String,
    pub text: String,
}

/// One problem with a policy file, located where Cedar or Warden could locate it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every problem found in the policy files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct PolicyErrors(pub Vec<PolicyError>);

/// What a policy sees of a call besides principal, action and resource. Each field is present in
/// the Cedar context only when known.
#[derive(Debug, Clone, Default)]
pub struct PolicyContext<'a> {
    pub branch: Option<&'a str>,
    pub files: Option<&'a [String]>,
    pub path_classes: Option<&'a BTreeSet<&'a str>>,
    pub host: Option<&'a str>,
    pub session: Option<&'a str>,
    pub chain_depth: Option<usize>,
    /// UTC hour, 0–23.
    pub hour: i64,
    /// ISO weekday in UTC, 1 = Monday … 7 = Sunday.
    pub weekday: i64,
}

/// The schema text the organisation's policies are checked against.
pub fn schema_text(governance: &Governance) -> String {
    let mut actions: Vec<String> = CANONICAL
        .iter()
        .map(|(name, _)| format!("{name:?}"))
        .collect();
    for resource in governance.resources.iter().filter(|r| !r.tools.is_empty()) {
        for tool in resource.tools.keys() {
            actions.push(format!("{:?}", format!("{}/{}", resource.id, tool)));
        }
    }
    format!(
        r#"// The Cedar schema for {org}'s Warden policies (`warden policy schema`).
namespace Warden {{
  // A role; every agent is `in` its role.
  entity Role;
  // A non-human identity declared in the governance file.
  entity Agent in [Role] {{ owner: String, role: String }};
  // Anything an agent could touch: `kind` is repo, secret, api, cloud, pipeline, memory, mcp or
  // agent; `sensitivity` is public, internal, regulated or production-critical, and `level` the
  // same as 0–3.
  entity Resource {{ kind: String, sensitivity: String, level: Long }};
  // What Warden knows of a call; each attribute is present only when known, so test with `has`.
  // `hour` and `weekday` are UTC; weekday 1 = Monday … 7 = Sunday.
  type CallContext = {{
    branch?: String,
    files?: Set<String>,
    file_count?: Long,
    path_classes?: Set<String>,
    host?: String,
    session?: String,
    chain_depth?: Long,
    hour?: Long,
    weekday?: Long,
  }};
  // One action per tool.
  action {actions} appliesTo {{ principal: [Agent], resource: [Resource], context: CallContext }};
}}
"#,
        org = governance.org,
        actions = actions.join(",\n    "),
    )
}

/// The compiled policies of one organisation, sliced by action.
pub struct Policies {
    authorizer: Authorizer,
    entities: Entities,
    /// Tool name → the policies that can apply to it. A tool with no
    /// entry has none.
    slices: HashMap<String, Slice>,
    /// Policies annotated `@review`.
    review: HashSet<PolicyId>,
    /// `@risk` annotations by policy.
    risks: HashMap<PolicyId, Risk>,
    /// `@message` annotations by policy.
    messages: HashMap<PolicyId, String>,
    agent_type: EntityTypeName,
    resource_type: EntityTypeName,
    action_type: EntityTypeName,
    count: usize,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies")
            .field("count", &self.count)
            .field("sliced_tools", &self.slices.len())
            .finish()
    }
}

impl Policies {
    /// Parses, validates and slices the policy files. Reports every problem of every file.
    pub fn compile(
        governance: &Governance,
        sources: &[PolicySource],
    ) -> Result<Policies, PolicyErrors> {
        let schema = match Schema::from_cedarschema_str(&schema_text(governance)) {
            Ok((schema, _warnings)) => schema,
            Err(e) => {
                return Err(PolicyErrors(vec![PolicyError {
                    path: "<schema>".into(),
                    line: 0,
                    column: 0,
                    message: format!("the generated Cedar schema does not parse: {e}"),
                }]))
            }
        };
        let mut errors = Vec::new();
        let mut policies: Vec<Policy> = Vec::new();
        let mut seen_ids: HashMap<String, String> = HashMap::new();
        for source in sources {
            let set = match PolicySet::from_str(&source.text) {
                Ok(set) => set,
                Err(e) => {
                    errors.extend(diagnostic_errors(source, &e, "syntax error"));
                    continue;
                }
            };
            if set.templates().next().is_some() {
                errors.push(located(
                    source,
                    0,
                    "templates are not supported; write a `forbid` policy",
                ));
            }
            let mut file_policies: Vec<Policy> = set.policies().cloned().collect();
            // Cedar's policy set does not keep file order; the text offset does.
            file_policies.sort_by_key(|p| source.text.find(&p.to_string()).unwrap_or(0));
            for policy in file_policies {
                let offset = source.text.find(&policy.to_string()).unwrap_or(0);
                if policy.effect() == cedar_policy::Effect::Permit {
                    errors.push(located(
                        source,
                        offset,
                        "`permit` policies are not allowed: grants in warden.yaml say what is allowed; write a `forbid`",
                    ));
                    continue;
                }
                let Some(id) = policy.annotation("id").map(str::to_owned) else {
                    errors.push(located(
                        source,
                        offset,
                        "policy has no `@id(\"…\")` annotation; every policy needs a stable id",
                    ));
                    continue;
                };
                if !is_valid_policy_id(&id) {
                    errors.push(located(
                        source,
                        offset,
                        &format!("policy id `{id}` must be letters, digits, `-`, `_` or `.`"),
                    ));
                    continue;
                }
                if let Some(first) = seen_ids.insert(id.clone(), source.path.clone()) {
                    errors.push(located(
                        source,
                        offset,
                        &format!("policy id `{id}` is already used in `{first}`"),
                    ));
                    continue;
                }
                if let Some(risk) = policy.annotation("risk") {
                    if parse_risk(risk).is_none() {
                        errors.push(located(
                            source,
                            offset,
                            &format!(
                                "`@risk(\"{risk}\")` is not an OWASP agentic risk id (ASI01–ASI10)"
                            ),
                        ));
                    }
                }
                // Validate each file's policies in place so that errors point into that file.
                let mut single = PolicySet::new();
                let renamed = policy.new_id(PolicyId::new(&id));
                if single.add(renamed.clone()).is_ok() {
                    let result =
                        Validator::new(schema.clone()).validate(&single, ValidationMode::Strict);
                    for error in result.validation_errors() {
                        let at = error
                            .labels()
                            .and_then(|mut labels| labels.next())
                            .map_or(offset, |label| label.offset());
                        errors.push(located(source, at, &format!("policy `{id}`: {error}")));
                    }
                }
                policies.push(renamed);
            }
        }
        if !errors.is_empty() {
            return Err(PolicyErrors(errors));
        }
        Policies::slice(governance, policies).map_err(|message| {
            PolicyErrors(vec![PolicyError {
                path: "<policies>".into(),
                line: 0,
                column: 0,
                message,
            }])
        })
    }

    fn slice(governance: &Governance, policies: Vec<Policy>) -> Result<Policies, String> {
        let agent_type = type_name("Warden::Agent")?;
        let resource_type = type_name("Warden::Resource")?;
        let role_type = type_name("Warden::Role")?;
        let action_type = type_name("Warden::Action")?;

        let mut per_action: HashMap<String, Vec<Policy>> = HashMap::new();
        let mut any_action: Vec<Policy> = Vec::new();
        let mut review = HashSet::new();
        let mut risks = HashMap::new();
        let mut messages = HashMap::new();
        for policy in &policies {
            if policy.annotation("review").is_some() {
                review.insert(policy.id().clone());
            }
            if let Some(risk) = policy.annotation("risk").and_then(parse_risk) {
                risks.insert(policy.id().clone(), risk);
            }
            if let Some(message) = policy
                .annotation("message")
                .or_else(|| policy.annotation("review"))
            {
                if !message.is_empty() {
                    messages.insert(policy.id().clone(), message.to_owned());
                }
            }
            match policy.action_constraint() {
                ActionConstraint::Any => any_action.push(policy.clone()),
                ActionConstraint::Eq(uid) => per_action
                    .entry(uid.id().unescaped().to_owned())
                    .or_default()
                    .push(policy.clone()),
                ActionConstraint::In(uids) => {
                    for uid in uids {
                        per_action
                            .entry(uid.id().unescaped().to_owned())
                            .or_default()
                            .push(policy.clone());
                    }
                }
            }
        }
        let mut all_tools: Vec<String> = CANONICAL.iter().map(|(n, _)| (*n).to_owned()).collect();
        for resource in governance.resources.iter().filter(|r| !r.tools.is_empty()) {
            all_tools.extend(
                resource
                    .tools
                    .keys()
                    .map(|t| format!("{}/{}", resource.id, t)),
            );
        }
        let mut slices = HashMap::new();
        for tool in all_tools {
            let specific = per_action.remove(&tool).unwrap_or_default();
            if specific.is_empty() && any_action.is_empty() {
                continue;
            }
            let reads = ContextReads::of(any_action.iter().chain(&specific));
            let policies = PolicySet::from_policies(
                // The implicit `permit` is not handed to Cedar: Warden reads only which forbids
                // matched and which errored, so evaluating a permit would cost without telling.
                any_action.iter().cloned().chain(specific),
            )
            .map_err(|e| e.to_string())?;
            slices.insert(tool, Slice { policies, reads });
        }

        let mut entities = Vec::new();
        for role in &governance.roles {
            entities.push(Entity::new_no_attrs(
                uid(&role_type, &role.name),
                HashSet::new(),
            ));
        }
        for agent in &governance.agents {
            let attrs = HashMap::from([
                (
                    "owner".to_owned(),
                    RestrictedExpression::new_string(agent.owner.clone()),
                ),
                (
                    "role".to_owned(),
                    RestrictedExpression::new_string(agent.role.clone()),
                ),
            ]);
            let parents = HashSet::from([uid(&role_type, &agent.role)]);
            entities.push(
                Entity::new(uid(&agent_type, &agent.id), attrs, parents)
                    .map_err(|e| e.to_string())?,
            );
        }
        for resource in &governance.resources {
            let attrs = HashMap::from([
                (
                    "kind".to_owned(),
                    RestrictedExpression::new_string(resource.kind.as_str().to_owned()),
                ),
                (
                    "sensitivity".to_owned(),
                    RestrictedExpression::new_string(resource.sensitivity.as_str().to_owned()),
                ),
                (
                    "level".to_owned(),
                    RestrictedExpression::new_long(resource.sensitivity.level()),
                ),
            ]);
            entities.push(
                Entity::new(uid(&resource_type, &resource.id), attrs, HashSet::new())
                    .map_err(|e| e.to_string())?,
            );
        }
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        Ok(Policies {
            authorizer: Authorizer::new(),
            entities,
            slices,
            review,
            risks,
            messages,
            agent_type,
            resource_type,
            action_type,
            count: policies.len(),
        })
    }

    /// How many organisation policies there are.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether any policy can apply to `tool` (if not, [`Policies::evaluate`] does nothing).
    pub fn applies_to(&self, tool: &str) -> bool {
        self.slices.contains_key(tool)
    }

    /// Evaluates the policies that can apply to this call and adds their reasons.
    pub fn evaluate(
        &self,
        agent: &str,
        tool: &str,
        resource: &str,
        context: &PolicyContext<'_>,
        reasons: &mut Vec<Reason>,
    ) {
        let Some(slice) = self.slices.get(tool) else {
            return;
        };
        let request = match self.request(agent, tool, resource, context, &slice.reads) {
            Ok(request) => request,
            Err(message) => {
                reasons.push(Reason::of(
                    &rules::POLICY_ERROR,
                    format!("the call could not be put to the policies: {message}"),
                ));
                return;
            }
        };
        let response = self
            .authorizer
            .is_authorized(&request, &slice.policies, &self.entities);
        for error in response.diagnostics().errors() {
            reasons.push(Reason::of(
                &rules::POLICY_ERROR,
                format!("policy evaluation failed: {error}"),
            ));
        }
        // Every policy in a slice is a forbid, so the determining policies are the forbids that
        // matched (Cedar's own decision is always deny without a permit, and is not used).
        let mut matched: Vec<&PolicyId> = response.diagnostics().reason().collect();
        matched.sort_by(|a, b| AsRef::<str>::as_ref(a).cmp(AsRef::<str>::as_ref(b)));
        for id in matched {
            let is_review = self.review.contains(id);
            let message = self
                .messages
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("organisation policy `{id}` forbids this call"));
            reasons.push(Reason {
                rule: Cow::Owned(format!("policy.{id}")),
                risk: self.risks.get(id).copied(),
                effect: if is_review {
                    Effect::Review
                } else {
                    Effect::Deny
                },
                message,
            });
        }
    }

    fn request(
        &self,
        agent: &str,
        tool: &str,
        resource: &str,
        c: &PolicyContext<'_>,
        reads: &ContextReads,
    ) -> Result<Request, String> {
        let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(9);
        let string = |s: &str| RestrictedExpression::new_string(s.to_owned());
        let long = |n: usize| RestrictedExpression::new_long(i64::try_from(n).unwrap_or(i64::MAX));
        if let Some(branch) = c.branch.filter(|_| reads.branch) {
            pairs.push(("branch".into(), string(branch)));
        }
        if let Some(files) = c.files {
            if reads.files {
                let set = RestrictedExpression::new_set(files.iter().map(|f| string(f)));
                pairs.push(("files".into(), set));
            }
            if reads.file_count {
                pairs.push(("file_count".into(), long(files.len())));
            }
        }
        if let Some(classes) = c.path_classes.filter(|_| reads.path_classes) {
            let set = RestrictedExpression::new_set(classes.iter().map(|f| string(f)));
            pairs.push(("path_classes".into(), set));
        }
        if let Some(host) = c.host.filter(|_| reads.host) {
            pairs.push(("host".into(), string(host)));
        }
        if let Some(session) = c.session.filter(|_| reads.session) {
            pairs.push(("session".into(), string(session)));
        }
        if let Some(depth) = c.chain_depth.filter(|_| reads.chain_depth) {
            pairs.push(("chain_depth".into(), long(depth)));
        }
        if reads.hour {
            pairs.push(("hour".into(), RestrictedExpression::new_long(c.hour)));
        }
        if reads.weekday {
            pairs.push(("weekday".into(), RestrictedExpression::new_long(c.weekday)));
        }
        let context = Context::from_pairs(pairs).map_err(|e| e.to_string())?;
        Request::new(
            uid(&self.agent_type, agent),
            uid(&self.action_type, tool),
            uid(&self.resource_type, resource),
            context,
            None,
        )
        .map_err(|e| e.to_string())
    }
}

/// The policies that can apply to one tool, and which context attributes they read.
struct Slice {
    policies: PolicySet,
    reads: ContextReads,
}

/// Which context attributes a set of policies reads. Building the Cedar context is a good part of
/// a decision's cost, so a call's context holds only what its slice's policies can look at.
/// The test is conservative: an attribute counts as read when its name appears anywhere in a
/// policy's text, and a policy that uses `context` other than as `context.x` or `context has x`
/// reads everything.
#[derive(Debug, Clone, Copy, Default)]
struct ContextReads {
    branch: bool,
    files: bool,
    file_count: bool,
    path_classes: bool,
    host: bool,
    session: bool,
    chain_depth: bool,
    hour: bool,
    weekday: bool,
}

impl ContextReads {
    fn of<'p>(policies: impl IntoIterator<Item = &'p Policy>) -> ContextReads {
        static WORD: std::sync::LazyLock<Option<regex::Regex>> =
            std::sync::LazyLock::new(|| regex::Regex::new(r"[A-Za-z_][A-Za-z0-9_]*").ok());
        static WHOLE: std::sync::LazyLock<Option<regex::Regex>> =
            std::sync::LazyLock::new(|| regex::Regex::new(r"\bcontext\b\s*(\.|has\b)").ok());
        let mut reads = ContextReads::default();
        for policy in policies {
            let text = policy.to_string();
            let mentions = text.matches("context").count();
            let attribute_uses = WHOLE.as_ref().map_or(0, |re| re.find_iter(&text).count());
            if WORD.is_none() || mentions != attribute_uses {
                return ContextReads::everything();
            }
            for word in WORD.iter().flat_map(|re| re.find_iter(&text)) {
                match word.as_str() {
                    "branch" => reads.branch = true,
                    "files" => reads.files = true,
                    "file_count" => reads.file_count = true,
                    "path_classes" => reads.path_classes = true,
                    "host" => reads.host = true,
                    "session" => reads.session = true,
                    "chain_depth" => reads.chain_depth = true,
                    "hour" => reads.hour = true,
                    "weekday" => reads.weekday = true,
                    _ => {}
                }
            }
        }
        reads
    }

    fn everything() -> ContextReads {
        ContextReads {
            branch: true,
            files: true,
            file_count: true,
            path_classes: true,
            host: true,
            session: true,
            chain_depth: true,
            hour: true,
            weekday: true,
        }
    }
}

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

fn type_name(name: &str) -> Result<EntityTypeName, String> {
    EntityTypeName::from_str(name).map_err(|e| e.to_string())
}

fn parse_risk(text: &str) -> Option<Risk> {
    use Risk::*;
    [
        ASI01, ASI02, ASI03, ASI04, ASI05, ASI06, ASI07, ASI08, ASI09, ASI10,
    ]
    .into_iter()
    .find(|r| r.to_string() == text)
}

fn is_valid_policy_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn located(source: &PolicySource, offset: usize, message: &str) -> PolicyError {
    let (line, column) = line_col(&source.text, offset);
    PolicyError {
        path: source.path.clone(),
        line,
        column,
        message: message.to_owned(),
    }
}

fn diagnostic_errors(
    source: &PolicySource,
    error: &cedar_policy::ParseErrors,
    what: &str,
) -> Vec<PolicyError> {
    error
        .iter()
        .map(|e| {
            let offset = e
                .labels()
                .and_then(|mut l| l.next())
                .map_or(0, |l| l.offset());
            let help = e
                .help()
                .map(|h| format!(" (help: {h})"))
                .unwrap_or_default();
            located(source, offset, &format!("{what}: {e}{help}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(text: &str) -> ContextReads {
        let policy = Policy::from_str(text).unwrap_or_else(|e| panic!("{e}"));
        ContextReads::of([&policy])
    }

    #[test]
    fn a_slice_reads_only_the_attributes_its_policies_name() {
        let r = reads(
            r#"forbid (principal, action, resource) when { context has branch && context.branch like "hotfix/*" };"#,
        );
        assert!(r.branch);
        assert!(!(r.files || r.file_count || r.host || r.hour || r.weekday || r.session));
        let r = reads(
            r#"forbid (principal, action, resource) when { context has file_count && context.file_count > 200 };"#,
        );
        assert!(r.file_count && !r.files && !r.branch);
    }

    #[test]
    fn a_policy_using_the_whole_context_reads_everything() {
        let r = reads(r#"forbid (principal, action, resource) when { context == {} };"#);
        assert!(r.branch && r.files && r.file_count && r.path_classes && r.host);
        assert!(r.session && r.chain_depth && r.hour && r.weekday);
    }
}
