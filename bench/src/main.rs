//! `cargo run --release -p loadout-bench -- <name>`: scenario benchmarks. Each prints readable
//! figures and, as its last line, one JSON object with the figures and the targets they are held
//! against (DESIGN.md, Benchmarks).

mod coldstart;
mod decide;
mod intake;
mod reclaim;
mod sweep;
mod uem;

use std::process::ExitCode;

// The license reclaimer's allocator, so `reclaim` measures what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: loadout-bench <name>   (names: see README.md, Benchmarks)";

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    if name == intake::SERVE {
        let args: Vec<String> = std::env::args().skip(2).collect();
        let (Some(addr), Some(dir)) = (args.first(), args.get(1)) else {
            return ExitCode::FAILURE;
        };
        return match intake::serve(addr, dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let outcome: Result<serde_json::Value, String> = match name.as_str() {
        "intake" => intake::run(),
        "uem" => uem::run(),
        "coldstart" => coldstart::run(),
        "reclaim" => reclaim::run(),
        "decide" => decide::run(),
        "sweep" => sweep::run(),
        other => Err(format!("unknown benchmark {other:?}\n{USAGE}")),
    };
    match outcome {
        Ok(figures) => {
            println!("{figures}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
