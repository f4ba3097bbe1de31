use clap::Parser;
use newswatch::cli::{self, Cli, Command};
use std::process::ExitCode;

// Matching allocates many small excerpts, and glibc malloc slows down on the
// fragmented heap a large compiled rule set leaves (benches/matcher.rs: 1M
// rules 17 -> 21 MB/s, 947 -> 636 MB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon mostly waits: without transparent huge pages the allocator
    // returns what it frees in 4 KiB pages, not 2 MiB ones, and an idle
    // daemon with 100 feeds holds 24 MB instead of 39 (cargo bench --bench
    // service -- idle). The one-shot commands keep them: matching a large
    // rule set runs about 15 % faster with them.
    #[cfg(target_os = "linux")]
    let thp_off = matches!(cli.command, Command::Run).then(|| {
        let one: libc::c_ulong = 1;
        let zero: libc::c_ulong = 0;
        // SAFETY: a process-wide flag; no pointer is passed.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, one, zero, zero, zero) }
    });
    cli::init_logging(cli.log_format);
    #[cfg(target_os = "linux")]
    if thp_off.is_some_and(|rc| rc != 0) {
        let error = std::io::Error::last_os_error();
        tracing::warn!(%error, "Cannot turn transparent huge pages off; the daemon will hold more memory");
    }
    // The daemon and `once` poll many feeds at a time on worker threads; the
    // other commands read a feed or two, and start faster without them.
    let runtime = match cli.command {
        // Blocking threads (SQLite calls, which take one connection's lock
        // in turn; name lookups) are few: each thread keeps an allocator
        // heap, and with many feeds a pool of hundreds grew memory by half.
        Command::Run | Command::Once => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .max_blocking_threads(16)
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
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
