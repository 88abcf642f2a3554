//! `warden blast-radius`: for each agent, what it can reach (its grants followed through the
//! file's implied `reach:`), what of that exceeds its role's ceiling, and the irreducible set of
//! grant accesses whose removal ends the excess; the plan that removes them from the governance
//! file; GitHub drift; and the reassessment records (reviews and flags) kept in the store.
//!
//! The computing is the core's, the IO the engine's (`warden_engine::blast_radius`); this module
//! parses the flags, shows a progress bar on a terminal for large organisations, prints the
//! report in the format asked for, and turns `--fail-on-excess` into the exit code.
//!
//! `--format` here takes more values than the global flag (`markdown`, `sarif`, `dot`,
//! `mermaid`). Clap shares a global flag's value with every level by its id, and the global
//! `--format` is typed `table|json`; so this command declares its own `--format` under the same
//! id (which stops clap from adding the global one here), hands the global a `table|json` value
//! it can read, and reads the word actually given from the raw value.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Component, Path};
use std::str::FromStr as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Arg, ArgMatches, Args, FromArgMatches};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use warden_core::blast_radius::{render, Format as ReportFormat, RenderOptions, Report};
use warden_engine::blast_radius::{read_github_import, BlastRadiusOptions, Plan};
use warden_engine::Engine;

use crate::cli::Global;
use crate::commands::{open_engine, operator};
use crate::exit::{BadInput, FAILED, OK};
use crate::output::{self, Stdout, Table};

const LONG_ABOUT: &str = "\
Map each agent's blast radius: what it can reach and how, what exceeds its role's ceiling, and
which grants must go.

Reach follows the agent's grants through the governance file's `reach:` entries (holding `access`
on `from` gives `gives` on `to`), transitively. A reached resource more sensitive than the role's
`ceiling` is excess; the report names, per agent, one irreducible set of grant accesses whose
removal ends all of it. Agents are flagged for reassessment when their blast radius was never
reviewed, the last review is older than `blast_radius.review_every`, their reach changed since
the review, or an operator or the monitor flagged them; flags alone never fail a run.

  --plan             print the grant accesses to remove
  --plan --write     remove them from the governance file, keeping comments and layout; the new
                     file is validated (policies included) and checked before it replaces the
                     old one, which is otherwise left untouched
  --import github F  compare with GitHub's collaborators: JSON Lines, one repository a line,
                     {\"repository\": \"owner/name\", \"collaborators\": [...]} as GitHub's REST
                     API lists them
  --mark-reviewed ID --reviewer EMAIL
                     record a review of the agent's blast radius as it is now (audited); the
                     reviewer must be in `gates.reviewers` when the file lists any, and not the
                     agent's owner unless `gates.owner_may_approve`
  --flag ID --reason TEXT, --unflag ID
                     flag an agent for reassessment, or clear the flag (audited)

`warden agent issue` refuses an agent that exceeds its ceiling or was never reviewed.

Formats: table, json (CONTRACTS §4), markdown (with a Mermaid graph), mermaid, dot (Graphviz),
sarif (SARIF 2.1.0 for code scanning, results at the grant's line in the governance file).

Examples:
  warden blast-radius
  warden blast-radius --agent claude-fixer --format json
  warden blast-radius --fail-on-excess --format sarif > blast-radius.sarif
  warden blast-radius --import github collaborators.jsonl --fail-on-excess
  warden blast-radius --plan --write
  warden blast-radius --mark-reviewed claude-fixer --reviewer alice@acme.dev

Exit codes:
  0  done; with --fail-on-excess, no agent exceeds its ceiling (nor, with --import, holds
     access on GitHub that the file does not declare)
  1  with --fail-on-excess, an agent does; an unknown agent; a review, flag or rewrite that
     was refused (a grant written in a layout that cannot be edited safely, say)
  2  bad input: an invalid governance file, a malformed import (the bad lines are named), a
     rewrite that would not validate (the file is left untouched), a wrong command line";

/// The names `--format` takes here.
const FORMATS: [&str; 6] = ["table", "json", "markdown", "sarif", "dot", "mermaid"];

/// Show a progress bar only when the report takes longer than this.
const PROGRESS_AFTER: Duration = Duration::from_millis(400);

/// Above this many agents, JSON is written compact as it is produced rather than pretty-printed.
const STREAM_JSON_ABOVE: usize = 1_000;

/// Map agents' blast radius: reach, excess over the role's ceiling, grants to revoke
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct Flags {
    /// Only this agent
    #[arg(long, value_name = "ID", conflicts_with_all = ["mark_reviewed", "flag", "unflag"])]
    pub agent: Option<String>,

    /// Exit 1 when an agent exceeds its role's ceiling (or, with --import, holds undeclared
    /// access on GitHub)
    #[arg(long)]
    pub fail_on_excess: bool,

    /// Print the grant accesses to remove to end every excess
    #[arg(long, conflicts_with_all = ["import", "mark_reviewed", "flag", "unflag"])]
    pub plan: bool,

    /// With --plan: remove them from the governance file (validated before it is replaced)
    #[arg(long, requires = "plan")]
    pub write: bool,

    /// Compare with what GitHub gives agents: `--import github FILE` (JSON Lines)
    #[arg(long, num_args = 2, value_names = ["KIND", "FILE"], conflicts_with_all = ["mark_reviewed", "flag", "unflag"])]
    pub import: Option<Vec<String>>,

    /// Record a review of this agent's blast radius as it is now
    #[arg(long, value_name = "ID", requires = "reviewer", conflicts_with_all = ["flag", "unflag"])]
    pub mark_reviewed: Option<String>,

    /// Who reviewed it (an email address), with --mark-reviewed
    #[arg(long, value_name = "EMAIL", requires = "mark_reviewed")]
    pub reviewer: Option<String>,

    /// Flag this agent for reassessment (needs --reason)
    #[arg(
        long,
        value_name = "ID",
        requires = "reason",
        conflicts_with = "unflag"
    )]
    pub flag: Option<String>,

    /// Clear this agent's flag
    #[arg(long, value_name = "ID")]
    pub unflag: Option<String>,

    /// Why, for the audit trail (--flag, --unflag)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Who is acting, for the audit trail (--flag, --unflag, --plan --write) [default: $USER,
    /// else `operator`]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// The command's flags and the output format actually asked for.
#[derive(Debug)]
pub struct BlastRadiusArgs {
    pub flags: Flags,
    /// `--format` as given (here or before the subcommand); table when absent.
    pub format: ReportFormat,
}

/// This command's `--format`: the six names, handing the global flag (typed `table|json`) the
/// nearest value it knows.
fn format_arg() -> Arg {
    Arg::new("format")
        .long("format")
        .value_name("FORMAT")
        .help("How to print the report [default: table]")
        .value_parser(PossibleValuesParser::new(FORMATS).map(|name: String| {
            if name == "json" {
                output::Format::Json
            } else {
                output::Format::Table
            }
        }))
}

impl Args for BlastRadiusArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        Flags::augment_args(cmd).arg(format_arg())
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Flags::augment_args_for_update(cmd).arg(format_arg())
    }
}

impl FromArgMatches for BlastRadiusArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(BlastRadiusArgs {
            flags: Flags::from_arg_matches(matches)?,
            format: format_of(matches),
        })
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.flags.update_from_arg_matches(matches)?;
        self.format = format_of(matches);
        Ok(())
    }
}

/// The last `--format` word given, wherever it was (clap copies a global flag's value to every
/// level); table when none was.
fn format_of(matches: &ArgMatches) -> ReportFormat {
    matches
        .get_raw("format")
        .and_then(|mut raw| raw.next_back())
        .and_then(|word| word.to_str())
        .and_then(|word| ReportFormat::from_str(word).ok())
        .unwrap_or(ReportFormat::Table)
}

/// What the command line asks for, checked.
enum Action<'a> {
    Report {
        agent: Option<&'a str>,
        import: Option<&'a Path>,
    },
    Plan {
        agent: Option<&'a str>,
        write: bool,
        by: String,
    },
    MarkReviewed {
        agent: &'a str,
        reviewer: &'a str,
    },
    Flag {
        agent: &'a str,
        reason: &'a str,
        by: String,
    },
    Unflag {
        agent: &'a str,
        reason: &'a str,
        by: String,
    },
}

fn parse(args: &BlastRadiusArgs) -> Result<Action<'_>, BadInput> {
    let f = &args.flags;
    let by = || operator(f.by.as_deref());
    let reason = f.reason.as_deref().map(str::trim).unwrap_or_default();
    let simple = matches!(args.format, ReportFormat::Table | ReportFormat::Json);
    let needs_simple = |what: &str| {
        if simple {
            Ok(())
        } else {
            Err(BadInput(format!(
                "`{what}` prints table or json, not `{}`",
                args.format.as_str()
            )))
        }
    };
    if f.reason.is_some() && f.flag.is_none() && f.unflag.is_none() {
        return Err(BadInput(
            "`--reason` goes with `--flag` or `--unflag`".into(),
        ));
    }
    if let (Some(agent), Some(reviewer)) = (&f.mark_reviewed, &f.reviewer) {
        needs_simple("--mark-reviewed")?;
        return Ok(Action::MarkReviewed { agent, reviewer });
    }
    if let Some(agent) = &f.flag {
        needs_simple("--flag")?;
        if reason.is_empty() {
            return Err(BadInput(
                "`--flag` needs `--reason TEXT` for the audit trail".into(),
            ));
        }
        return Ok(Action::Flag {
            agent,
            reason,
            by: by(),
        });
    }
    if let Some(agent) = &f.unflag {
        needs_simple("--unflag")?;
        return Ok(Action::Unflag {
            agent,
            reason,
            by: by(),
        });
    }
    if f.plan {
        needs_simple("--plan")?;
        return Ok(Action::Plan {
            agent: f.agent.as_deref(),
            write: f.write,
            by: by(),
        });
    }
    let import = match f.import.as_deref() {
        None => None,
        Some([kind, file]) if kind == "github" => Some(Path::new(file.as_str())),
        Some([kind, _]) => {
            return Err(BadInput(format!(
                "cannot import from `{kind}`: the only kind is `github` (`--import github FILE`)"
            )))
        }
        Some(_) => return Err(BadInput("`--import` takes `github FILE`".into())),
    };
    Ok(Action::Report {
        agent: f.agent.as_deref(),
        import,
    })
}

pub fn run(global: &Global, args: &BlastRadiusArgs) -> anyhow::Result<u8> {
    let action = parse(args)?;
    let engine = open_engine(global)?;
    let mut out = Stdout::new();
    let json = args.format == ReportFormat::Json;
    match action {
        Action::Report { agent, import } => {
            let github = import.map(read_github_import).transpose()?;
            report(
                &engine,
                &mut out,
                args,
                &BlastRadiusOptions {
                    agent,
                    github: github.as_deref(),
                    progress: None,
                },
            )
        }
        Action::Plan { agent, write, by } => {
            let plan = if write {
                engine.write_plan(agent, &by)?
            } else {
                engine.plan(agent)?
            };
            print_plan(&mut out, &plan, write, json)?;
            let left = !write && !plan.removals.is_empty();
            Ok(if args.flags.fail_on_excess && left {
                FAILED
            } else {
                OK
            })
        }
        Action::MarkReviewed { agent, reviewer } => {
            let reviewed = engine.mark_reviewed(agent, reviewer)?;
            if json {
                out.json(&reviewed)?;
            } else {
                out.line(output::one_line(&format!(
                    "recorded: the blast radius of agent `{}` reviewed by {} at {} (reach {}, audit #{})",
                    reviewed.agent,
                    reviewed.reviewer,
                    output::time(reviewed.reviewed_at),
                    reviewed.fingerprint,
                    reviewed.audit.seq
                )))?;
                if let Some(flag) = &reviewed.cleared_flag {
                    out.line(output::one_line(&format!("cleared the flag: {flag}")))?;
                }
            }
            if !reviewed.excess.is_empty() {
                note(&format!(
                    "agent `{agent}` still reaches beyond its role's ceiling ({}); `warden agent issue` refuses it until `warden blast-radius --agent {agent} --plan --write` removes that",
                    reviewed.excess.join(", ")
                ));
            }
            Ok(OK)
        }
        Action::Flag { agent, reason, by } => {
            let audit = engine.flag(agent, reason, &by)?;
            if json {
                out.json(&json!({ "agent": agent, "flagged": reason, "by": by, "audit": audit }))?;
            } else {
                out.line(output::one_line(&format!(
                    "agent `{agent}` flagged for reassessment by {by}: {reason} (audit #{})",
                    audit.seq
                )))?;
            }
            Ok(OK)
        }
        Action::Unflag { agent, reason, by } => {
            let audit = engine.unflag(agent, &by, reason)?;
            if json {
                out.json(&json!({ "agent": agent, "flagged": null, "by": by, "audit": audit }))?;
            } else {
                out.line(output::one_line(&format!(
                    "agent `{agent}`'s flag cleared by {by} (audit #{})",
                    audit.seq
                )))?;
            }
            Ok(OK)
        }
    }
}

fn report(
    engine: &Engine,
    out: &mut Stdout,
    args: &BlastRadiusArgs,
    options: &BlastRadiusOptions<'_>,
) -> anyhow::Result<u8> {
    let progress = ProgressReporter::new();
    let tick = |done: usize, total: usize| progress.tick(done, total);
    let report = engine.blast_radius(&BlastRadiusOptions {
        progress: Some(&tick),
        ..*options
    });
    progress.finish();
    let report = report?;
    print_report(engine, out, args.format, &report)?;

    let over: Vec<&str> = report
        .agents
        .iter()
        .filter(|a| !a.excess.is_empty())
        .map(|a| a.id)
        .collect();
    let undeclared = report.has_undeclared_access();
    if !args.flags.fail_on_excess || (over.is_empty() && !undeclared) {
        return Ok(OK);
    }
    if !over.is_empty() {
        failure(&format!(
            "{} beyond {} role's ceiling: {}",
            count(over.len(), "agent reaches", "agents reach"),
            if over.len() == 1 { "its" } else { "their" },
            list(&over)
        ));
    }
    if undeclared {
        let mut agents: Vec<&str> = report
            .drift
            .iter()
            .filter(|d| d.kind == warden_core::blast_radius::DriftKind::Undeclared)
            .map(|d| d.agent.as_str())
            .collect();
        agents.dedup();
        failure(&format!(
            "GitHub gives access the governance file does not declare to {}",
            list(&agents)
        ));
    }
    Ok(FAILED)
}

fn print_report(
    engine: &Engine,
    out: &mut Stdout,
    format: ReportFormat,
    report: &Report<'_>,
) -> anyhow::Result<()> {
    if format == ReportFormat::Json && report.agents.len() > STREAM_JSON_ABOVE {
        // A large organisation's report is written as it is produced, never held as one string.
        let stdout = std::io::stdout();
        let writer = std::io::BufWriter::new(stdout.lock());
        return match warden_core::blast_radius::write_json(report, writer) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(anyhow::Error::new(e).context("cannot write to standard output"))
            }
            _ => Ok(()),
        };
    }
    let file = sarif_uri(engine.config_path());
    let text = render(
        report,
        format,
        &RenderOptions {
            governance_file: &file,
        },
    );
    out.line(text.trim_end_matches('\n'))
}

fn print_plan(out: &mut Stdout, plan: &Plan, written: bool, json: bool) -> anyhow::Result<()> {
    let file = plan.file.display().to_string();
    if let Err(why) = &plan.rewritten {
        note(&format!(
            "`--write` cannot make this edit: {}",
            why.lines().next().unwrap_or_default()
        ));
    }
    if json {
        return out.json(&json!({
            "file": file,
            "removals": plan.removals,
            "written": written && !plan.removals.is_empty(),
            "writable": plan.rewritten.is_ok(),
        }));
    }
    if plan.removals.is_empty() {
        return out.line("no agent reaches beyond its role's ceiling: nothing to remove");
    }
    let n = count(plan.removals.len(), "grant access", "grant accesses");
    out.line(output::one_line(&if written {
        format!("removed {n} from {file}:")
    } else {
        format!("{n} to remove from {file}:")
    }))?;
    let mut table = Table::new(["AGENT", "RESOURCE", "ACCESS", "LINE"]);
    for r in &plan.removals {
        table.row(vec![
            r.agent.clone(),
            r.resource.clone(),
            r.access.to_string(),
            r.line.to_string(),
        ]);
    }
    table.print(out)?;
    if written {
        return out
            .line("the file validates and no agent it names reaches beyond its ceiling any more");
    }
    if plan.rewritten.is_ok() {
        out.line("remove them with `warden blast-radius --plan --write`")?;
    }
    Ok(())
}

/// The governance file as SARIF should name it: relative to the repository it sits in (the
/// nearest folder above it with a `.git`), else to the current folder, with `/` separators, as
/// GitHub code scanning expects.
fn sarif_uri(config: &Path) -> String {
    let absolute = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let relative = absolute
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())
        .and_then(|root| absolute.strip_prefix(root).ok().map(Path::to_path_buf))
        .or_else(|| {
            let cwd = std::env::current_dir().ok()?;
            let cwd = std::fs::canonicalize(&cwd).unwrap_or(cwd);
            absolute.strip_prefix(cwd).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| config.to_path_buf());
    let parts: Vec<String> = relative
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        "warden.yaml".to_owned()
    } else {
        parts.join("/")
    }
}

/// A progress bar on stderr, drawn only on a terminal and only once the report has taken longer
/// than [`PROGRESS_AFTER`].
struct ProgressReporter {
    started: Instant,
    enabled: bool,
    bar: OnceLock<ProgressBar>,
}

impl ProgressReporter {
    fn new() -> ProgressReporter {
        ProgressReporter {
            started: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
            bar: OnceLock::new(),
        }
    }

    fn tick(&self, done: usize, total: usize) {
        if !self.enabled || (self.bar.get().is_none() && self.started.elapsed() < PROGRESS_AFTER) {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} agents ({eta} left)")
            {
                bar.set_style(style);
            }
            bar.set_message("mapping blast radius");
            bar
        });
        bar.set_position(done as u64);
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

/// A line on stderr; if stderr itself is gone there is nowhere left to say it.
fn failure(text: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        output::one_line(&format!("error: {text}"))
    );
}

fn note(text: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        output::one_line(&format!("note: {text}"))
    );
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Ids in backticks, the first ten, then how many more.
fn list(ids: &[&str]) -> String {
    let mut shown: Vec<String> = ids.iter().take(10).map(|id| format!("`{id}`")).collect();
    if ids.len() > 10 {
        shown.push(format!("and {} more", ids.len() - 10));
    }
    shown.join(", ")
}
