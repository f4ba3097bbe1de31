use clap::Parser;
use newswatch::cli::{self, Cli};
use std::process::ExitCode;

// Matching allocates many small excerpts, and glibc malloc slows down on the
// fragmented heap a large compiled rule set leaves (benches/matcher.rs: 1M
// rules 17 -> 21 MB/s, 947 -> 636 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("newswatch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(cli::execute(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("newswatch: {error:#}");
            ExitCode::FAILURE
        }
    };
    // A reload given up at shutdown may still be compiling rules on a
    // blocking thread: exit without waiting for it (all else has finished).
    runtime.shutdown_background();
    code
}
