//! `baton`: the command line. Thin by design: it reads files, runs them on the runtime (over an
//! in-memory store for `simulate`, `test` and `bench`), and prints what API.md specifies. Exit codes: 0 ok, 1 a step/check failed or problems found,
//! 2 unreadable or invalid input.

mod cli;

#[cfg(feature = "mimalloc")]
mod alloc;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: alloc::MiMalloc = alloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Design, simulate and run BPMN 2.0 processes"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine headless with its HTTP command bus (127.0.0.1 only by default).
    Serve {
        /// The database file (default: the platform's app-data folder, e.g. ~/.local/share/baton/baton.db).
        #[arg(long)]
        db: Option<PathBuf>,
        #[arg(long, default_value = "127.0.0.1:7410")]
        listen: String,
        /// The administrator's bearer token (also BATON_TOKEN); generated and printed when absent.
        #[arg(long, env = "BATON_TOKEN")]
        token: Option<String>,
    },
    /// Run one instance on the runtime over an in-memory store, on a virtual clock, and print
    /// where it ends.
    Simulate {
        /// The model file(s); more than one when a call activity calls into another file.
        #[arg(required = true)]
        models: Vec<PathBuf>,
        /// The process to start (default: the only executable process, or the one nobody calls).
        #[arg(long)]
        process: Option<String>,
        /// A scenario file with steps to apply and expectations.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Start variables as a JSON object.
        #[arg(long)]
        vars: Option<String>,
        /// Print one line of JSON instead of pretty JSON.
        #[arg(long)]
        json: bool,
        /// Engine limits as a JSON object (the fields of SetEngineLimitsCommand, such as
        /// {"maxSteps": 100000}; docs/limits.md); the defaults for those not given.
        #[arg(long, value_name = "FILE.json")]
        limits: Option<PathBuf>,
    },
    /// Check a model and list its problems.
    Lint {
        model: PathBuf,
        #[arg(long)]
        json: bool,
        /// Engine limits as a JSON object (the fields of SetEngineLimitsCommand, such as
        /// {"maxSteps": 100000}; docs/limits.md); the defaults for those not given.
        #[arg(long, value_name = "FILE.json")]
        limits: Option<PathBuf>,
    },
    /// Run many instances of a model and report instances per second (or, with --timers and
    /// --durable, measure the scheduler on a built-in timer model).
    Bench {
        /// The model (not with --timers, which brings its own).
        #[arg(required_unless_present = "timers")]
        model: Option<PathBuf>,
        #[arg(long, conflicts_with = "timers")]
        scenario: Option<PathBuf>,
        #[arg(long, conflicts_with = "timers")]
        vars: Option<String>,
        #[arg(long, required_unless_present = "timers", conflicts_with = "timers")]
        instances: Option<usize>,
        #[arg(long)]
        json: bool,
        /// Run every instance through the durable command bus on this SQLite file (each
        /// acknowledged step committed) instead of in memory.
        #[arg(long)]
        durable: Option<PathBuf>,
        /// With --durable: `full` (synchronous=FULL, the default) or `normal`.
        #[arg(long, default_value = "full")]
        sync: String,
        /// With --durable: this many clients send commands at once (group commit lets their
        /// steps share a disk sync). Each client is an async task (`Runtime::execute_async`)
        /// unless --client-threads.
        #[arg(long, default_value_t = 1)]
        clients: usize,
        /// With --durable: each client is a thread of its own calling the blocking API
        /// (`Runtime::execute_as`), as an embedding without an async runtime does.
        #[arg(long)]
        client_threads: bool,
        /// With --durable: also measure SQLite's own single-row commit rate beside the file
        /// for about this many seconds, and report the ratio (0 skips it).
        #[arg(long, default_value_t = 0.0)]
        probe_seconds: f64,
        /// Timers mode, with --durable and no MODEL: this many instances wait on one timer
        /// each, all due at the same second; the clock jumps there, the scheduler starts, and
        /// the time until every timer has fired (each a committed step) is reported.
        #[arg(long, requires = "durable", conflicts_with = "model")]
        timers: Option<usize>,
        /// With --timers: this many more instances wait on timers a day ahead while the idle
        /// scheduler's CPU time and wake-ups are measured over --idle-seconds.
        #[arg(long, default_value_t = 0, requires = "timers")]
        idle_timers: usize,
        /// With --timers: the idle window in seconds (0 skips the idle measurement).
        #[arg(long, default_value_t = 0.0, requires = "timers")]
        idle_seconds: f64,
        /// Measure the engine alone (no store, no command bus) instead of the runtime over an
        /// in-memory store. Also BATON_BENCH_ENGINE_ONLY=1.
        #[arg(long, env = "BATON_BENCH_ENGINE_ONLY", conflicts_with_all = ["durable", "timers"])]
        engine_only: bool,
        /// Engine limits as a JSON object (as `simulate --limits`; not with --durable or
        /// --timers).
        #[arg(long, value_name = "FILE.json", conflicts_with_all = ["durable", "timers"])]
        limits: Option<PathBuf>,
    },
    /// Run every *.scenario.json under the given paths.
    Test {
        paths: Vec<PathBuf>,
        /// Also write a JUnit XML report.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Engine limits as a JSON object (the fields of SetEngineLimitsCommand, such as
        /// {"maxSteps": 100000}; docs/limits.md); the defaults for those not given.
        #[arg(long, value_name = "FILE.json")]
        limits: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    #[cfg(feature = "mimalloc")]
    alloc::no_huge_pages();
    let args = Args::parse();
    let code = match args.command {
        Command::Serve { db, listen, token } => cli::serve::serve(db, &listen, token),
        Command::Simulate {
            models,
            process,
            scenario,
            vars,
            json,
            limits,
        } => cli::simulate(
            &models,
            process.as_deref(),
            scenario.as_deref(),
            vars.as_deref(),
            json,
            limits.as_deref(),
        ),
        Command::Lint {
            model,
            json,
            limits,
        } => cli::lint(&model, json, limits.as_deref()),
        Command::Bench {
            json,
            durable: Some(db),
            sync,
            clients,
            probe_seconds,
            timers: Some(timers),
            idle_timers,
            idle_seconds,
            ..
        } => cli::timers::bench(
            json,
            &cli::timers::Options {
                db: &db,
                sync: &sync,
                clients,
                probe_seconds,
                timers,
                idle_timers,
                idle_seconds,
            },
        ),
        Command::Bench {
            model: Some(model),
            scenario,
            vars,
            instances: Some(instances),
            json,
            durable: Some(db),
            sync,
            clients,
            client_threads,
            probe_seconds,
            ..
        } => {
            let opts = cli::durable::Options {
                db: &db,
                sync: &sync,
                clients,
                client_threads,
                probe_seconds,
            };
            cli::durable::bench(
                &model,
                scenario.as_deref(),
                vars.as_deref(),
                instances,
                json,
                &opts,
            )
        }
        Command::Bench {
            model: Some(model),
            scenario,
            vars,
            instances: Some(instances),
            json,
            durable: None,
            engine_only,
            limits,
            ..
        } => cli::bench(
            &model,
            scenario.as_deref(),
            vars.as_deref(),
            instances,
            json,
            engine_only,
            limits.as_deref(),
        ),
        Command::Bench { .. } => {
            // clap's requirements rule this out; say so rather than guess.
            eprintln!("bench needs MODEL and --instances N, or --timers N with --durable FILE");
            2
        }
        Command::Test {
            paths,
            junit,
            limits,
        } => cli::test(&paths, junit.as_deref(), limits.as_deref()),
    };
    ExitCode::from(code)
}
