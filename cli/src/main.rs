//! The `loadout` command.

use clap::{Parser, Subcommand};
use loadout::governance::Mode;
use loadout_cli::demo::{DemoOptions, run as run_demo};
use loadout_cli::local::{LocalMode, LocalOptions, UemTarget};
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
    /// Why a user has the apps they have (or why not APP).
    Explain {
        user: String,
        app: Option<String>,
        #[arg(long, default_value = ".loadout")]
        data_dir: PathBuf,
    },
    /// Policy tools.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
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
enum PolicyCommand {
    /// Parse and validate a policy directory against its schema (and a catalog, if given).
    Check {
        dir: PathBuf,
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Validate a policy set with its catalog and make it the active one (the decision engine
    /// picks it up within seconds, no redeploy).
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
    },
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
        } => {
            let mut options = LocalOptions::new(data_dir, examples);
            options.addr = addr;
            options.mode = mode;
            if let Some(url) = uem_url {
                options.uem = UemTarget::Url(url);
            }
            let local = LocalMode::start(options).await.map_err(|e| e.to_string())?;
            println!("Loadout local mode listening on {}", local.base_url);
            if let Some(sim) = &local.sim {
                println!("UEM simulator at {}", sim.base_url);
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
        } => {
            let user = loadout::domain::UserId::new(user);
            let app = app.map(loadout::domain::AppId::new);
            let text = loadout_cli::inspect::explain(&data_dir, &user, app.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            print!("{text}");
            Ok(())
        }
        Command::Policy {
            command: PolicyCommand::Check { dir, catalog, json },
        } => {
            let report = loadout_cli::policy_cmd::check(&dir, catalog.as_deref())
                .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                );
            } else {
                print!("{report}");
            }
            if report.is_ok() {
                Ok(())
            } else {
                Err("the policy set has errors".into())
            }
        }
        Command::Policy {
            command:
                PolicyCommand::Push {
                    dir,
                    catalog,
                    data_dir,
                    aws,
                },
        } => {
            let target = if aws {
                loadout_cli::policy_cmd::PushTarget::Aws
            } else {
                loadout_cli::policy_cmd::PushTarget::Local(data_dir)
            };
            let version = loadout_cli::policy_cmd::push(&dir, &catalog, target).await?;
            println!("policy set {version} is now active");
            Ok(())
        }
        Command::Advise {
            user,
            examples,
            dry_run,
        } => {
            use loadout_cli::advise_cmd::{advise, preview, request_from_dir};
            let settings =
                loadout::advisor::AdviserSettings::from_env().map_err(|e| e.to_string())?;
            let request = request_from_dir(&examples, &loadout::domain::UserId::new(user))?;
            let out = if dry_run {
                preview(&request, &settings).await?
            } else {
                advise(&request, &settings).await?
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
