//! The `loadout` command.

use clap::{Parser, Subcommand};
use loadout::governance::Mode;
use loadout_cli::demo::{DemoOptions, run as run_demo};
use loadout_cli::local::{LocalMode, LocalOptions, ServiceNowTarget, UemTarget};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "loadout",
    version,
    about = "The right apps on every employee's devices, decided and explained"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay the sample HR events through local mode and the UEM simulator, and show the outcome.
    Demo {
        #[arg(long, default_value = "examples")]
        examples: PathBuf,
        /// recommend | gated | auto
        #[arg(long, default_value = "auto")]
        mode: Mode,
    },
    /// Run every function in one process: HTTP routes, queue workers, embedded store.
    Local {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long, default_value = "examples")]
        examples: PathBuf,
        /// A real UEM tenant (credentials from LOADOUT_UEM_*); without it the simulator runs.
        #[arg(long)]
        uem_url: Option<String>,
        /// recommend | gated | auto (default: LOADOUT_MODE, else gated)
        #[arg(long)]
        mode: Option<Mode>,
        /// Approval requests go to the ServiceNow simulator, started in-process (without it:
        /// ServiceNow as LOADOUT_SERVICENOW_* configure it, if they do).
        #[arg(long)]
        servicenow_sim: bool,
    },
    /// The audit trail of a local-mode data directory.
    Audit {
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        app: Option<String>,
        #[arg(long)]
        correlation_id: Option<String>,
        #[arg(long)]
        limit: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// App approval requests (ServiceNow), with their age and ticket.
    Approvals {
        /// pending | approved | rejected | expired | error (default: all)
        #[arg(long)]
        state: Option<loadout::approvals::StateFilter>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        /// Read the AWS state table (LOADOUT_STATE_TABLE) instead of a local data directory.
        #[arg(long)]
        aws: bool,
    },
    /// Why a user has the apps they have (or why not APP): desired, observed in UEM, the
    /// difference, and where the observation came from.
    Explain {
        user: String,
        app: Option<String>,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Read every Loadout group and assignment in UEM now, find drift and repair it (also while
    /// `loadout local` runs on the same data directory).
    Sweep {
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        /// Report only: change nothing in UEM or in Loadout's state, queue nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        /// Read UEM's users and devices again even if the inventory is not due.
        #[arg(long)]
        refresh_inventory: bool,
        /// Allow removing apps that left the catalog from everyone who holds them.
        #[arg(long)]
        confirm_catalog_removals: bool,
        /// Refresh the relevance model's suggestions now, even if they are not due.
        #[arg(long)]
        suggest: bool,
    },
    /// License reclamation: one run now (notices, removals through the gates, the waitlist),
    /// or `reclaim report` for the seats reclaimed and the cost saved per month.
    Reclaim {
        #[command(subcommand)]
        command: Option<ReclaimCommand>,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        /// The AWS resources named by the LOADOUT_* environment instead of a local data directory.
        #[arg(long)]
        aws: bool,
        /// Report what would happen: send nothing, change nothing, read no usage source.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        /// The usage.csv to read first (local; default: <data dir>/usage.csv when present).
        #[arg(long)]
        usage: Option<PathBuf>,
    },
    /// Who is parked until UEM knows them, who is flagged for the next sweep, what is still to
    /// be written to UEM, and the last sweep.
    Status {
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        /// The AWS state table (LOADOUT_STATE_TABLE) instead of a local data directory.
        #[arg(long)]
        aws: bool,
        #[arg(long)]
        json: bool,
    },
    /// The dead-letter queues: list them with the reasons, or replay them.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// What the gates hold or suggest, and an admin's verdict on it.
    Recommendations {
        #[command(subcommand)]
        command: RecommendationsCommand,
    },
    /// The blast-radius breakers: which are tripped, and releasing them.
    Breaker {
        #[command(subcommand)]
        command: BreakerCommand,
    },
    /// Stop (or resume) all execution.
    KillSwitch {
        #[command(subcommand)]
        command: KillSwitchCommand,
    },
    /// The relevance model: recommendations from usage, and its offline evaluation.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// What-if: run a candidate policy set over the whole population beside the baseline and
    /// report who gains and loses which app, the licence cost, approvals and breaker trips.
    Simulate {
        /// The candidate policy directory.
        #[arg(long)]
        policies: PathBuf,
        /// The policy set in force today.
        #[arg(long, default_value = "examples/policies")]
        baseline: PathBuf,
        #[arg(long, default_value = "examples/org.csv")]
        org: PathBuf,
        #[arg(long, default_value = "examples/devices.csv")]
        devices: PathBuf,
        #[arg(long, default_value = "examples/usage.csv")]
        usage: PathBuf,
        #[arg(long, default_value = "examples/catalog.yaml")]
        catalog: PathBuf,
        /// recommend | gated | auto: the gates the changes would pass.
        #[arg(long, default_value = "gated")]
        mode: Mode,
        /// Only this directory group is acted on; everyone else gets recommendations.
        #[arg(long)]
        pilot_group: Option<String>,
        /// An app gained or lost by more than this share of all users trips the breaker.
        #[arg(long, default_value_t = 0.2)]
        breaker_share: f64,
        /// Evaluate at this time (RFC 3339; default now): policies may read the hour and weekday.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        json: bool,
    },
    /// Ask the LLM adviser (LOADOUT_ADVISOR=bedrock) about one user of a data directory; JSON out.
    Advise {
        user: String,
        /// A directory with org.csv, devices.csv, usage.csv, catalog.yaml and policies/.
        #[arg(long, default_value = "examples")]
        examples: PathBuf,
        /// Print exactly what would be sent (pseudonymized), without sending it.
        #[arg(long)]
        dry_run: bool,
        /// Keep the advice as recommendations (origin `adviser`) in the data directory or AWS,
        /// for `loadout recommendations approve|reject`.
        #[arg(long)]
        keep: bool,
        #[command(flatten)]
        at: TargetArgs,
    },
    /// Run the UEM simulator alone, seeded from examples/, for trying other UEM clients.
    UemSim {
        #[arg(long, default_value = "127.0.0.1:9090")]
        addr: SocketAddr,
        #[arg(long, default_value = "examples")]
        seed: PathBuf,
        #[arg(long, default_value_t = 120)]
        rpm: u32,
    },
}

#[derive(Subcommand)]
enum ReclaimCommand {
    /// Seats reclaimed and the cost they save, per app and in total, per month.
    Report {
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long)]
        aws: bool,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Every dead-lettered message, with why it was dead-lettered.
    List {
        /// enrich | decide | execute | flush (default: all)
        #[arg(long)]
        queue: Option<String>,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        /// The AWS queues (LOADOUT_QUEUE_URL_*) instead of a local data directory.
        #[arg(long)]
        aws: bool,
        #[arg(long)]
        json: bool,
    },
    /// Send dead-lettered messages back to their queue (after fixing what made them fail).
    Replay {
        #[arg(long)]
        queue: Option<String>,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long)]
        aws: bool,
        /// Count them only.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// For every user, the k optional apps they do not use yet that rank highest, with evidence.
    /// Apps the policies forbid for a user, and apps outside the catalog, are never recommended.
    Recommend {
        #[arg(long, default_value = "examples/org.csv")]
        org: PathBuf,
        #[arg(long, default_value = "examples/usage.csv")]
        usage: PathBuf,
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Only this user.
        #[arg(long)]
        user: Option<String>,
        /// The policies whose forbids recommendations respect.
        #[arg(long, default_value = "examples/policies")]
        policies: PathBuf,
        /// Default: catalog.yaml beside the org file.
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Default: devices.csv beside the org file.
        #[arg(long)]
        devices: Option<PathBuf>,
        /// Ignore policies and catalog: rank every app of the usage records.
        #[arg(long)]
        no_guardrails: bool,
        #[arg(long)]
        json: bool,
    },
    /// Precision@k and recall@k of the model and of the popularity baseline on a held-out split.
    Eval {
        #[arg(long, default_value = "examples/org.csv")]
        org: PathBuf,
        #[arg(long, default_value = "examples/usage.csv")]
        usage: PathBuf,
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Share of each user's optional apps in use that is held out.
        #[arg(long, default_value_t = 0.2)]
        holdout: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Parse and validate a policy directory against its schema (and a catalog, if given), then
    /// evaluate it on a population: permits that apply to nobody or can never take effect are
    /// errors; forbids that apply to nobody, forbids that remove everything a permit grants to
    /// someone, and apps nobody is granted are warnings.
    Check {
        dir: PathBuf,
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// The population to check on (default examples/org.csv, when it exists).
        #[arg(long)]
        org: Option<PathBuf>,
        /// Default: devices.csv beside the org file.
        #[arg(long)]
        devices: Option<PathBuf>,
        /// Warnings fail the check too.
        #[arg(long)]
        strict: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy set with its catalog and make it the active one (the decision engine
    /// picks it up within seconds, no redeploy).
    /// First shows what the change would do to the people Loadout knows (what-if against the
    /// active set: gains, losses, licence cost, approvals, breaker trips) and asks.
    Push {
        dir: PathBuf,
        #[arg(long)]
        catalog: PathBuf,
        /// The local-mode data directory to write to.
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        /// Write to the AWS state table (LOADOUT_STATE_TABLE) instead of a local data directory.
        #[arg(long)]
        aws: bool,
        /// Activate without asking (scripts, CI); the what-if summary is still printed.
        #[arg(long)]
        yes: bool,
        /// Who pushes (audited); default: the login name.
        #[arg(long)]
        by: Option<String>,
    },
    /// Every stored policy set, newest first; `*` marks the active one.
    Versions {
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long)]
        aws: bool,
        #[arg(long)]
        json: bool,
    },
    /// Make an earlier policy set the active one again (audited). The next sweep re-evaluates
    /// everyone decided under another version.
    Activate {
        version: String,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
        #[arg(long)]
        aws: bool,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand)]
enum RecommendationsCommand {
    /// What the gates hold for approval, for a review window, or only suggest (and the model's
    /// suggestions), newest first.
    List {
        #[arg(long)]
        app: Option<String>,
        #[arg(long)]
        user: Option<String>,
        /// Any filter: app=,user=,kind=assign|remove,state=open|approved|rejected|done,
        /// origin=policy|model|adviser,gate=await_approval|recommend_only|hold
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        at: TargetArgs,
        #[arg(long)]
        json: bool,
    },
    /// Approve recommendations: the people concerned are decided again and the approved
    /// actions run through the executor (a forbid that applies now still wins).
    Approve {
        ids: Vec<String>,
        /// Every open recommendation matching the filter (see `list --filter`).
        #[arg(long)]
        all_matching: Option<String>,
        /// Show what would be approved; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: TargetArgs,
        #[arg(long)]
        json: bool,
    },
    /// Reject recommendations: the action does not run (an objection during a review window,
    /// a no to an approval or a suggestion) while the decision stays the same.
    Reject {
        ids: Vec<String>,
        #[arg(long)]
        all_matching: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: TargetArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BreakerCommand {
    /// Tripped breakers: app, direction, when, how many changes they hold.
    List {
        #[command(flatten)]
        at: TargetArgs,
        #[arg(long)]
        json: bool,
    },
    /// Release an app's tripped breaker (both directions unless --kind): its count restarts
    /// and the people it held are decided again.
    Release {
        app: String,
        /// assign | remove
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: TargetArgs,
    },
}

#[derive(Subcommand)]
enum KillSwitchCommand {
    /// Nothing executes: every action is held as a recommendation, the executor writes nothing.
    On {
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: TargetArgs,
    },
    /// Back to normal: everyone the switch held is decided again.
    Off {
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        at: TargetArgs,
    },
}

/// Where an admin command reads and writes.
#[derive(clap::Args)]
struct TargetArgs {
    /// The local-mode data directory.
    #[arg(long, default_value = ".loadout")]
    data_dir: PathBuf,
    /// The AWS resources named by LOADOUT_* instead of a local data directory.
    #[arg(long)]
    aws: bool,
}

impl TargetArgs {
    fn target(self) -> loadout_cli::target::Target {
        loadout_cli::target::Target::new(self.data_dir, self.aws)
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    init_logs();
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

fn queues(queue: Option<String>) -> Result<Vec<&'static str>, String> {
    use loadout::stages::admin::dlq::QUEUES;
    match queue {
        None => Ok(Vec::new()),
        Some(q) => QUEUES
            .iter()
            .find(|name| **name == q.trim())
            .map(|name| vec![*name])
            .ok_or_else(|| {
                format!(
                    "unknown queue {q:?} (expected one of {})",
                    QUEUES.join(", ")
                )
            }),
    }
}

async fn dlq(command: DlqCommand) -> Result<(), String> {
    use loadout::stages::admin::dlq;
    use loadout_cli::target::{Target, services};
    match command {
        DlqCommand::List {
            queue,
            data_dir,
            aws,
            json,
        } => {
            let s = services(&Target::new(data_dir, aws))
                .await
                .map_err(|e| e.to_string())?;
            let letters = dlq::list(&s, &queues(queue)?)
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", to_json(&letters)?);
            } else {
                print!("{}", loadout_cli::dlq_cmd::render(&letters));
            }
            Ok(())
        }
        DlqCommand::Replay {
            queue,
            data_dir,
            aws,
            dry_run,
        } => {
            let s = services(&Target::new(data_dir, aws))
                .await
                .map_err(|e| e.to_string())?;
            let actor = format!(
                "admin:{}",
                std::env::var("USER").unwrap_or_else(|_| "cli".into())
            );
            let n = dlq::replay(&s, &queues(queue)?, &actor, dry_run)
                .await
                .map_err(|e| e.to_string())?;
            if dry_run {
                println!("{n} message(s) would be replayed");
            } else {
                println!("{n} message(s) replayed");
            }
            Ok(())
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    match command {
        Command::Demo { examples, mode } => {
            let report = run_demo(DemoOptions {
                examples_dir: examples,
                mode,
            })
            .await
            .map_err(|e| e.to_string())?;
            print!("{report}");
            Ok(())
        }
        Command::Local {
            addr,
            data_dir,
            examples,
            uem_url,
            mode,
            servicenow_sim,
        } => {
            let mut options = LocalOptions::new(data_dir, examples);
            options.addr = addr;
            options.mode = mode;
            if servicenow_sim {
                options.servicenow = ServiceNowTarget::Simulator { adjust: None };
            }
            if let Some(url) = uem_url {
                options.uem = UemTarget::Url(url);
            }
            let local = LocalMode::start(options).await.map_err(|e| e.to_string())?;
            println!("Loadout local mode listening on {}", local.base_url);
            if let Some(sim) = &local.sim {
                println!("UEM simulator at {}", sim.base_url);
            }
            if let Some(sim) = &local.servicenow_sim {
                println!(
                    "ServiceNow simulator at {} (approval requests: {})",
                    sim.base_url,
                    sim.approval_url()
                );
            }
            println!("Active policy set {}", local.policy_version);
            if !local.generated_secrets.is_empty() {
                println!("Generated secrets (shown once; kept in the data directory):");
                for (key, value) in &local.generated_secrets {
                    println!("  {key}={value}");
                }
            }
            println!("Press Ctrl-C to stop.");
            let _ = tokio::signal::ctrl_c().await;
            local.shutdown().await;
            Ok(())
        }
        Command::Audit {
            data_dir,
            user,
            app,
            correlation_id,
            limit,
            json,
        } => {
            let query = loadout_cli::inspect::query(user, app, correlation_id, limit);
            let text = loadout_cli::inspect::audit(&data_dir, query, json)
                .await
                .map_err(|e| e.to_string())?;
            println!("{text}");
            Ok(())
        }
        Command::Approvals {
            state,
            json,
            data_dir,
            aws,
        } => {
            use loadout_cli::approvals_cmd::{Source, lines, render};
            let source = if aws {
                Source::Aws
            } else {
                Source::Local(data_dir)
            };
            let found = lines(source, state).await.map_err(|e| format!("{e:#}"))?;
            print!("{}", render(&found, json).map_err(|e| e.to_string())?);
            if json {
                println!();
            }
            Ok(())
        }
        Command::Explain {
            user,
            app,
            data_dir,
            json,
        } => {
            let user = loadout::domain::UserId::new(user);
            let app = app.map(loadout::domain::AppId::new);
            let e = loadout_cli::inspect::explanation(&data_dir, &user, app.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", to_json(&e)?);
            } else {
                print!("{}", loadout_cli::inspect::render_explanation(&e));
            }
            Ok(())
        }
        Command::Sweep {
            data_dir,
            dry_run,
            json,
            refresh_inventory,
            confirm_catalog_removals,
            suggest,
        } => {
            let options = loadout::stages::sweep::SweepOptions {
                dry_run,
                refresh_inventory,
                confirm_catalog_removals,
                suggest,
            };
            let report = loadout_cli::sweep_cmd::sweep(&data_dir, &options)
                .await
                .map_err(|e| format!("{e:#}"))?;
            if json {
                println!("{}", to_json(&report)?);
            } else {
                print!("{}", loadout_cli::sweep_cmd::render(&report));
            }
            Ok(())
        }
        Command::Reclaim {
            command:
                Some(ReclaimCommand::Report {
                    data_dir,
                    aws,
                    json,
                    csv,
                }),
            ..
        } => {
            let target = loadout_cli::target::Target::new(data_dir, aws);
            let report = loadout_cli::reclaim_cmd::report(&target)
                .await
                .map_err(|e| format!("{e:#}"))?;
            if json {
                println!("{}", to_json(&report)?);
            } else if csv {
                print!("{}", loadout::stages::reclaim::savings::to_csv(&report));
            } else {
                print!("{}", loadout_cli::reclaim_cmd::render_savings(&report));
            }
            Ok(())
        }
        Command::Reclaim {
            command: None,
            data_dir,
            aws,
            dry_run,
            json,
            usage,
        } => {
            let target = loadout_cli::target::Target::new(data_dir, aws);
            let report = loadout_cli::reclaim_cmd::run(&target, usage, dry_run)
                .await
                .map_err(|e| format!("{e:#}"))?;
            if json {
                println!("{}", to_json(&report)?);
            } else {
                print!("{}", loadout_cli::reclaim_cmd::render(&report));
            }
            Ok(())
        }
        Command::Status {
            data_dir,
            aws,
            json,
        } => {
            let target = loadout_cli::target::Target::new(data_dir, aws);
            let services = loadout_cli::target::services(&target)
                .await
                .map_err(|e| e.to_string())?;
            let status = loadout::stages::admin::status::status(services.store.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", to_json(&status)?);
            } else {
                print!("{}", loadout_cli::status_cmd::render(&status));
            }
            Ok(())
        }
        Command::Dlq { command } => dlq(command).await,
        Command::Policy { command } => policy_lifecycle(command).await,
        Command::Recommendations { command } => recommendations(command).await,
        Command::Breaker { command } => breaker(command).await,
        Command::KillSwitch { command } => kill_switch(command).await,
        Command::Model { command } => run_model(command),
        Command::Simulate {
            policies,
            baseline,
            org,
            devices,
            usage,
            catalog,
            mode,
            pilot_group,
            breaker_share,
            at,
            json,
        } => {
            let governance =
                loadout::governance::Governance::new(mode).with_pilot_group(pilot_group);
            let report =
                loadout_cli::simulate_cmd::simulate(&loadout_cli::simulate_cmd::SimulateOptions {
                    policies,
                    baseline,
                    org,
                    devices,
                    usage,
                    catalog,
                    governance,
                    breaker_share,
                    at: at.unwrap_or_else(chrono::Utc::now),
                })
                .map_err(|e| format!("{e:#}"))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                print!("{report}");
            }
            Ok(())
        }
        Command::Advise {
            user,
            examples,
            dry_run,
            keep,
            at,
        } => {
            use loadout_cli::advise_cmd::{ask, preview, request_from_dir};
            let settings =
                loadout::advisor::AdviserSettings::from_env().map_err(|e| e.to_string())?;
            let user = loadout::domain::UserId::new(user);
            let request = request_from_dir(&examples, &user)?;
            let out = if dry_run {
                preview(&request, &settings).await?
            } else {
                let (mut out, advice) = ask(&request, &settings).await?;
                if keep && let Some(advice) = advice {
                    let kept =
                        loadout_cli::advise_cmd::keep(&at.target(), &examples, &user, &advice)
                            .await?;
                    out["kept_as_recommendations"] = serde_json::json!(kept);
                }
                out
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::UemSim { addr, seed, rpm } => {
            let tenant = uem_sim::Tenant::from_dir(&seed).map_err(|e| e.to_string())?;
            let sim = uem_sim::UemSim::start(
                uem_sim::SimConfig::new(tenant)
                    .addr(addr)
                    .requests_per_minute(rpm),
            )
            .await
            .map_err(|e| e.to_string())?;
            let c = &sim.credentials;
            println!("UEM simulator listening on {}", sim.base_url);
            println!("  OAuth token URL: {}", sim.token_url);
            println!(
                "  client id: {}  client secret: {}",
                c.client_id, c.client_secret
            );
            println!(
                "  Basic: {}:{}  aw-tenant-code: {}",
                c.username, c.password, c.tenant_code
            );
            let og = sim.organization_group();
            println!(
                "  organization group: {} (uuid {}); set LOADOUT_UEM_ORGANIZATION_GROUP_ID={}",
                og.id, og.uuid, og.id
            );
            println!("Press Ctrl-C to stop.");
            sim.run_until_ctrl_c().await.map_err(|e| e.to_string())
        }
    }
}

async fn policy_lifecycle(command: PolicyCommand) -> Result<(), String> {
    use loadout_cli::policy_cmd;
    use loadout_cli::recommendations_cmd::who;
    match command {
        PolicyCommand::Check {
            dir,
            catalog,
            org,
            devices,
            strict,
            json,
        } => {
            let report = loadout_cli::policy_cmd::check(&loadout_cli::policy_cmd::CheckOptions {
                dir,
                catalog,
                org,
                devices,
                at: chrono::Utc::now(),
            })
            .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                print!("{report}");
            }
            if !report.is_ok() {
                Err("the policy set has errors".into())
            } else if strict && !report.warnings.is_empty() {
                Err("the policy set has warnings (--strict)".into())
            } else {
                Ok(())
            }
        }
        PolicyCommand::Push {
            dir,
            catalog,
            data_dir,
            aws,
            yes,
            by,
        } => {
            let target = loadout_cli::target::Target::new(data_dir, aws);
            let record = policy_cmd::read_set(&dir, &catalog, &who(by))?;
            let exists = match &target {
                loadout_cli::target::Target::Local(dir) => dir.join("loadout.db").exists(),
                loadout_cli::target::Target::Aws => true,
            };
            if exists && let Some(report) = policy_cmd::preview(&target, &record).await? {
                println!(
                    "what-if: policy set {} over the people Loadout knows",
                    record.version
                );
                print!("{report}");
                if !yes && !confirm(&format!("activate policy set {}?", record.version))? {
                    return Err("not activated".into());
                }
            }
            let version = policy_cmd::push(&target, &record).await?;
            println!(
                "policy set {version} is now active; the next sweep re-evaluates everyone decided under another version"
            );
            Ok(())
        }
        PolicyCommand::Versions {
            data_dir,
            aws,
            json,
        } => {
            let target = loadout_cli::target::Target::new(data_dir, aws);
            let versions = policy_cmd::versions(&target).await?;
            if json {
                println!("{}", to_json(&versions)?);
            } else {
                print!("{}", policy_cmd::render_versions(&versions));
            }
            Ok(())
        }
        PolicyCommand::Activate {
            version,
            data_dir,
            aws,
            by,
        } => {
            let target = loadout_cli::target::Target::new(data_dir, aws);
            let active = policy_cmd::activate(&target, &version, &who(by)).await?;
            println!(
                "policy set {active} is now active; the next sweep re-evaluates everyone decided under another version"
            );
            Ok(())
        }
    }
}

/// Asks on the terminal; refuses when nobody can answer (pass --yes there).
fn confirm(question: &str) -> Result<bool, String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "{question} needs an answer: pass --yes when not on a terminal"
        ));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES"))
}

async fn recommendations(command: RecommendationsCommand) -> Result<(), String> {
    use loadout::stages::recommendations::{Filter, Verdict};
    use loadout_cli::recommendations_cmd as cmd;
    let (verdict, ids, all_matching, dry_run, note, by, at, json) = match command {
        RecommendationsCommand::List {
            app,
            user,
            filter,
            at,
            json,
        } => {
            let mut f: Filter = match filter {
                Some(text) => text
                    .parse()
                    .map_err(|e: loadout::stages::recommendations::BadFilter| e.to_string())?,
                None => Filter::default(),
            };
            if let Some(app) = app {
                f.app = Some(loadout::domain::AppId::new(app));
            }
            if let Some(user) = user {
                f.user = Some(loadout::domain::UserId::new(user));
            }
            let recs = cmd::list(&at.target(), &f).await?;
            if json {
                println!("{}", to_json(&recs)?);
            } else {
                print!("{}", cmd::render_list(&recs));
            }
            return Ok(());
        }
        RecommendationsCommand::Approve {
            ids,
            all_matching,
            dry_run,
            note,
            by,
            at,
            json,
        } => (
            Verdict::Approve,
            ids,
            all_matching,
            dry_run,
            note,
            by,
            at,
            json,
        ),
        RecommendationsCommand::Reject {
            ids,
            all_matching,
            dry_run,
            note,
            by,
            at,
            json,
        } => (
            Verdict::Reject,
            ids,
            all_matching,
            dry_run,
            note,
            by,
            at,
            json,
        ),
    };
    let selection = cmd::selection(ids, all_matching)?;
    let outcome = cmd::act(
        &at.target(),
        &selection,
        verdict,
        &cmd::who(by),
        note.as_deref(),
        dry_run,
    )
    .await?;
    if json {
        println!("{}", to_json(&outcome)?);
    } else {
        print!("{}", cmd::render_outcome(&outcome, verdict));
    }
    if outcome.unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "unknown recommendation(s): {}",
            outcome.unknown.join(", ")
        ))
    }
}

async fn breaker(command: BreakerCommand) -> Result<(), String> {
    use loadout_cli::breaker_cmd as cmd;
    match command {
        BreakerCommand::List { at, json } => {
            let tripped = cmd::list(&at.target()).await?;
            if json {
                println!("{}", to_json(&tripped)?);
            } else {
                print!("{}", cmd::render_list(&tripped));
            }
            Ok(())
        }
        BreakerCommand::Release { app, kind, by, at } => {
            let app = loadout::domain::AppId::new(app);
            let released = cmd::release(
                &at.target(),
                &app,
                cmd::parse_kind(kind)?,
                &loadout_cli::recommendations_cmd::who(by),
            )
            .await?;
            print!("{}", cmd::render_released(&app, &released));
            Ok(())
        }
    }
}

async fn kill_switch(command: KillSwitchCommand) -> Result<(), String> {
    use loadout_cli::breaker_cmd as cmd;
    use loadout_cli::recommendations_cmd::who;
    let switched = match command {
        KillSwitchCommand::On { reason, by, at } => {
            cmd::kill_switch(&at.target(), true, &who(by), reason.as_deref()).await?
        }
        KillSwitchCommand::Off { by, at } => {
            cmd::kill_switch(&at.target(), false, &who(by), None).await?
        }
    };
    if switched.on {
        println!("kill switch on: nothing executes until `loadout kill-switch off`");
    } else {
        println!(
            "kill switch off: {} people it held are decided again",
            switched.reevaluated
        );
    }
    Ok(())
}

fn run_model(command: ModelCommand) -> Result<(), String> {
    use loadout_cli::model_cmd;
    match command {
        ModelCommand::Recommend {
            org,
            usage,
            k,
            user,
            policies,
            catalog,
            devices,
            no_guardrails,
            json,
        } => {
            let guardrails = if no_guardrails {
                None
            } else {
                let catalog = catalog
                    .or_else(|| loadout_cli::tenant_files::beside(&org, "catalog.yaml"))
                    .ok_or_else(|| {
                        format!(
                            "no catalog.yaml beside {}: pass --catalog, or --no-guardrails",
                            org.display()
                        )
                    })?;
                Some(model_cmd::Guardrails {
                    policies,
                    catalog,
                    devices: devices
                        .or_else(|| loadout_cli::tenant_files::beside(&org, "devices.csv")),
                    at: chrono::Utc::now(),
                })
            };
            let recs = model_cmd::recommend(&model_cmd::RecommendOptions {
                org,
                usage,
                k,
                user: user.map(loadout::domain::UserId::new),
                guardrails,
            })
            .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    model_cmd::recommendations_json(&recs).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", model_cmd::recommendations_text(&recs));
            }
            Ok(())
        }
        ModelCommand::Eval {
            org,
            usage,
            k,
            holdout,
            seed,
            json,
        } => {
            let eval = model_cmd::eval(&model_cmd::EvalCmdOptions {
                org,
                usage,
                eval: loadout::relevance::EvalOptions {
                    k,
                    holdout,
                    seed,
                    params: loadout::relevance::ModelParams::default(),
                },
            })
            .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    model_cmd::evaluation_json(&eval).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", model_cmd::evaluation_text(&eval));
            }
            Ok(())
        }
    }
}
